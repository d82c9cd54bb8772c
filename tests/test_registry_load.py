"""Loading registries: the contract example, all three formats, versions and text hashes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import tomllib
import yaml

from preference_registry import (
    ConsentMechanism,
    ConsentType,
    FilterType,
    RegistryLoadError,
    SliderType,
    load_file,
    load_registry,
)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# The issue's contract example, verbatim, plus the `recommendations` consent it refers to.
CONTRACT = """
[shop]
name = "Demo Shop"
default_locale = "pl"
locales = ["pl", "en"]
theme = "default"

[[preferences]]
key = "marketing_email"
kind = "consent"
purpose = "marketing"
mechanism = "opt_in"
gpc = true
expires_after_days = 365
section = "communication"
title = { pl = "E-maile marketingowe", en = "Marketing e-mails" }
description = { pl = "Nowości i promocje raz w tygodniu.", en = "News and offers once a week." }
data_used = { pl = ["adres e-mail", "historia zakupów"], en = ["e-mail address", "purchase history"] }
benefit = { pl = "Oferty dopasowane do Ciebie.", en = "Offers that fit you." }

[[preferences]]
key = "personalization_level"
kind = "slider"
min = 0
max = 2
step = 1
default = 1
requires = ["recommendations"]
title = { pl = "Poziom personalizacji", en = "Personalization level" }
stops = [
  { value = 0, label = { pl = "Wyłączona", en = "Off" } },
  { value = 1, label = { pl = "Ograniczona", en = "Limited" } },
  { value = 2, label = { pl = "Pełna", en = "Full" } },
]

[[preferences]]
key = "categories"
kind = "filter"
multiple = true
default = []
applies_to = { attribute = "category", rule = "prefer" }   # rule: "include" = hard filter, "prefer" = ranking boost
title = { pl = "Ulubione kategorie", en = "Favourite categories" }
options = [
  { key = "shoes", label = { pl = "Buty", en = "Shoes" } },
  { key = "bags", label = { pl = "Torby", en = "Bags" } },
]

[[preferences]]
key = "recommendations"
kind = "consent"
purpose = "recommendations"
title = { pl = "Rekomendacje", en = "Recommendations" }
"""


def test_contract_example_loads_with_the_declared_meanings() -> None:
    snapshot = load_registry(CONTRACT, "toml", "contract.toml")
    marketing = snapshot.get("marketing_email")
    assert isinstance(marketing, ConsentType)
    assert marketing.mechanism is ConsentMechanism.OPT_IN and marketing.gpc and marketing.expires_after_days == 365
    assert snapshot.default_value("marketing_email") is False  # opt-in never starts on
    level = snapshot.get("personalization_level")
    assert isinstance(level, SliderType) and (level.min, level.max, level.step, level.default) == (0, 2, 1, 1)
    assert level.requires == ["recommendations"]
    assert snapshot.text(level.stop_for(2).label, "en") == "Full"
    categories = snapshot.get("categories")
    assert isinstance(categories, FilterType) and categories.multiple
    assert categories.applies_to.rule == "prefer" and categories.option_keys == ("shoes", "bags")
    assert snapshot.default_value("categories") == []
    # `communication` is used but not declared: accepted, with a warning naming the place.
    assert [w.path for w in snapshot.warnings] == ["preferences[0].section"]


def test_same_content_in_toml_yaml_and_json_gives_the_same_version(tmp_path: Path) -> None:
    data = tomllib.loads(CONTRACT)
    (tmp_path / "r.toml").write_text(CONTRACT, encoding="utf-8")
    (tmp_path / "r.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    (tmp_path / "r.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    versions = {load_file(str(tmp_path / name)).version for name in ("r.toml", "r.yaml", "r.json")}
    assert len(versions) == 1


@pytest.mark.parametrize("name", ["demo-shop.toml", "demo-shop.yaml", "demo-shop.json"])
def test_shipped_examples_are_valid_and_complete(name: str) -> None:
    snapshot = load_file(str(EXAMPLES / name))
    assert snapshot.warnings == ()  # every text translated in pl and en
    kinds = {pref.kind for pref in snapshot.preferences}
    assert kinds == {"consent", "slider", "filter", "priorities"}
    purposes = {c.purpose for c in snapshot.consents()}
    assert {"marketing", "analytics", "recommendations"} <= purposes
    assert snapshot.get("personalization_level").requires == ["recommendations"]
    assert {"eco_only", "small_brands", "categories", "price_vs_sustainability"} <= {
        p.key for p in snapshot.preferences}


def test_example_formats_agree() -> None:
    versions = {load_file(str(EXAMPLES / n)).version for n in ("demo-shop.toml", "demo-shop.yaml", "demo-shop.json")}
    assert len(versions) == 1


def test_text_hash_changes_only_for_the_reworded_type() -> None:
    before = load_registry(CONTRACT, "toml")
    after = load_registry(CONTRACT.replace("News and offers once a week.", "News and offers every day."), "toml")
    changed = {key for key in before.text_hashes if before.text_hashes[key] != after.text_hashes[key]}
    assert changed == {"marketing_email"}
    assert before.version != after.version


def test_non_text_change_keeps_text_hashes() -> None:
    before = load_registry(CONTRACT, "toml")
    after = load_registry(CONTRACT.replace("expires_after_days = 365", "expires_after_days = 30"), "toml")
    assert before.text_hashes == after.text_hashes and before.version != after.version


def test_display_order_follows_sections_then_order_then_file() -> None:
    text = """
[shop]
name = "S"
[[sections]]
key = "b"
title = "B"
order = 2
[[sections]]
key = "a"
title = "A"
order = 1
[[preferences]]
key = "loose"
kind = "consent"
purpose = "x"
title = "Loose"
[[preferences]]
key = "b1"
kind = "consent"
purpose = "x"
section = "b"
title = "B1"
[[preferences]]
key = "a2"
kind = "consent"
purpose = "x"
section = "a"
order = 2
title = "A2"
[[preferences]]
key = "a1"
kind = "consent"
purpose = "x"
section = "a"
order = 1
title = "A1"
"""
    snapshot = load_registry(text, "toml")
    assert [p.key for p in snapshot.preferences] == ["a1", "a2", "b1", "loose"]
    assert [(s.key if s else None, [p.key for p in prefs]) for s, prefs in snapshot.sections()] == [
        ("a", ["a1", "a2"]), ("b", ["b1"]), (None, ["loose"])]


def test_missing_translation_falls_back_to_default_locale_with_a_warning() -> None:
    text = CONTRACT.replace('title = { pl = "Rekomendacje", en = "Recommendations" }', 'title = { pl = "Rekomendacje" }')
    snapshot = load_registry(text, "toml", "r.toml")
    pref = snapshot.get("recommendations")
    assert snapshot.text(pref.title, "en") == "Rekomendacje"
    warning = next(w for w in snapshot.warnings if w.path.startswith("preferences[3]"))
    assert warning.path == "preferences[3].title.en" and warning.severity == "warning"
    assert "missing `en` translation" in warning.message


def test_plain_string_text_means_default_locale() -> None:
    snapshot = load_registry('[shop]\nname="S"\n[[preferences]]\nkey="a"\nkind="consent"\npurpose="p"\ntitle="Zgoda"\n',
                             "toml")
    assert snapshot.text(snapshot.get("a").title, "en") == "Zgoda"


def test_syntax_errors_name_the_position() -> None:
    with pytest.raises(RegistryLoadError) as toml_error:
        load_registry("[shop\nname = 1", "toml", "bad.toml")
    assert "invalid TOML" in str(toml_error.value) and "line 1" in str(toml_error.value)
    with pytest.raises(RegistryLoadError) as json_error:
        load_registry('{"shop": {"name": "x"},}', "json", "bad.json")
    assert "invalid JSON" in str(json_error.value) and "line 1, column" in str(json_error.value)
    with pytest.raises(RegistryLoadError) as yaml_error:
        load_registry("shop:\n  name: [unclosed\n", "yaml", "bad.yaml")
    assert "invalid YAML" in str(yaml_error.value) and "line" in str(yaml_error.value)


# -- documents that used to crash the loader are listed errors (issue 11, item 5) ---------------------------
HOSTILE_BASE = '[shop]\nname = "S"\ndefault_locale = "en"\nlocales = ["en"]\n'


def _toml_slider(numbers: str) -> str:
    return HOSTILE_BASE + f'\n[[preferences]]\nkey = "s"\nkind = "slider"\ntitle = "T"\n{numbers}\n'


def _yaml_slider(max_: str) -> str:
    return ("shop: {name: S, default_locale: en, locales: [en]}\npreferences:\n"
            f"- {{key: s, kind: slider, title: T, min: 0, max: {max_}, default: 0}}\n")


def _json_slider(max_: str) -> str:
    return ('{"shop": {"name": "S", "default_locale": "en", "locales": ["en"]}, "preferences": [{"key": "s", '
            f'"kind": "slider", "title": "T", "min": 0, "max": {max_}, "default": 0}}]}}')


DEEP = 20_000
CRASHERS = {
    "toml inf": (_toml_slider("min = 0\nmax = inf\ndefault = 0"), "toml", "preferences[0].max", "finite"),
    "toml -inf": (_toml_slider("min = -inf\nmax = 1\ndefault = 0"), "toml", "preferences[0].min", "finite"),
    "toml nan": (_toml_slider("min = 0\nmax = nan\ndefault = 0"), "toml", "preferences[0].max", "finite"),
    "toml 10**400": (_toml_slider(f"min = 0\nmax = {10**400}\ndefault = 0"), "toml", "preferences[0].max",
                     "9007199254740991"),
    "toml order 10**400": (_toml_slider(f"min = 0\nmax = 1\ndefault = 0\norder = {10**400}"), "toml",
                           "preferences[0].order", "9007199254740991"),
    "toml 5000 digits": (_toml_slider(f"min = 0\nmax = 1{'0' * 5000}\ndefault = 0"), "toml", "", "digits"),
    "yaml .inf": (_yaml_slider(".inf"), "yaml", "preferences[0].max", "finite"),
    "yaml .nan": (_yaml_slider(".nan"), "yaml", "preferences[0].max", "finite"),
    "yaml 1e400": (_yaml_slider("1.0e+400"), "yaml", "preferences[0].max", "finite"),
    "yaml 5000 digits": (_yaml_slider("1" + "0" * 5000), "yaml", "", "digits"),
    "json Infinity": (_json_slider("Infinity"), "json", "preferences[0].max", "finite"),
    "json NaN": (_json_slider("NaN"), "json", "preferences[0].max", "finite"),
    "json 10**400": (_json_slider(str(10**400)), "json", "preferences[0].max", "9007199254740991"),
    "json 5000 digits": (_json_slider("1" + "0" * 5000), "json", "", "digits"),
    "json deep": ('{"shop": {"name": "S"}, "x": ' + "[" * DEEP + "]" * DEEP + "}", "json", "", "nest"),
    "yaml deep flow": ("shop: {name: S}\nx: " + "[" * DEEP + "]" * DEEP + "\n", "yaml", "", "nest"),
    "yaml deep block": ("shop: {name: S}\nx:\n  " + "- " * 3000 + "y\n", "yaml", "", "nest"),
    "toml deep": ("x = " + "[" * DEEP + "]" * DEEP + '\n[shop]\nname = "S"\n', "toml", "", "nest"),
    "toml deep tables": ('[shop]\nname = "S"\n[' + ".".join(["a"] * 3000) + "]\n", "toml", ".".join(["a"] * 32),
                         "nest"),
    "json lone surrogate": ('{"shop": {"name": "\\ud800"}}', "json", "shop.name", "surrogate"),
    "json lone surrogate key": ('{"shop": {"name": "S"}, "\\udc00": 1}', "json", "", "surrogate"),
    # LibYAML refuses the escape while parsing, the pure-Python loader yields it and the tree check refuses it.
    "yaml lone surrogate": ('shop: {name: "\\ud800"}\n', "yaml", None, "Unicode"),
    "text lone surrogate": ('[shop]\nname = "S"\n# \ud800\n', "toml", "", "surrogate"),
}


@pytest.mark.parametrize("name", list(CRASHERS))
def test_documents_that_crashed_the_loader_are_precise_listed_errors(name: str) -> None:
    text, fmt, path, fragment = CRASHERS[name]
    with pytest.raises(RegistryLoadError) as info:
        load_registry(text, fmt, source="shop." + fmt)
    errors = info.value.errors
    matching = [e for e in errors if path in (None, e.path) and fragment in str(e)]
    assert matching, [str(e) for e in errors]
    assert all(e.source == "shop." + fmt for e in errors)
    assert len(str(info.value)) < 20_000  # a precise list, not an echo of the document


def test_a_requires_chain_thousands_long_is_checked_without_recursion() -> None:
    chain = "".join(f'\n[[preferences]]\nkey = "c{i}"\nkind = "consent"\npurpose = "p"\ntitle = "T"\n'
                    f'requires = ["c{i + 1}"]\n' for i in range(5000))
    tail = '\n[[preferences]]\nkey = "c5000"\nkind = "consent"\npurpose = "p"\ntitle = "T"\n'
    assert len(load_registry(HOSTILE_BASE + chain + tail, "toml").preferences) == 5001
    cyclic = chain + '\n[[preferences]]\nkey = "c5000"\nkind = "consent"\npurpose = "p"\ntitle = "T"\n' \
        'requires = ["c0"]\n'
    with pytest.raises(RegistryLoadError) as info:
        load_registry(HOSTILE_BASE + cyclic, "toml")
    cycles = [e for e in info.value.errors if "dependency cycle" in e.message]
    assert len(cycles) == 1 and len(cycles[0].got or "") < 2_000  # the cycle is named, not printed in full


def test_yaml_alias_bombs_are_refused_without_expanding_them() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi")
    )
    text = bomb + "shop: {name: S, default_locale: en, locales: [en]}\npreferences:\n" \
        "- {key: s, kind: filter, title: *i, options: [{key: a, label: *i}]}\n"
    with pytest.raises(RegistryLoadError) as info:
        load_registry(text, "yaml")
    assert any("expands to more than" in e.message for e in info.value.errors), info.value
    recursive = "shop: &s {name: S, me: *s}\n"
    with pytest.raises(RegistryLoadError):
        load_registry(recursive, "yaml")


def test_a_huge_document_is_refused_before_parsing() -> None:
    text = HOSTILE_BASE + "# " + "x" * (3 * 1024 * 1024) + "\n"
    with pytest.raises(RegistryLoadError) as info:
        load_registry(text, "toml", source="big.toml")
    issue = info.value.errors[0]
    assert "too large" in issue.message and issue.expected and "MiB" in issue.expected


def test_a_huge_file_is_refused_without_reading_it_whole(tmp_path: Path) -> None:
    path = tmp_path / "big.toml"
    with path.open("w") as handle:
        handle.write(HOSTILE_BASE)
        handle.seek(64 * 1024 * 1024)
        handle.write("\n")
    with pytest.raises(RegistryLoadError) as info:
        load_file(str(path))
    assert "too large" in info.value.errors[0].message


def test_a_file_that_is_not_utf8_is_a_listed_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(HOSTILE_BASE.encode() + b'# caf\xe9\n')
    with pytest.raises(RegistryLoadError) as info:
        load_file(str(path))
    assert "UTF-8" in info.value.errors[0].message


def test_a_refusal_lists_at_most_a_thousand_mistakes_and_counts_the_rest() -> None:
    typos = "".join(f"typo_{i} = 1\n" for i in range(5000))
    with pytest.raises(RegistryLoadError) as info:
        load_registry(HOSTILE_BASE.replace("[shop]\n", "[shop]\n" + typos), "toml", source="typos.toml")
    errors = info.value.errors
    assert len(errors) == 1001 and errors[-1].message == "... and 4000 more errors not listed"
    assert all(e.path.startswith("shop.typo_") for e in errors[:-1])
