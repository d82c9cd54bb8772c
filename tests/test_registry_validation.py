"""Every class of registry mistake gets a precise issue: path, message, expected and got; all at once."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from preference_registry import RegistryLoadError, load_registry

BASE: dict[str, Any] = {
    "shop": {"name": "S", "default_locale": "pl", "locales": ["pl", "en"]},
    "sections": [{"key": "main", "title": {"pl": "Główne", "en": "Main"}}],
    "preferences": [
        {"key": "recommendations", "kind": "consent", "purpose": "recommendations", "section": "main",
         "title": {"pl": "Rekomendacje", "en": "Recommendations"}},
        {"key": "level", "kind": "slider", "min": 0, "max": 2, "step": 1, "default": 1,
         "requires": ["recommendations"], "title": {"pl": "Poziom", "en": "Level"},
         "stops": [{"value": 0, "label": {"pl": "Wył.", "en": "Off"}}]},
        {"key": "colors", "kind": "filter", "multiple": True, "default": [],
         "title": {"pl": "Kolory", "en": "Colours"},
         "options": [{"key": "red", "label": {"pl": "Czerwony", "en": "Red"}},
                     {"key": "blue", "label": {"pl": "Niebieski", "en": "Blue"}}]},
    ],
}


def load(doc: dict[str, Any]):
    return load_registry(json.dumps(doc), "json", "shop.json")


def errors_of(doc: dict[str, Any]):
    with pytest.raises(RegistryLoadError) as info:
        load(doc)
    return info.value.errors


def edited(path: list[Any], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    target = doc
    for part in path[:-1]:
        target = target[part]
    if value is DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


DELETE = object()

# (edit path, new value, expected issue path, message fragment, expected fragment, got fragment)
CASES = [
    (["preferences", 1, "kind"], "toggle", "preferences[1].kind", "unknown or missing preference kind",
     "consent | slider | filter", "'toggle'"),
    (["preferences", 2, "key"], "recommendations", "preferences[2].key", "duplicate key `recommendations`",
     "a key used once", "'recommendations'"),
    (["preferences", 2, "key"], "Colors", "preferences[2].key", "wrong type or value out of bounds",
     "str matching regex", None),
    (["preferences", 1, "min"], 2, "preferences[1].max", "max must be greater than min", "> 2", "2"),
    (["preferences", 1, "step"], 0.75, "preferences[1].step", "does not divide the range", "a divisor of 2",
     "0.75"),
    (["preferences", 1, "default"], 3, "preferences[1].default", "outside the slider's range", "0..2", "3"),
    (["preferences", 2, "default"], ["green"], "preferences[2].default[0]", "`green` is not a declared option",
     "red | blue", "'green'"),
    (["preferences", 1, "requires"], ["nothing_here"], "preferences[1].requires[0]",
     "requires unknown key `nothing_here`", "consent", "'nothing_here'"),
    (["preferences", 1, "requires"], ["colors"], "preferences[1].requires[0]", "only consents can be required",
     "a consent key", "filter `colors`"),
    (["preferences", 0, "default"], True, "preferences[0].default", "opt_in consent can never default to on",
     "false", "true"),
    (["preferences", 0, "title"], {"en": "Recommendations"}, "preferences[0].title.pl",
     "missing text in the default locale `pl`", "`pl`", "nothing"),
    (["preferences", 1, "titel"], "typo", "preferences[1].titel", "unknown field `titel`; did you mean `title`?",
     "title", "`titel`"),
    (["preferences", 1, "title"], DELETE, "preferences[1].title", "missing required field `title`", None,
     "nothing"),
    (["preferences", 2, "multiple"], "yes", "preferences[2].multiple", "wrong type", "bool", "str"),
    (["shop", "default_locale"], "de", "shop.default_locale", "must be one of `shop.locales`", "pl | en",
     "'de'"),
    (["preferences", 0, "title"], {"pl": "R", "en": "R", "eng": "R"}, "preferences[0].title.eng",
     "not one of the shop's locales", "pl | en", "'eng'"),
    (["sections", 0, "key"], "Main", "sections[0].key", "wrong type", "regex", None),
    (["preferences", 0, "section"], "missing", "preferences[0].section", "unknown section `missing`", "main",
     "'missing'"),
    (["preferences", 2, "default"], "red", "preferences[2].default",
     "multiple-choice filter's default is a list", "list of option keys", "'red'"),
    (["preferences", 1, "stops", 0, "value"], 0.5, "preferences[1].stops[0].value", "not on a step",
     "0 + n * 1", "0.5"),
]


@pytest.mark.parametrize(("edit", "value", "path", "message", "expected", "got"), CASES,
                         ids=[c[3][:40] for c in CASES])
def test_each_mistake_is_reported_precisely(edit, value, path, message, expected, got) -> None:
    errors = errors_of(edited(edit, value))
    matching = [e for e in errors if e.path == path]
    assert matching, f"no error at {path}; got {[str(e) for e in errors]}"
    issue = matching[0]
    assert message in issue.message
    assert issue.source == "shop.json"
    if expected is not None:
        assert expected in (issue.expected or "")
    if got is not None:
        assert got in (issue.got or "")
    # The rendered line names file, path and both sides, as `prefkit validate` prints it.
    assert str(issue).startswith(f"shop.json: {path}: ")


def test_base_document_is_valid() -> None:
    assert [p.key for p in load(BASE).preferences] == ["recommendations", "level", "colors"]


def test_dependency_cycle_is_reported_with_the_cycle() -> None:
    doc = copy.deepcopy(BASE)
    doc["preferences"].append({"key": "profiling", "kind": "consent", "purpose": "profiling",
                               "requires": ["tracking"], "title": {"pl": "P", "en": "P"}})
    doc["preferences"].append({"key": "tracking", "kind": "consent", "purpose": "tracking",
                               "requires": ["profiling"], "title": {"pl": "T", "en": "T"}})
    cycles = [e for e in errors_of(doc) if "dependency cycle" in e.message]
    assert len(cycles) == 1
    assert cycles[0].got in ("profiling -> tracking -> profiling", "tracking -> profiling -> tracking")


def test_opt_out_and_notice_only_defaults_are_checked() -> None:
    doc = copy.deepcopy(BASE)
    doc["preferences"].append({"key": "stats", "kind": "consent", "purpose": "analytics", "mechanism": "opt_out",
                               "default": False, "title": {"pl": "S", "en": "S"}})
    doc["preferences"].append({"key": "cart", "kind": "consent", "purpose": "essential",
                               "mechanism": "notice_only", "gpc": True, "title": {"pl": "K", "en": "K"}})
    paths = {e.path: e.message for e in errors_of(doc)}
    assert "opt_out consent starts on" in paths["preferences[3].default"]
    assert "GPC signal cannot turn it off" in paths["preferences[4].gpc"]


def test_all_errors_are_reported_at_once_across_broken_and_valid_parts() -> None:
    doc = copy.deepcopy(BASE)
    doc["preferences"][0]["titel"] = "typo"                 # structural, in one type
    doc["preferences"][1]["default"] = 7                    # semantic, in another
    doc["preferences"][2]["default"] = ["green"]            # semantic, in a third
    doc["preferences"][2]["multiple"] = "yes"               # structural, same type as above
    paths = sorted(e.path for e in errors_of(doc))
    assert paths == ["preferences[0].titel", "preferences[1].default", "preferences[2].multiple"] or (
        "preferences[0].titel" in paths and "preferences[1].default" in paths and "preferences[2].multiple" in paths)
    assert len(paths) >= 3


def test_unknown_top_level_and_missing_shop() -> None:
    errors = errors_of({"preferencess": []})
    by_path = {e.path: e for e in errors}
    assert "did you mean `preferences`" in by_path["preferencess"].message
    assert by_path["shop"].message == "missing required section `shop`"


def test_non_object_document() -> None:
    errors = errors_of([1, 2])  # type: ignore[arg-type]
    assert errors[0].path == "" and errors[0].expected.startswith("object")


def test_privacy_policy_url_cannot_carry_script() -> None:
    for bad in ("javascript:alert(1)", "data:text/html,<script>", "//evil.example/x", "/x\" onmouseover=\"y"):
        doc = copy.deepcopy(BASE)
        doc["shop"]["privacy_policy_url"] = bad
        errors = {e.path: e for e in errors_of(doc)}
        assert "shop.privacy_policy_url" in errors, bad
    for good in ("https://shop.example/privacy", "/privacy", "mailto:dpo@shop.example"):
        doc = copy.deepcopy(BASE)
        doc["shop"]["privacy_policy_url"] = good
        assert load(doc).shop.privacy_policy_url == good
