"""Hostile registry documents (issue 11): whatever a registry file or an admin upload holds, loading raises
nothing but :class:`RegistryLoadError`, the admin endpoint answers no 500, and after every refusal the live
registry version and the stored state are exactly what they were; the file watcher outlives it all.

Hypothesis mutates the shipped example documents (TOML, YAML, JSON) with the values that used to crash the
loader (inf, nan, 10**400, 20,000-deep nesting, lone surrogates, alias bombs, `"en\\n"`...), damages their
text, and feeds arbitrary text and structures. Budgets are small: the file adds seconds, not minutes.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import pytest
import tomllib
import yaml
from _bff_app import ADMIN_KEY, REGISTRY_TOML, WRITE, running_app, wait_for, write_registry
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from test_registry_properties import _paths

from bff.cli import main as prefkit
from preference_registry import RegistryLoadError, load_registry
from preference_registry.loader import MAX_NESTING
from preference_registry.schema import MAX_EXACT_INTEGER, full_match
from preference_registry.snapshot import INTERNAL_ERROR

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
DEMO = tomllib.loads((EXAMPLES / "demo-shop.toml").read_text(encoding="utf-8"))
ADMIN = {"X-Admin-Key": ADMIN_KEY}
FAST = settings(max_examples=150, deadline=None, database=None, derandomize=True,
                suppress_health_check=list(HealthCheck))


def _deep(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


HOSTILE_VALUES = [
    math.inf, -math.inf, math.nan, 10**400, -(10**23), 2**63, 2**53, 1e308, 5e-324, MAX_EXACT_INTEGER + 1,
    "\ud800", {"\udc00": "x"}, "en\n", "pl\n", "dark\n", "/privacy\n", "x" * 5000, "", None, True, [], {},
    _deep(MAX_NESTING + 1), _deep(300), {"pl": "\ud83d"}, [1, "a", None], -1, 0, 0.1,
]
hostile = st.sampled_from(HOSTILE_VALUES) | st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


@st.composite
def mutated(draw: st.DrawFn) -> Any:
    """The demo registry with a few places replaced by hostile values, removed, or given hostile siblings."""
    doc = copy.deepcopy(DEMO)
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(doc) if p]
        path = draw(st.sampled_from(paths))
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        if action == "replace":
            parent[path[-1]] = copy.deepcopy(draw(hostile))
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            name = draw(st.sampled_from(["titel", "max", "requires", "default", "\ud800", "kind"]))
            parent[name] = copy.deepcopy(draw(hostile))
        else:
            parent.append(copy.deepcopy(draw(hostile)))
    return doc


def _encode(doc: Any, fmt: str) -> str:
    """``doc`` as text; JSON escapes lone surrogates, YAML keeps what it can represent."""
    if fmt == "yaml":
        try:
            return yaml.safe_dump(doc, allow_unicode=False)
        except (yaml.YAMLError, RecursionError, ValueError):
            return json.dumps(doc)  # JSON is YAML too, near enough for a hostile test
    return json.dumps(doc, allow_nan=True)


def _loads_or_refuses(text: str, fmt: str) -> RegistryLoadError | None:
    """Loading ``text`` activates or refuses it with listed, printable errors; nothing else escapes."""
    try:
        snapshot = load_registry(text, fmt, source=f"hostile.{fmt}")  # type: ignore[arg-type]
    except RegistryLoadError as exc:
        assert exc.errors, "a refusal must say why"
        for issue in exc.errors:
            assert INTERNAL_ERROR not in issue.message, issue  # a check crashed: a prefkit bug
            assert issue.message and isinstance(issue.path, str)
            str(issue).encode("utf-8")  # every issue can be printed, logged and sent as JSON
        assert len(exc.errors) <= 10_000 and len(str(exc)) < 5_000_000
        return exc
    for pref in snapshot.preferences:  # what is accepted is within what storage keeps exactly
        for number in (getattr(pref, name, 0) for name in ("min", "max", "step", "default", "order")):
            if isinstance(number, (int, float)) and not isinstance(number, bool):
                assert math.isfinite(number) and abs(number) <= MAX_EXACT_INTEGER
    return None


@settings(FAST, max_examples=100)
@given(doc=mutated(), fmt=st.sampled_from(["json", "yaml"]))
def test_mutated_documents_load_or_are_refused_with_listed_errors(doc: Any, fmt: str) -> None:
    _loads_or_refuses(_encode(doc, fmt), fmt)


DEMO_TEXTS = {fmt: (EXAMPLES / f"demo-shop.{fmt}").read_text(encoding="utf-8") for fmt in ("toml", "yaml", "json")}
damage = st.sampled_from(["[", "{", "]", "}", "\n", '"', "'", ":", "=", "- ", "&a ", "*a", "!!", "inf", "nan",
                          "1" * 500, "\ud800", "\\ud800", "\x00", "\t", "#", ",", "[" * 5000, "- " * 2000])


@FAST
@given(fmt=st.sampled_from(["toml", "yaml", "json"]), edits=st.lists(st.tuples(st.floats(0, 1), damage | st.text(
    max_size=5)), min_size=1, max_size=4), cut=st.booleans())
def test_damaged_text_loads_or_is_refused_with_listed_errors(fmt: str, edits: list, cut: bool) -> None:
    text = DEMO_TEXTS[fmt]
    for where, inserted in edits:
        at = int(where * len(text))
        text = text[:at] + inserted + text[at + (len(inserted) if cut else 0):]
    _loads_or_refuses(text, fmt)


@FAST
@given(text=st.text(max_size=300), fmt=st.sampled_from(["toml", "yaml", "json"]))
def test_arbitrary_text_loads_or_is_refused(text: str, fmt: str) -> None:
    _loads_or_refuses(text, fmt)


@FAST
@given(doc=st.dictionaries(st.sampled_from(["shop", "preferences", "sections", "schema_version", "x"]), hostile,
                           max_size=4) | hostile)
def test_arbitrary_structures_load_or_are_refused(doc: Any) -> None:
    _loads_or_refuses(_encode(doc, "json"), "json")


def test_yaml_alias_bomb_in_a_watched_place_is_refused_quickly() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
    exc = _loads_or_refuses(bomb + "shop: {name: *i}\n", "yaml")
    assert exc is not None and any("expands" in e.message for e in exc.errors)


# -- the same through PUT /api/v1/admin/registry ---------------------------------------------------------
CONTENT_TYPES = {"toml": "application/toml", "yaml": "application/yaml", "json": "application/json"}


def _stored_state(client) -> tuple:  # noqa: ANN001
    preferences = client.get("/api/v1/preferences").json()
    history = client.get("/api/v1/admin/registry", headers=ADMIN).json()["history"]
    return (json.dumps(preferences, sort_keys=True), [entry["version"] for entry in history])


def test_admin_uploads_of_hostile_documents_are_4xx_and_change_nothing(tmp_path: Path, sqlite_url: str) -> None:
    with running_app(write_registry(tmp_path), sqlite_url) as (client, service):
        assert client.put("/api/v1/preferences/newsletter", json={"value": True}, headers=WRITE).status_code == 200
        assert client.put("/api/v1/preferences/level", json={"value": 6}, headers=WRITE).status_code == 200
        version = service.registry.current.version
        baseline = {"state": _stored_state(client)}

        def refused(body: bytes, fmt: str) -> None:
            response = client.put("/api/v1/admin/registry", content=body,
                                  headers={**ADMIN, "Content-Type": CONTENT_TYPES[fmt]})
            assert response.status_code in (200, 400, 413, 422), (response.status_code, response.text[:300])
            if response.status_code == 200:  # a harmless mutation: put the original back
                restored = client.put("/api/v1/admin/registry", content=REGISTRY_TOML.encode(),
                                      headers={**ADMIN, "Content-Type": CONTENT_TYPES["toml"]})
                assert restored.status_code == 200 and service.registry.current.version == version
                baseline["state"] = _stored_state(client)  # the history now lists the accepted version
                return
            assert response.headers["content-type"].startswith("application/problem+json")
            assert response.json()["errors"] or response.json().get("detail")
            assert service.registry.current.version == version
            assert client.get("/api/v1/registry").json()["version"] == version
            assert _stored_state(client) == baseline["state"]

        for text, fmt in [
            (REGISTRY_TOML.replace("max = 10", "max = inf"), "toml"),
            (REGISTRY_TOML.replace("max = 10", f"max = {10**400}"), "toml"),
            (REGISTRY_TOML.replace("max = 10", f"max = {10**23}"), "toml"),
            (REGISTRY_TOML.replace('default_locale = "pl"', 'default_locale = "pl\\n"'), "toml"),
            (REGISTRY_TOML + "x = " + "[" * 20_000 + "]" * 20_000 + "\n", "toml"),
            ('{"shop": {"name": "\\ud800"}}', "json"),
            ('{"shop": ' + "[" * 20_000 + "]" * 20_000 + "}", "json"),
            ("shop: &s {name: S, me: *s}\n", "yaml"),
        ]:
            refused(text.encode("utf-8"), fmt)

        @settings(FAST, max_examples=25)
        @given(doc=mutated(), fmt=st.sampled_from(["json", "yaml"]))
        def upload(doc: Any, fmt: str) -> None:
            refused(_encode(doc, fmt).encode("utf-8", "surrogatepass"), fmt)

        upload()
        assert service.registry.current.version == version


# -- and in the watched file ------------------------------------------------------------------------------
def test_the_watcher_outlives_generated_hostile_files(tmp_path: Path, sqlite_url: str) -> None:
    path = write_registry(tmp_path)
    with running_app(path, sqlite_url) as (client, service):
        version = service.registry.current.version

        @settings(FAST, max_examples=8)
        @given(doc=mutated().filter(lambda d: _loads_or_refuses(json.dumps(d), "json") is not None))
        def edit(doc: Any) -> None:
            before = service.registry.last_rejection
            staged = path.with_name("registry.toml.tmp")
            staged.write_text(json.dumps(doc), encoding="utf-8", errors="surrogatepass")
            staged.replace(path)  # JSON content in a .toml file: refused as TOML, like any broken edit
            wait_for(lambda: service.registry.last_rejection is not before, message="the rejection", timeout=30)
            assert service.registry.current.version == version

        edit()
        path.write_text(REGISTRY_TOML.replace('title = { pl = "Poziom"', 'title = { pl = "Poziom 2"'),
                        encoding="utf-8")
        wait_for(lambda: service.registry.current.version != version, message="the next good edit", timeout=30)


# -- slider bounds: the largest accepted slider stores, reads back equal and verifies (item 7) ------------
EXTREME = f"""
[[preferences]]
key = "extreme"
kind = "slider"
min = -{MAX_EXACT_INTEGER}
max = {MAX_EXACT_INTEGER}
default = 0
title = "Extreme"

[[preferences]]
key = "extreme_float"
kind = "slider"
min = -{MAX_EXACT_INTEGER}.0
max = {MAX_EXACT_INTEGER}.0
step = 1.0
default = 0.0
title = "Extreme float"
"""


def test_a_slider_at_the_largest_bound_stores_reads_back_and_verifies(tmp_path: Path, database_url: str) -> None:
    with running_app(write_registry(tmp_path, REGISTRY_TOML + EXTREME), database_url) as (client, _service):
        for value in (MAX_EXACT_INTEGER, -MAX_EXACT_INTEGER, MAX_EXACT_INTEGER - 1):
            for key, sent in (("extreme", value), ("extreme_float", float(value))):
                response = client.put(f"/api/v1/preferences/{key}", json={"value": sent}, headers=WRITE)
                assert response.status_code == 200, response.text
                assert response.json()["value"] == sent
                assert client.get(f"/api/v1/preferences/{key}").json()["value"] == sent
        assert client.delete("/api/v1/preferences/extreme", headers=WRITE).status_code in (200, 204)
        result = CliRunner().invoke(prefkit, ["verify-ledger", "--database-url", database_url])
        assert result.exit_code == 0 and "1 of 1 chain(s) verify" in result.output, result.output
        too_big = REGISTRY_TOML + EXTREME.replace(f"max = {MAX_EXACT_INTEGER}\n", f"max = {10**23}\n", 1)
        response = client.put("/api/v1/admin/registry", content=too_big.encode(),
                              headers={**ADMIN, "Content-Type": "application/toml"})
        assert response.status_code == 422
        error = next(e for e in response.json()["errors"] if e["path"].endswith(".max"))
        assert "exactly" in error["message"] and str(MAX_EXACT_INTEGER) in error["expected"]


FINE = """
[[preferences]]
key = "fine"
kind = "slider"
min = 0.0
max = 0.01
step = 0.000001
default = 0.0
title = "Fine"
"""
# Six-decimal values that SQLite's NUMERIC affinity (the JSON column's) used to turn into a neighbouring
# double on insert: 0.002877 came back as 0.0028770000000000002 and the ledger reported tampering.
FINE_VALUES = [0.002877, 0.000001, 0.009999, 0.001234, 0.005001, 0.007777, 0.003141, 0.01]


def test_fractional_slider_values_come_back_exactly_and_the_ledger_verifies(
    tmp_path: Path, database_url: str
) -> None:
    import random

    rng = random.Random(7)
    values = FINE_VALUES + [rng.randrange(0, 10_001) / 1_000_000 for _ in range(60)]
    with running_app(write_registry(tmp_path, REGISTRY_TOML + FINE), database_url) as (client, _service):
        for value in values:
            response = client.put("/api/v1/preferences/fine", json={"value": value}, headers=WRITE)
            assert response.status_code == 200, response.text
            assert client.get("/api/v1/preferences/fine").json()["value"] == value
        history = client.get("/api/v1/consents/history").json()
        stored = [event["new_value"] for event in history["events"] if event["key"] == "fine"]
        assert set(stored) == set(values)  # the ledger holds the exact values too
        result = CliRunner().invoke(prefkit, ["verify-ledger", "--database-url", database_url])
        assert result.exit_code == 0 and "BROKEN" not in result.output, result.output


# -- identifier patterns outside the registry are full matches too (item 6) -------------------------------
def test_name_patterns_in_the_bff_and_themes_refuse_a_trailing_newline() -> None:
    import re

    import msgspec

    from bff.catalog.data import Product
    from bff.jinja_helpers import prefkit_widget
    from themes import ThemeLibrary, UnknownThemeError

    assert re.search(full_match("[a-z]+"), "en") and not re.search(full_match("[a-z]+"), "en\n")
    with pytest.raises(ValueError):
        prefkit_widget("center\n")
    with pytest.raises(ValueError):
        prefkit_widget("center", **{"locale\n": "pl"})
    with pytest.raises(UnknownThemeError):
        ThemeLibrary().tokens_for("dark\n")
    fields = msgspec.structs.fields(Product)
    product_id = next(f for f in fields if f.name == "id")
    pattern = product_id.type.__metadata__[0].pattern
    assert re.search(pattern, "p-1") and not re.search(pattern, "p-1\n")
