"""A preference kind is one unit: one module in ``preference_registry/kinds/`` plus its entry in ``KINDS``.

The table drives the document's union, the loader, values, checks and wording hashes; an unknown kind is a
clear error everywhere (never filter code failing with an AttributeError); the shopper-visible texts are
enumerated once; and the wording hashes stored in ledgers do not change.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, ClassVar, get_args

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings

import preference_registry
from preference_registry import (
    KINDS,
    ConsentType,
    FilterType,
    PreferenceType,
    RegistryDocument,
    ShopSettings,
    SliderType,
    UnknownKindError,
    default_value,
    kind_of,
    load_file,
    load_registry,
    shopper_texts,
    text_hash,
    validate_value,
    value_json_schema,
    value_type,
)
from preference_registry.common import PreferenceBase
from preference_registry.kinds import Kind, localized_texts
from preference_registry.schema import PREFERENCE_KINDS
from preference_registry.kinds.priorities import PrioritiesType
from preference_registry.validate import validate_document

from registry_strategies import registry_documents

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# Every kind and variant whose wording is hashed: mechanisms, a slider with and one without stops, plain and
# per-locale texts, single and multiple filters, option values.
WORDING_DOC: dict[str, Any] = {
    "shop": {"name": "Wording Shop", "default_locale": "en", "locales": ["en", "de"]},
    "sections": [{"key": "main", "title": {"en": "Main", "de": "Haupt"}}],
    "preferences": [
        {"key": "news", "kind": "consent", "purpose": "marketing", "gpc": True, "expires_after_days": 30,
         "title": {"en": "News", "de": "Neuigkeiten"}, "description": "Weekly.",
         "data_used": {"en": ["e-mail"], "de": ["E-Mail"]}, "benefit": "Offers.", "section": "main"},
        {"key": "stats", "kind": "consent", "purpose": "analytics", "mechanism": "opt_out", "title": "Stats"},
        {"key": "needed", "kind": "consent", "purpose": "necessary", "mechanism": "notice_only",
         "title": "Needed", "data_used": ["session id"]},
        {"key": "plain", "kind": "slider", "min": 0, "max": 10, "default": 5, "title": "Plain"},
        {"key": "fine", "kind": "slider", "min": -1.5, "max": 1.5, "step": 0.5, "default": 0.0,
         "title": {"en": "Fine", "de": "Fein"}, "requires": ["news"],
         "stops": [{"value": -1.5, "label": "Low"}, {"value": 1.5, "label": {"en": "High", "de": "Hoch"}}]},
        {"key": "one", "kind": "filter", "title": "One", "default": "b",
         "options": [{"key": "a", "label": "A"}, {"key": "b", "label": {"en": "B", "de": "Be"}, "value": 2}]},
        {"key": "many", "kind": "filter", "multiple": True, "title": "Many", "benefit": {"en": "More"},
         "options": [{"key": "x", "label": "X", "value": True}, {"key": "y", "label": "Y"}],
         "applies_to": {"attribute": "tag", "rule": "prefer", "weight": 2.5}},
    ],
}


# -- stored ledgers keep verifying ---------------------------------------------------------------------
def test_wording_hashes_and_versions_are_those_stored_ledgers_hold() -> None:
    """Pinned from the code before kinds were split into modules: a ledger event's ``text_hash`` and
    ``registry_version`` must keep matching the registry that produced them, or every stored consent would
    read as stale (and the export's ``text_hash_verified`` as false)."""
    wording = load_registry(json.dumps(WORDING_DOC), "json")
    assert wording.version == "033cf276fa8450fe"
    assert dict(wording.text_hashes) == {
        "news": "a52a26233e7012e2", "stats": "fddf1e4da3a0c935", "needed": "30f72d05ba105f86",
        "plain": "ebfe7ec9b4e52b1e", "fine": "2f2b368510e5a146", "one": "0727e34f79c2f968",
        "many": "040d13c1634bba20",
    }
    demo = load_file(str(EXAMPLES / "demo-shop.toml"))
    assert demo.version == "fe399ee43e58a1ef"  # was 22267620a1d0cb09 before issue 18 added two types
    assert dict(demo.text_hashes) == {
        "marketing_email": "5557cd31e625d8d8", "recommendations": "3d4f5a840e841186",
        "personalization_level": "217ced9f418be08d", "price_vs_sustainability": "78f1037200f249e7",
        "what_matters": "3236ff1d58999b81", "discovery": "e9aaa5a67bd63417",
        "eco_only": "4397959fb3b55c07", "small_brands": "7c7b08cc14d5387f", "categories": "b40db6f8d124f42f",
        "analytics": "7674f61844b1aa90", "essential_cookies": "97b888e355fac8c4",
    }


def _ledger_format_1_text_hash(pref: Any) -> str:
    """The wording hash as ledger format 1 defines it (the code before the kinds table), kept as the
    reference that any registry's hashes are compared with."""
    import hashlib

    texts: dict[str, Any] = {"title": pref.title, "description": pref.description,
                             "data_used": pref.data_used, "benefit": pref.benefit}
    if pref.kind == "consent":
        texts["mechanism"] = pref.mechanism.value
    if pref.kind == "slider":
        texts["stops"] = [(stop.value, stop.label) for stop in pref.stops]
    if pref.kind == "filter":
        texts["options"] = [(option.key, option.label) for option in pref.options]
    if pref.kind == "priorities":  # added with the kind (issue 18): its criteria's labels, like options
        texts["criteria"] = [(criterion.key, criterion.label) for criterion in pref.criteria]
    return hashlib.sha256(msgspec.json.Encoder(order="sorted").encode(texts)).hexdigest()[:16]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(registry_documents())
def test_every_registry_hashes_its_wording_as_ledger_format_1(doc: dict[str, Any]) -> None:
    snapshot = load_registry(json.dumps(doc), "json")
    for pref in snapshot.preferences:
        assert snapshot.text_hash(pref.key) == _ledger_format_1_text_hash(pref), pref.key


# -- the table drives the registry -----------------------------------------------------------------------
def test_the_kinds_table_is_what_the_document_decodes() -> None:
    structs = tuple(kind.struct for kind in KINDS.values())
    assert list(KINDS) == ["consent", "slider", "filter", "priorities"]
    assert structs == (ConsentType, SliderType, FilterType, PrioritiesType)
    assert get_args(PreferenceType) == structs
    assert PREFERENCE_KINDS == dict(zip(KINDS, structs))
    preferences_type = {f.name: f.type for f in msgspec.structs.fields(RegistryDocument)}["preferences"]
    assert get_args(preferences_type) == (PreferenceType,)
    # The file format's `kind` values are the table's names, in JSON Schema too.
    schema = msgspec.json.schema(RegistryDocument)
    tags = {schema["$defs"][s.__name__]["properties"]["kind"]["enum"][0] for s in structs}
    assert tags == set(KINDS)
    with pytest.raises(TypeError):
        # Read-only: a kind is added in the source, not registered at run time.
        KINDS["rating"] = KINDS["slider"]  # type: ignore[index]


def test_values_defaults_and_checks_dispatch_through_the_table() -> None:
    snapshot = load_registry(json.dumps(WORDING_DOC), "json")
    for pref in snapshot.preferences:
        kind = kind_of(pref)
        assert kind is kind_of(pref.kind) is KINDS[pref.kind]
        assert default_value(pref) == kind.default_value(pref) == snapshot.default_value(pref.key)
        assert value_type(pref) == kind.value_type(pref)
        assert value_json_schema(pref) == kind.value_schema(pref)
        assert validate_value(pref, default_value(pref)) == default_value(pref)


def test_a_kind_whose_struct_tag_disagrees_with_its_name_is_refused() -> None:
    slider = KINDS["slider"]
    with pytest.raises(ValueError, match="tag 'slider'"):
        Kind(name="dial", struct=slider.struct, value_type=slider.value_type,
             value_schema=slider.value_schema, validate_value=slider.validate_value,
             default_value=slider.default_value, check=slider.check)


# -- an unknown kind is a clear error, not filter code failing --------------------------------------------
class _Rating(PreferenceBase, tag="rating", kw_only=True):
    """A kind that is not in the table (as a caller might build by mistake)."""

    stars: int = 5
    kind: ClassVar[str] = "rating"


class _LooksLikeASlider(msgspec.Struct, frozen=True):
    key: str = "fake"
    kind: ClassVar[str] = "slider"


def _assert_unknown(exc: pytest.ExceptionInfo[UnknownKindError], named: str) -> None:
    message = str(exc.value)
    assert named in message
    assert "known kinds: consent, slider, filter" in message


@pytest.mark.parametrize("use", [
    pytest.param(lambda pref: value_type(pref), id="value_type"),
    pytest.param(lambda pref: value_json_schema(pref), id="value_json_schema"),
    pytest.param(lambda pref: validate_value(pref, ["a"]), id="validate_value"),
    pytest.param(lambda pref: default_value(pref), id="default_value"),
    pytest.param(lambda pref: text_hash(pref), id="text_hash"),
    pytest.param(lambda pref: list(shopper_texts(pref)), id="shopper_texts"),
    pytest.param(lambda pref: localized_texts(pref, "en", "en"), id="localized_texts"),
    pytest.param(lambda pref: validate_document(
        RegistryDocument(shop=ShopSettings(name="S"), preferences=[pref])), id="validate_document"),
])
def test_an_unknown_kind_is_refused_with_the_known_kinds(use: Any) -> None:
    rating = _Rating(key="stars", title="Stars")
    with pytest.raises(UnknownKindError) as exc:
        use(rating)
    _assert_unknown(exc, "'rating'")
    with pytest.raises(UnknownKindError) as exc:
        use(_LooksLikeASlider())
    _assert_unknown(exc, "not a SliderType")


def test_kind_of_names_what_it_was_given() -> None:
    with pytest.raises(UnknownKindError) as exc:
        kind_of("rating")
    _assert_unknown(exc, "'rating'")
    assert exc.value.kind == "'rating'" and exc.value.known == ("consent", "slider", "filter", "priorities")
    with pytest.raises(UnknownKindError) as exc:
        kind_of(object())
    _assert_unknown(exc, "(none on object)")
    assert isinstance(exc.value, LookupError)


def test_a_file_with_an_unknown_kind_lists_the_kinds_of_the_table() -> None:
    doc = {"shop": {"name": "S"}, "preferences": [{"key": "stars", "kind": "rating", "title": "Stars"}]}
    with pytest.raises(preference_registry.RegistryLoadError) as exc:
        load_registry(json.dumps(doc), "json")
    [issue] = exc.value.errors
    assert (issue.path, issue.expected, issue.got) == ("preferences[0].kind", "consent | slider | filter | priorities",
                                                       "'rating'")


# -- the shopper texts, enumerated once ------------------------------------------------------------------
def test_shopper_texts_are_every_text_a_shopper_reads_in_display_order() -> None:
    snapshot = load_registry(json.dumps(WORDING_DOC), "json")
    fine, one = snapshot.get("fine"), snapshot.get("one")
    assert [(t.name, t.path, t.item) for t in shopper_texts(fine)] == [
        ("title", "title", None), ("description", "description", None), ("data_used", "data_used", None),
        ("benefit", "benefit", None), ("stops", "stops[0].label", ("value", -1.5)),
        ("stops", "stops[1].label", ("value", 1.5)),
    ]
    assert snapshot.localized_texts(fine, "de") == {
        "title": "Fein", "description": None, "data_used": [], "benefit": None,
        "stops": [{"value": -1.5, "label": "Low"}, {"value": 1.5, "label": "Hoch"}],
    }
    assert snapshot.localized_texts(one, "de")["options"] == [{"key": "a", "label": "A"},
                                                              {"key": "b", "label": "Be"}]
    # A labelled list is part of the wording even when it is empty (the frontends iterate over it).
    assert snapshot.localized_texts(snapshot.get("plain"), "en")["stops"] == []
    assert "stops" not in snapshot.localized_texts(snapshot.get("news"), "en")


def test_every_shopper_text_is_checked_for_translations() -> None:
    """The translation check reads the same enumeration: each text declared without its `de` translation
    gets exactly one warning, at its own path."""
    doc = json.loads(json.dumps(WORDING_DOC))
    snapshot = load_registry(json.dumps(doc), "json")
    expected = set()
    for index, item in enumerate(doc["preferences"]):
        pref = snapshot.get(item["key"])
        for text in shopper_texts(pref):
            if isinstance(text.text, dict) and "de" not in text.text:
                expected.add(f"preferences[{index}].{text.path}.de")
    warned = {w.path for w in snapshot.warnings if w.message.startswith("missing `de` translation")}
    assert warned == expected == {"preferences[6].benefit.de"}
    for item in doc["preferences"]:
        item["title"] = {"en": "Only English"}
        for labelled in item.get("stops", []) + item.get("options", []):
            labelled["label"] = {"en": "Only English"}
    warned = {w.path for w in load_registry(json.dumps(doc), "json").warnings}
    assert {"preferences[4].stops[1].label.de", "preferences[5].options[0].label.de",
            "preferences[0].title.de"} <= warned


# -- a new kind: one module and one table entry ------------------------------------------------------------
RATING_MODULE = '''
"""A toy kind for the test: a star rating."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, ClassVar

import msgspec
from msgspec import Meta

from ..common import LocalizedText, PreferenceBase
from ..errors import RegistryIssue, ValueValidationError
from .base import CheckContext, Kind, ShopperText, quote_value


class RatingType(PreferenceBase, tag="rating", kw_only=True):
    stars: Annotated[int, Meta(ge=2, le=10)] = 5
    default: int | None = None
    low_label: LocalizedText
    kind: ClassVar[str] = "rating"


def value_type(pref: RatingType) -> Any:
    return Annotated[int, Meta(ge=1, le=pref.stars)] | None


def validate_value(pref: RatingType, raw: Any) -> int | None:
    if raw is None or (type(raw) is int and 1 <= raw <= pref.stars):
        return raw
    raise ValueValidationError(pref.key, "a rating is a number of stars", expected=f"1..{pref.stars} | null",
                               got=quote_value(raw))


def check(ctx: CheckContext, pref: RatingType, path: str) -> Iterator[RegistryIssue]:
    if pref.default is not None and pref.stars is not None and not 1 <= pref.default <= pref.stars:
        yield ctx.issue(f"{path}.default", "more stars than the rating has", expected=f"1..{pref.stars}",
                        got=pref.default)


def texts(pref: RatingType) -> Iterator[ShopperText]:
    yield ShopperText("low_label", pref.low_label, "low_label")


KIND = Kind(name="rating", struct=RatingType, value_type=value_type,
            value_schema=lambda pref: msgspec.json.schema(value_type(pref)), validate_value=validate_value,
            default_value=lambda pref: pref.default, check=check, texts=texts)
'''

NEW_KIND_SCRIPT = '''
import json, sys
import msgspec
import preference_registry as pr
from preference_registry.schema import RegistryDocument

out = {"file": pr.__file__, "kinds": list(pr.KINDS)}
doc = {"shop": {"name": "S", "default_locale": "en", "locales": ["en", "de"]}, "preferences": [
    {"key": "stars", "kind": "rating", "stars": 4, "default": 3, "title": "Stars",
     "low_label": {"en": "Bad", "de": "Schlecht"}},
    {"key": "news", "kind": "consent", "purpose": "marketing", "title": "News", "requires": []},
]}
snapshot = pr.load_registry(json.dumps(doc), "json")
pref = snapshot.get("stars")
out["default"] = snapshot.default_value("stars")
out["valid"] = snapshot.validate_value("stars", 4)
try:
    snapshot.validate_value("stars", 5)
except pr.ValueValidationError as exc:
    out["invalid"] = [exc.path, exc.expected, exc.got]
out["schema"] = snapshot.value_schema("stars")
out["texts"] = snapshot.localized_texts(pref, "de")
out["hash"] = snapshot.text_hash("stars")
doc["preferences"][0]["low_label"] = {"en": "Poor"}
changed = pr.load_registry(json.dumps(doc), "json")
out["hash_after_wording_change"] = changed.text_hash("stars")
out["news_hash_unchanged"] = changed.text_hash("news") == snapshot.text_hash("news")
out["warnings"] = [w.path for w in changed.warnings]
doc["preferences"][0]["default"] = 9
try:
    pr.load_registry(json.dumps(doc), "json")
except pr.RegistryLoadError as exc:
    out["errors"] = [[e.path, e.message] for e in exc.errors]
doc["preferences"][0]["kind"] = "stars"
try:
    pr.load_registry(json.dumps(doc), "json")
except pr.RegistryLoadError as exc:
    out["unknown"] = exc.errors[0].expected
out["document_schema_has_it"] = "RatingType" in msgspec.json.schema(RegistryDocument)["$defs"]
print(json.dumps(out))
'''


def test_a_new_kind_is_one_module_and_one_table_entry(tmp_path: Path) -> None:
    """Copy the registry package, add ``kinds/rating.py`` and its entry in ``KINDS`` - nothing else - and a
    registry with a rating loads, validates, checks, hashes, localizes and reports like any other kind."""
    package = Path(preference_registry.__file__).parent
    copy = tmp_path / "preference_registry"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "kinds" / "rating.py").write_text(textwrap.dedent(RATING_MODULE))
    table = copy / "kinds" / "__init__.py"
    source = table.read_text()
    source, imports = re.subn(r"^from \.slider import KIND as _SLIDER$",
                              "from .slider import KIND as _SLIDER\nfrom .rating import KIND as _RATING",
                              source, flags=re.M)
    source, entries = re.subn(r"\(_CONSENT, _SLIDER, _FILTER, _PRIORITIES\)",
                              "(_CONSENT, _SLIDER, _FILTER, _PRIORITIES, _RATING)", source)
    assert (imports, entries) == (1, 1), "the kinds table is no longer one import and one tuple entry"
    table.write_text(source)

    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    run = subprocess.run([sys.executable, "-c", NEW_KIND_SCRIPT], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["file"].startswith(str(tmp_path))
    assert out["kinds"] == ["consent", "slider", "filter", "priorities", "rating"]
    assert (out["default"], out["valid"]) == (3, 4)
    assert out["invalid"] == ["value", "1..4 | null", "5"]
    assert out["schema"]["anyOf"][0] == {"type": "integer", "minimum": 1, "maximum": 4}
    assert out["texts"] == {"title": "Stars", "description": None, "data_used": [], "benefit": None,
                            "low_label": "Schlecht"}
    assert out["hash"] != out["hash_after_wording_change"] and out["news_hash_unchanged"]
    assert "preferences[0].low_label.de" in out["warnings"]
    assert out["errors"] == [["preferences[0].default", "more stars than the rating has"]]
    assert out["unknown"] == "consent | slider | filter | priorities | rating"
    assert out["document_schema_has_it"]
