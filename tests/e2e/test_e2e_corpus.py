"""The QA kit passes on any valid registry: the flows against a corpus of registries unlike the demo's.

``tests/e2e/registries/corpus/`` holds registries written to cover the space the README allows (no
sections, sections used but not declared, some types without a section, one locale, three locales, only
consents, no consents, only opt_out / notice_only, extreme sliders, filters with many options, long texts,
no type at all) in TOML, YAML and JSON; the 200-type registry is generated at test time (``generate.py``).

For each registry the kit runs as a shop's QA team runs it (``pytest --pyargs e2e.flows
--prefkit-registry=FILE`` in a separate process, the plugin starting its own server): every registry gets
its center rendered and axe-checked in Chromium, the keyboard-only journey (which operates every control
by keyboard), every locale, the requirement and consent flows, and one registry-driven test per type
(a sample of the 200). The other flows (two tabs, login, embedding, hot reload, every theme) run on a
few registries each. Each run must pass, and skip exactly the flows the registry cannot support, with
the reason naming what the registry lacks.
"""

from __future__ import annotations

import importlib.util
import os
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import pytest
from _kit_run import run_kit
from click.testing import CliRunner

from bff.cli import main as prefkit_cli

CORPUS = Path(__file__).parent / "registries" / "corpus"

def _load_generator() -> ModuleType:
    """``registries/corpus/generate.py``, under a name that cannot clash with another ``generate``."""
    spec = importlib.util.spec_from_file_location("prefkit_corpus_generate", CORPUS / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_GENERATOR = _load_generator()
TYPE_COUNT: int = _GENERATOR.TYPE_COUNT
write_generated_registry: Callable[[Path], Path] = _GENERATOR.write_generated_registry

GENERATED = "generated-200-types.toml"
"""Name of the generated registry among the corpus files."""

JOURNEY = "test_center::test_keyboard_only_journey"
REQUIRES = "test_center::test_slider_requires_consent"
TWO_TABS = "test_center::test_two_tabs_stay_in_sync"
LOGIN = "test_center::test_login_carries_choices_over"
CENTER_AXE = "test_accessibility::test_center_has_no_axe_violations"
THEMES_AXE = "test_accessibility::test_demo_pages_have_no_axe_violations"
LOCALE = "test_locale::test_center_in_locale"
LOCALES_DIFFER = "test_locale::test_locales_show_different_words"
FIRST_VISIT = "test_consents::test_first_visit_reject_all"
GRANT = "test_consents::test_grant_and_withdraw_in_center"
GPC = "test_consents::test_gpc_turns_flagged_consents_off"
EMBEDDING = "test_embedding::test_static_host_page_with_several_widgets"
HOT_RELOAD = "test_hot_reload::test_registry_change_while_page_is_open"
BY_TYPE = "test_registry_driven::test_preference_by_keyboard_persists"

EVERY_REGISTRY = (JOURNEY, CENTER_AXE, LOCALE, REQUIRES, BY_TYPE)
"""Flows run against every registry of the corpus (the journey operates every control by keyboard)."""

NO_SWITCHABLE_CONSENT = "declares no switchable consent"
NO_SLIDER_REQUIRING = "has no slider that requires a consent"
NO_GPC = "declares no consent with gpc = true"
NO_TYPE = "declares no preference type"
NOTHING_TO_CHANGE = "declares nothing a shopper can change"


@dataclass(frozen=True)
class Case:
    """One registry of the corpus and what the kit must do with it."""

    registry: str
    """File name in the corpus directory (or :data:`GENERATED`)."""
    extra: tuple[str, ...] = ()
    """Flows run on this registry besides :data:`EVERY_REGISTRY`."""
    skips: Mapping[str, str] = field(default_factory=dict)
    """Flow -> the words its skip reason must contain; every other flow run must pass."""
    by_type: tuple[str, ...] | None = None
    """Registry-driven tests to run (their parameter ids, ``kind-key``): the types this registry adds to
    what the rest of the corpus covers; None: one per declared type."""
    options: tuple[str, ...] = ()
    """More options for the flows' pytest run."""
    xfail: str | None = None
    """A product defect this registry shows: the run must fail (strict xfail) until it is fixed..."""
    defect_signature: tuple[str, ...] = ()
    """...fail with all these words in its output..."""
    defect_fails: tuple[str, ...] = ()
    """...and fail exactly these tests (any other failure is a real one)."""
    only: tuple[str, ...] | None = None
    """The flows to run instead of :data:`EVERY_REGISTRY` and ``extra`` (a registry kept for one defect)."""


class ProductDefectSeen(AssertionError):
    """The flows failed exactly as a known product defect makes them fail (see :attr:`Case.xfail`)."""


CASES = (
    Case(
        "no-sections.toml",
        extra=(FIRST_VISIT, GRANT, TWO_TABS, EMBEDDING),
        by_type=("consent-profiling", "slider-freshness", "filter-colours"),
    ),
    # The registry of issue 19's new user: every type, and most flows.
    Case("undeclared-sections.yaml", extra=(FIRST_VISIT, GRANT, GPC, LOCALES_DIFFER, LOGIN, HOT_RELOAD)),
    Case(
        "partial-sections.json",
        extra=(f"{THEMES_AXE}[dark]",),  # the demo pages in the registry's own theme
        skips={REQUIRES: NO_SLIDER_REQUIRING},
        by_type=("slider-later_slider", "filter-loose_filter"),
    ),
    Case(
        "one-locale.toml",
        extra=(GPC, LOCALES_DIFFER, EMBEDDING),
        skips={LOCALES_DIFFER: "offers one locale only"},
        by_type=("consent-pflicht", "filter-marken"),
    ),
    Case(
        "three-locales.yaml",
        extra=(LOCALES_DIFFER, TWO_TABS),
        skips={REQUIRES: NO_SLIDER_REQUIRING},
        by_type=("consent-reviews", "filter-material"),
    ),
    Case(
        "only-consents.json",
        extra=(FIRST_VISIT, GRANT, GPC, LOGIN),
        skips={REQUIRES: NO_SLIDER_REQUIRING},
        by_type=("consent-partners", "consent-service", "consent-cart"),
    ),
    Case(
        "no-consents.toml",
        extra=(FIRST_VISIT, GRANT, GPC, TWO_TABS, EMBEDDING),
        skips={
            FIRST_VISIT: NO_SWITCHABLE_CONSENT,
            GRANT: NO_SWITCHABLE_CONSENT,
            GPC: NO_GPC,
            REQUIRES: NO_SLIDER_REQUIRING,
        },
    ),
    Case(
        "opt-out-notice-only.yaml",
        extra=(FIRST_VISIT, GRANT, GPC, LOGIN, EMBEDDING),
        skips={GPC: NO_GPC},
        by_type=("consent-security_log", "slider-survey_length", "filter-topics"),
    ),
    Case("numeric-sliders.toml", extra=(GPC, TWO_TABS, HOT_RELOAD), skips={GPC: NO_GPC}),
    # The priorities kind: its own control in the journey, by type, in two tabs and on a static host page.
    Case("priorities.toml", extra=(GRANT, TWO_TABS, EMBEDDING)),
    Case(
        "many-options.json",
        extra=(FIRST_VISIT, EMBEDDING),
        # 60 checkboxes, each operated twice and its two saves awaited, would double this run: every
        # third control is operated in the journey, and each of the four types in its registry-driven test.
        options=("--prefkit-operate-every=3",),
        skips={FIRST_VISIT: NO_SWITCHABLE_CONSENT, REQUIRES: NO_SLIDER_REQUIRING},
    ),
    Case(
        "long-titles.yaml",
        extra=(GRANT, LOCALES_DIFFER, TWO_TABS),
        by_type=("consent-long_consent", "slider-long_slider", "filter-long_filter", "filter-long_radio"),
    ),
    # Was a strict xfail: a click on long_consent's switch sent a ~69 KB event (ReactPy serialized the
    # target with its described-by texts), over the bridge's 64 KB limit. Fixed in bff/static/prefkit.js.
    Case(
        "long-texts.yaml",
        extra=(GRANT, GPC),
        by_type=("consent-long_consent", "slider-long_slider", "filter-long_filter", "filter-long_radio"),
    ),
    Case(
        "empty.toml",
        extra=(FIRST_VISIT, GRANT, GPC, LOCALES_DIFFER, TWO_TABS, LOGIN, EMBEDDING, HOT_RELOAD),
        skips={
            BY_TYPE: NO_TYPE,
            FIRST_VISIT: NO_SWITCHABLE_CONSENT,
            GRANT: NO_SWITCHABLE_CONSENT,
            GPC: NO_GPC,
            REQUIRES: NO_SLIDER_REQUIRING,
            LOCALES_DIFFER: NO_TYPE,
            TWO_TABS: NOTHING_TO_CHANGE,
            LOGIN: NOTHING_TO_CHANGE,
        },
    ),
    Case(
        GENERATED,
        extra=(FIRST_VISIT,),
        # Every control is reached by Tab and checked for visible focus; every 7th is operated (each
        # change re-renders a 200-type center: operating all 250 controls twice would take minutes).
        # 7 is prime to the generator's cycle of 5 Tab stops per 4 types, so every variant is operated.
        options=("--prefkit-operate-every=7",),
        # Registry-driven tests for a sample (opt_in, opt_out, a slider requiring a consent, checkbox and
        # radio filters); the other variants are covered by smaller registries of the corpus.
        by_type=(
            "consent-type_004",
            "consent-type_012",
            "slider-type_005",
            "filter-type_002",
            "filter-type_003",
        ),
    ),
)


def _registry_path(case: Case, tmp_path: Path) -> Path:
    if case.registry == GENERATED:
        return write_generated_registry(tmp_path / GENERATED)
    return CORPUS / case.registry


def test_corpus_covers_every_file() -> None:
    """Every registry file in the corpus directory has its case (a new file cannot be forgotten)."""
    files = {path.name for path in CORPUS.iterdir() if path.suffix in {".toml", ".yaml", ".json"}}
    assert files == {case.registry for case in CASES} - {GENERATED}
    assert {Path(name).suffix for name in files} == {".toml", ".yaml", ".json"}


@pytest.mark.parametrize("case", CASES, ids=[case.registry for case in CASES])
def test_prefkit_validate_accepts(case: Case, tmp_path: Path) -> None:
    path = _registry_path(case, tmp_path)
    result = CliRunner().invoke(prefkit_cli, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert f"{path}: valid" in result.output, result.output
    if case.registry == GENERATED:
        assert f"preferences: {TYPE_COUNT} " in result.output, result.output


def _outcomes(junit: Path) -> dict[str, tuple[str, str]]:
    """``module::test[param]`` -> (``passed`` | ``skipped`` | ``failed``, message) from a JUnit report."""
    outcomes: dict[str, tuple[str, str]] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = f"{Path(case.get('file', '')).stem}::{case.get('name')}"  # xunit1 names the file
        for tag, outcome in (("failure", "failed"), ("error", "failed"), ("skipped", "skipped")):
            element = case.find(tag)
            if element is not None:
                outcomes[name] = (outcome, element.get("message", ""))
                break
        else:
            outcomes[name] = ("passed", "")
    return outcomes


def _flow_cases() -> list[object]:
    return [
        pytest.param(
            case,
            id=case.registry,
            marks=[pytest.mark.xfail(strict=True, raises=ProductDefectSeen, reason=case.xfail)],
        )
        if case.xfail
        else pytest.param(case, id=case.registry)
        for case in CASES
    ]


@dataclass(frozen=True)
class FlowRun:
    """One pytest run of the flows against one corpus registry."""

    flows: tuple[str, ...]
    """The flows asked for (``module::test`` or ``module::test[param]``)."""
    returncode: int
    output: str
    outcomes: dict[str, tuple[str, str]]
    """From the run's JUnit report (empty when it wrote none)."""
    elapsed_s: float


def _selected_flows(case: Case) -> tuple[str, ...]:
    if case.only is not None:
        return case.only
    flows = [*EVERY_REGISTRY, *case.extra]
    if case.by_type is not None:
        flows = [flow for flow in flows if flow != BY_TYPE]
        flows += [f"{BY_TYPE}[{param}]" for param in case.by_type]
    return tuple(flows)


def _run_flows(case: Case, workdir: Path) -> FlowRun:
    """``pytest --pyargs e2e.flows... --prefkit-registry=FILE`` in a fresh folder, as a shop's QA runs it."""
    registry = _registry_path(case, workdir)
    flows = _selected_flows(case)
    junit = workdir / "flows.xml"
    started = time.monotonic()
    result = run_kit(
        workdir,
        f"--junitxml={junit}",
        "--pyargs",
        *(f"e2e.flows.{flow}" for flow in flows),
        f"--prefkit-registry={registry}",
        f"--prefkit-artifacts={workdir / 'artifacts'}",
        "--prefkit-one-browser",  # nothing but the kit's flows in this run
        *case.options,
        ini="[pytest]\njunit_family = xunit1\n",  # xunit1 names each test's file
    )
    return FlowRun(
        flows=flows,
        returncode=result.returncode,
        output=result.stdout + result.stderr,
        outcomes=_outcomes(junit) if junit.is_file() else {},
        elapsed_s=time.monotonic() - started,
    )


CORPUS_JOBS = max(1, int(os.environ.get("PREFKIT_E2E_CORPUS_JOBS", "2")))
"""Corpus registries whose flows run at the same time (each its own server and Chromium): CI has two
cores and a flow run leaves about half of one idle while it waits on websockets."""


@pytest.fixture(scope="module")
def corpus_runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Future[FlowRun]]]:
    """The flow runs of every corpus registry this session selected, started together on a small pool
    (the largest registry first); each test waits for its own."""
    selected = [
        item.callspec.params["case"]
        for item in request.session.items
        if getattr(item, "originalname", None) == "test_flows_on_corpus_registry" and hasattr(item, "callspec")
    ]
    selected.sort(key=lambda case: case.registry != GENERATED)
    pool = ThreadPoolExecutor(max_workers=CORPUS_JOBS, thread_name_prefix="corpus")
    try:
        yield {
            case.registry: pool.submit(_run_flows, case, tmp_path_factory.mktemp(Path(case.registry).stem))
            for case in selected
        }
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@pytest.mark.browser
@pytest.mark.timeout(900)  # waits for its run, which may queue behind others on the pool
@pytest.mark.parametrize("case", _flow_cases())
def test_flows_on_corpus_registry(
    case: Case, corpus_runs: dict[str, Future[FlowRun]], record_property: Callable[[str, object], None]
) -> None:
    run = corpus_runs[case.registry].result()
    output, outcomes = run.output, run.outcomes
    assert outcomes, f"no test report from the flows on {case.registry}:\n{output}"
    passed = sorted(name for name, (outcome, _) in outcomes.items() if outcome == "passed")
    skipped = {name: message for name, (outcome, message) in outcomes.items() if outcome == "skipped"}
    summary = f"{case.registry}: {len(passed)} passed, {len(skipped)} skipped in {run.elapsed_s:.0f}s"
    record_property("corpus_summary", summary)
    print(summary)  # shown with -rP / -s: what each registry costs CI
    for name, message in skipped.items():
        record_property(f"skip:{name}", message)
        print(f"  skipped {name}: {message}")
    failed = {name for name, (outcome, _) in outcomes.items() if outcome == "failed"}
    if (
        case.xfail
        and failed == set(case.defect_fails)
        and all(words in output for words in case.defect_signature)
    ):
        raise ProductDefectSeen(f"{case.registry}: {case.xfail}")
    assert run.returncode == 0, f"flows failed on {case.registry}:\n{output}"

    for flow in run.flows:
        base = flow.split("[", 1)[0]
        ran = [name for name in outcomes if name == flow or name.startswith(f"{flow}[")]
        assert ran, f"{flow} did not run on {case.registry}:\n{output}"
        reason = case.skips.get(base)
        for name in ran:
            if reason is None:
                assert name in passed, f"{name} on {case.registry}: {outcomes[name]}\n{output}"
            else:
                assert name in skipped and reason in skipped[name], (
                    f"{name} on {case.registry} must skip because the registry {reason}: {outcomes[name]}"
                )
