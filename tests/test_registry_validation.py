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


# -- structural errors do not hide semantic ones (issue 11, item 4) ---------------------------------------
def test_a_broken_entry_still_gets_every_semantic_rule_in_the_same_run() -> None:
    doc = copy.deepcopy(BASE)
    broken_filter = {"key": "colors", "kind": "filter", "multiple": True, "default": ["green"],
                     "colour": "typo", "title": {"pl": "K", "en": "C"},
                     "options": [{"key": "red", "label": {"pl": "C", "en": "R"}}]}
    broken_slider = {"key": "level2", "kind": "slider", "min": 0, "max": 2, "default": 5, "steps": 1,
                     "requires": ["nothing_here", "colors"], "title": {"pl": "P", "en": "L"}}
    broken_consent = {"key": "promo", "kind": "consent", "purpose": "marketing", "default": True,
                      "expires_after_days": "soon", "section": "nowhere", "title": {"en": "Promo"}}
    doc["preferences"] += [broken_filter, broken_slider, broken_consent]
    errors = {(e.path, e.message.split(",")[0].split(";")[0]) for e in errors_of(doc)}
    wanted = {
        # structural
        ("preferences[3].colour", "unknown field `colour`"),
        ("preferences[4].steps", "unknown field `steps`"),
        ("preferences[5].expires_after_days", "wrong type or value out of bounds"),
        # semantic, on the same broken entries
        ("preferences[3].key", "duplicate key `colors`"),
        ("preferences[3].default[0]", "`green` is not a declared option"),
        ("preferences[4].default", "value outside the slider's range"),
        ("preferences[4].requires[0]", "requires unknown key `nothing_here`"),
        ("preferences[4].requires[1]", "`colors` is a filter"),
        ("preferences[5].default", "an opt_in consent can never default to on (GDPR: no pre-ticked consent)"),
        ("preferences[5].section", "unknown section `nowhere`"),
        ("preferences[5].title.pl", "missing text in the default locale `pl`"),
    }
    assert wanted <= errors, sorted(wanted - errors)


def test_semantic_rules_skip_what_could_not_be_read_instead_of_guessing() -> None:
    doc = copy.deepcopy(BASE)
    doc["preferences"][1]["max"] = "two"       # unreadable max: no range/step/default rules from a guess
    doc["preferences"][2]["options"][1] = 7    # unreadable option: `default` may name it, so no "not declared"
    doc["preferences"][2]["default"] = ["blue"]
    doc["sections"][0]["key"] = "Main!"          # unreadable section key: `recommendations` may mean it
    paths = sorted(e.path for e in errors_of(doc))
    assert paths == ["preferences[1].max", "preferences[2].options[1]", "sections[0].key"], paths


def test_requires_on_entries_with_unreadable_elements_checks_the_readable_ones() -> None:
    doc = copy.deepcopy(BASE)
    doc["preferences"][1]["requires"] = ["Bad!", "ghost"]
    paths = {e.path: e.message for e in errors_of(doc)}
    assert set(paths) == {"preferences[1].requires[0]", "preferences[1].requires[1]"}, paths
    assert "requires unknown key `ghost`" in paths["preferences[1].requires[1]"]


# -- identifiers are full matches (item 6) -------------------------------------------------------------------
NEWLINE_CASES = [
    (["preferences", 0, "key"], "recommendations\n", "preferences[0].key"),
    (["shop", "default_locale"], "pl\n", "shop.default_locale"),
    (["shop", "locales"], ["pl", "en\n"], "shop.locales[1]"),
    (["shop", "theme"], "dark\n", "shop.theme"),
    (["sections", 0, "key"], "main\n", "sections[0].key"),
    (["preferences", 0, "section"], "main\n", "preferences[0].section"),
    (["preferences", 2, "options", 0, "key"], "red\n", "preferences[2].options[0].key"),
    (["preferences", 0, "purpose"], "recommendations\n", "preferences[0].purpose"),
    (["preferences", 1, "requires"], ["recommendations\n"], "preferences[1].requires[0]"),
    (["shop", "privacy_policy_url"], "https://shop.example/privacy\n", "shop.privacy_policy_url"),
    (["shop", "privacy_policy_url"], "/privacy\n", "shop.privacy_policy_url"),
    (["preferences", 0, "title"], {"pl": "R", "en\n": "R"}, "preferences[0].title"),
]


@pytest.mark.parametrize(("edit", "value", "path"), NEWLINE_CASES, ids=[c[2] for c in NEWLINE_CASES])
def test_a_trailing_newline_never_passes_an_identifier_pattern(edit, value, path) -> None:
    errors = errors_of(edited(edit, value))
    assert any(e.path.startswith(path) for e in errors), [str(e) for e in errors]


# -- slider numbers are what storage keeps exactly (item 7) --------------------------------------------------
SAFE = 2**53 - 1


@pytest.mark.parametrize(("field", "value"), [
    ("max", 10**23), ("max", 2**53), ("min", -(2**53)), ("max", 2.0**60), ("default", 10**400),
    ("step", 2**63), ("page_step", 2.0**70),
], ids=["max-1e23", "max-2^53", "min--2^53", "max-2.0^60", "default-10^400", "step-2^63", "page_step-2.0^70"])
def test_slider_numbers_beyond_exact_storage_are_refused_saying_why(field: str, value: Any) -> None:
    doc = copy.deepcopy(BASE)
    doc["preferences"][1].update({"min": 0, "max": 2, "default": 0})
    doc["preferences"][1][field] = value
    errors = [e for e in errors_of(doc) if e.path == f"preferences[1].{field}"]
    assert errors, [str(e) for e in errors_of(doc)]
    assert "9007199254740991" in (errors[0].expected or ""), str(errors[0])
    assert "exactly" in errors[0].message, str(errors[0])


def test_slider_at_the_largest_bounds_is_accepted() -> None:
    doc = copy.deepcopy(BASE)
    doc["preferences"][1].update({"min": -SAFE, "max": SAFE, "step": 1, "default": SAFE, "stops": []})
    slider = load(doc).get("level")
    assert (slider.min, slider.max, slider.default) == (-SAFE, SAFE, SAFE)


def test_a_float_step_finer_than_floats_is_refused_rather_than_overflowing() -> None:
    doc = copy.deepcopy(BASE)
    doc["preferences"][1].update({"min": 0.0, "max": 1.0, "step": 5e-324, "default": 0.0, "stops": []})
    errors = {e.path: e for e in errors_of(doc)}
    assert "finer than numbers near 1.0 can be told apart" in errors["preferences[1].step"].message
    doc["preferences"][1].update({"min": 0.0, "max": 2.0**52, "step": 0.5, "default": 0.0})
    assert "a step of at least 1.0" in errors_of(doc)[0].expected
    doc["preferences"][1].update({"min": -float(SAFE), "max": float(SAFE), "step": 1.0, "default": 0.0})
    assert load(doc).get("level").effective_page_step == round(2 * SAFE / 10)
    doc["preferences"][1].update({"min": -SAFE, "max": SAFE, "step": 1, "default": 0})  # integers: exact
    assert load(doc).get("level").effective_page_step == round(2 * SAFE / 10)


@pytest.mark.parametrize(("field", "value", "path", "message"), [
    ("default", 0.25000000000000006, "default", "not on a step"),
    ("page_step", 0.15000000000000002, "page_step", "whole number of steps"),
    ("max", 1.0000000000000002, "step", "does not divide the range"),
    ("stops", [{"value": 0.30000000000000004, "label": {"pl": "T", "en": "T"}}], "stops[0].value",
     "not on a step"),
])
def test_a_float_slider_value_within_float_tolerance_of_a_step_is_off_it(field, value, path, message) -> None:
    # Registry values are judged like request values: on a step exactly, in their shortest decimal form.
    doc = copy.deepcopy(BASE)
    doc["preferences"][1].update({"min": 0.0, "max": 1.0, "step": 0.05, "default": 0.25, "stops": []})
    assert load(doc).get("level").effective_page_step == 0.1  # a tenth of the range, written exactly
    doc["preferences"][1][field] = value
    errors = {e.path: e for e in errors_of(doc)}
    assert message in errors[f"preferences[1].{path}"].message, [str(e) for e in errors.values()]


def test_a_float_grid_whose_values_a_float_cannot_hold_exactly_is_refused() -> None:
    # 0.3 steps up to 1.5e15: floats there are 0.25 apart, so 1499999999999999.7 (on a step) would be stored
    # as a float whose shortest form is another number. Each step is at least a float apart, so only the
    # new rule catches it.
    doc = copy.deepcopy(BASE)
    doc["preferences"][1].update({"min": 0.0, "max": 1.5e15, "step": 0.3, "default": 0.0, "stops": []})
    errors = {e.path: e for e in errors_of(doc)}
    issue = errors["preferences[1].step"]
    assert "cannot hold every step exactly" in issue.message, str(issue)
    assert issue.expected == "|min| and |max| below 562949953421312.0 for values in multiples of 0.1", \
        str(issue)
    doc["preferences"][1].update({"max": 3e14})  # below 2**49: every tenth is a float of its own
    assert load(doc).get("level").max == 3e14
