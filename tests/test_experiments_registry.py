"""Experiments declared in the registry: every guardrail refused with a path and a reason (in-process and by
``prefkit validate``), valid experiments accepted, and allocation that is even and stable across processes."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from preference_registry import RegistryLoadError, load_registry
from preference_registry.experiments import active_experiment, assign, variant_hash

REPO = Path(__file__).resolve().parent.parent

BASE = """
[shop]
name = "Shop"
default_locale = "en"
locales = ["en", "pl"]

[[preferences]]
kind = "consent"
key = "personalization"
purpose = "recommendations"
gpc = true
expires_after_days = 365
title = { en = "Personal recommendations", pl = "Rekomendacje" }
description = { en = "We suggest products.", pl = "Podpowiadamy produkty." }
data_used = { en = ["viewed products", "purchases"], pl = ["oglądane produkty", "zakupy"] }

[[preferences]]
kind = "consent"
key = "analytics"
purpose = "analytics"
mechanism = "opt_out"
title = { en = "Analytics", pl = "Analityka" }

[[preferences]]
kind = "slider"
key = "price_focus"
title = { en = "Price focus", pl = "Cena" }
min = 0
max = 1
step = 0.25
default = 0.5

[[preferences]]
kind = "filter"
key = "colors"
multiple = true
default = []
title = { en = "Colours", pl = "Kolory" }
options = [
  { key = "red", label = { en = "Red", pl = "Czerwony" } },
  { key = "blue", label = { en = "Blue", pl = "Niebieski" } },
]
"""


def experiment(
    preference: str,
    variant: str,
    *,
    outcome: str = "engagement",
    key: str = "exp",
    start: str = "2026-11-01T00:00:00Z",
    end: str = "2027-02-01T00:00:00Z",
) -> str:
    return f"""
[[experiments]]
key = "{key}"
preference = "{preference}"
start = {start}
end = {end}
sample_size = 400
outcome = "{outcome}"

[[experiments.variants]]
key = "control"
weight = 1

[[experiments.variants]]
key = "variant"
weight = 1
{variant}
"""


def refusals(text: str) -> list[tuple[str, str]]:
    with pytest.raises(RegistryLoadError) as caught:
        load_registry(text, "toml")
    return [(issue.path, issue.message) for issue in caught.value.errors]


V = "experiments[0].variants[1]"

GUARDRAILS = [
    pytest.param(
        "personalization",
        "default = true",
        f"{V}.default",
        "opt_in consent's default stays off",
        id="opt-in-pre-ticked",
    ),
    pytest.param(
        "analytics",
        "default = false",
        f"{V}.default",
        "follows from its mechanism",
        id="consent-default-varied",
    ),
    pytest.param(
        "personalization",
        'reject_all = { label = "Maybe later" }',
        f"{V}.reject_all",
        '"Reject all" is never varied, hidden or demoted',
        id="reject-all-relabelled",
    ),
    pytest.param(
        "personalization",
        "reject_all = { hidden = true }",
        f"{V}.reject_all",
        '"Reject all" is never varied, hidden or demoted',
        id="reject-all-hidden",
    ),
    pytest.param(
        "personalization",
        'accept_all = { emphasis = "primary" }',
        f"{V}.accept_all",
        'demotes "Reject all"',
        id="accept-all-emphasised",
    ),
    pytest.param(
        "personalization",
        "withdrawal = { steps = 3 }",
        f"{V}.withdrawal",
        "as easy to withdraw as to give",
        id="withdrawal-harder",
    ),
    pytest.param(
        "personalization",
        'data_used = { en = ["viewed products"], pl = ["oglądane produkty", "zakupy"] }',
        f"{V}.data_used.en",
        "may not drop or shorten an item of `data_used`",
        id="data-used-shortened",
    ),
    pytest.param(
        "personalization",
        'data_used = { en = ["viewed products", "purchases"] }',
        f"{V}.data_used.pl",
        "may not drop `data_used` in a locale",
        id="data-used-dropped-locale",
    ),
    pytest.param(
        "personalization",
        'data_used = { en = ["viewed products", "buys"], pl = ["oglądane produkty", "zakupy"] }',
        f"{V}.data_used.en",
        "may not drop or shorten",
        id="data-used-item-reworded",
    ),
    pytest.param(
        "personalization",
        'mechanism = "opt_out"',
        f"{V}.mechanism",
        "may not change the mechanism",
        id="mechanism",
    ),
    pytest.param("personalization", "gpc = false", f"{V}.gpc", "may not change `gpc`", id="gpc"),
    pytest.param(
        "personalization",
        "expires_after_days = 3650",
        f"{V}.expires_after_days",
        "may not change the expiry",
        id="expiry",
    ),
    pytest.param(
        "personalization", 'purpose = "marketing"', f"{V}.purpose", "may not change the purpose", id="purpose"
    ),
    pytest.param(
        "price_focus",
        "default = 0.3",
        f"{V}.default",
        "not a value of `price_focus`",
        id="slider-default-off-step",
    ),
    pytest.param(
        "colors",
        'default = ["green"]',
        f"{V}.default",
        "not a value of `colors`",
        id="filter-default-unknown-option",
    ),
]


@pytest.mark.parametrize(("preference", "variant", "path", "reason"), GUARDRAILS)
def test_each_guardrail_is_refused_with_its_path_and_reason(
    preference: str, variant: str, path: str, reason: str
) -> None:
    issues = refusals(BASE + experiment(preference, variant))
    assert any(p == path and reason in m for p, m in issues), issues


def test_prefkit_validate_refuses_every_guardrail_at_once_with_paths(tmp_path: Path) -> None:
    bad = (
        'default = true\nmechanism = "opt_out"\ngpc = false\nexpires_after_days = 30\n'
        'reject_all = { hidden = true }\ndata_used = { en = ["viewed products"], pl = ["zakupy"] }'
    )
    document = tmp_path / "registry.toml"
    document.write_text(BASE + experiment("personalization", bad), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "bff.cli", "validate", str(document)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 1
    out = result.stdout + result.stderr
    for path, reason in [
        (f"{V}.default", "opt_in consent's default stays off"),
        (f"{V}.mechanism", "may not change the mechanism"),
        (f"{V}.gpc", "may not change `gpc`"),
        (f"{V}.expires_after_days", "may not change the expiry"),
        (f"{V}.reject_all", '"Reject all" is never varied, hidden or demoted'),
        (f"{V}.data_used.en", "may not drop or shorten"),
        (f"{V}.data_used.pl", "may not drop or shorten"),
    ]:
        assert any(path + ":" in line and reason in line for line in out.splitlines()), (path, out)


@pytest.mark.parametrize(
    ("preference", "variant", "outcome"),
    [
        (
            "personalization",
            'title = { en = "Products picked for you", pl = "Dla ciebie" }\n'
            'data_used = { en = ["viewed products", "purchases", "wishlist"], '
            'pl = ["oglądane produkty", "zakupy", "lista życzeń"] }\ndefault = false',
            "grant",
        ),
        ("price_focus", "default = 0.75", "engagement"),
        (
            "colors",
            'default = ["blue"]\nbenefit = { en = "Less scrolling", pl = "Mniej przewijania" }',
            "conversion",
        ),
    ],
)
def test_a_fair_experiment_is_accepted(preference: str, variant: str, outcome: str) -> None:
    snapshot = load_registry(BASE + experiment(preference, variant, outcome=outcome), "toml")
    assert [e.preference for e in snapshot.document.experiments] == [preference]


def test_structure_and_window_rules_name_their_paths() -> None:
    doc = (
        BASE
        + experiment("nope", 'colour = "x"', outcome="grant")
        + experiment("colors", "", key="exp", start="2026-12-01T00:00:00Z", end="2026-11-01T00:00:00Z")
    )
    issues = refusals(doc)
    paths = {p for p, _ in issues}
    assert f"{V}.colour" in paths  # an unknown variant field, with its own path
    doc = (
        BASE
        + experiment("nope", "", outcome="grant")
        + experiment("colors", "", key="exp", start="2026-12-01T00:00:00Z", end="2026-11-01T00:00:00Z")
        + experiment("price_focus", "", key="a")
        + experiment("price_focus", "", key="b", start="2027-01-01T00:00:00Z")
    )
    issues = dict(refusals(doc))
    assert "unknown preference `nope`" in issues["experiments[0].preference"]
    assert "duplicate experiment key" in issues["experiments[1].key"]
    assert "ends after it starts" in issues["experiments[1].end"]
    assert "overlaps experiments[2]" in issues["experiments[3].start"]
    assert "`grant` measures consents" in refusals(BASE + experiment("colors", "", outcome="grant"))[0][1]


def test_documents_without_experiments_keep_their_version() -> None:
    # Stored ledgers name registry versions: adding the feature must not change any existing version.
    assert load_registry(BASE, "toml").version == load_registry("experiments = []\n" + BASE, "toml").version


# -- allocation ---------------------------------------------------------------------------------------
WEIGHTED = (
    BASE
    + """
[[experiments]]
key = "recs"
preference = "personalization"
start = 2026-11-01T00:00:00Z
end = 2027-02-01T00:00:00Z
sample_size = 1000
outcome = "grant"
variants = [
  { key = "control", weight = 50 },
  { key = "short", weight = 30, title = { en = "For you", pl = "Dla ciebie" } },
  { key = "benefit", weight = 20, benefit = { en = "Less searching", pl = "Mniej szukania" } },
]
"""
)

SUBJECTS = [f"anon:{i:032x}" for i in range(10_000)]


def test_split_over_10000_subjects_is_within_2_points_of_the_weights() -> None:
    exp = load_registry(WEIGHTED, "toml").document.experiments[0]
    counts = Counter(assign(exp, subject).key for subject in SUBJECTS)
    shares = {key: count / len(SUBJECTS) * 100 for key, count in counts.items()}
    assert (
        abs(shares["control"] - 50) <= 2
        and abs(shares["short"] - 30) <= 2
        and abs(shares["benefit"] - 20) <= 2
    ), shares


def test_a_subject_gets_the_same_variant_in_another_process() -> None:
    # A fresh interpreter (another BFF process, or this one after a restart) loads the same document and
    # must allocate every subject to the same arm: nothing is stored, nothing depends on the process.
    exp = load_registry(WEIGHTED, "toml").document.experiments[0]
    here = [assign(exp, subject).key for subject in SUBJECTS[:2000]]
    code = (
        "import sys; from preference_registry import load_registry; "
        "from preference_registry.experiments import assign; "
        "e = load_registry(sys.stdin.read(), 'toml').document.experiments[0]; "
        f"print(','.join(assign(e, f'anon:{{i:032x}}').key for i in range(2000)))"
    )
    for seed in ("0", "12345"):  # hash randomization differs between processes: it must not matter
        result = subprocess.run(
            [sys.executable, "-c", code],
            input=WEIGHTED,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=REPO,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip().split(",") == here


def test_each_arm_has_its_own_text_hash_and_the_window_is_honoured() -> None:
    snapshot = load_registry(WEIGHTED, "toml")
    exp = snapshot.document.experiments[0]
    pref = snapshot.get("personalization")
    hashes = {v.key: variant_hash(pref, exp, v, snapshot.text_hash("personalization")) for v in exp.variants}
    assert hashes["control"] == snapshot.text_hash("personalization")
    assert len(set(hashes.values())) == 3
    experiments = snapshot.document.experiments
    assert active_experiment(experiments, "personalization", datetime(2026, 12, 1, tzinfo=UTC)) is exp
    assert active_experiment(experiments, "personalization", datetime(2027, 2, 1, tzinfo=UTC)) is None
    assert active_experiment(experiments, "price_focus", datetime(2026, 12, 1, tzinfo=UTC)) is None


def test_the_conversion_purpose_must_be_a_switchable_consent_and_k_at_least_2() -> None:
    issues = dict(refusals('[insights]\nconversion_purpose = "tracking"\n' + BASE))
    assert "no switchable consent has the purpose `tracking`" in issues["insights.conversion_purpose"]
    assert "insights.min_cell" in dict(refusals("[insights]\nmin_cell = 1\n" + BASE))
    snapshot = load_registry('[insights]\nconversion_purpose = "analytics"\n' + BASE, "toml")
    assert snapshot.document.insights.conversion_purpose == "analytics"
    assert snapshot.document.insights.min_cell == 10
