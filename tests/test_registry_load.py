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

# The contract example, verbatim, plus the `recommendations` consent it refers to.
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
    assert kinds == {"consent", "slider", "filter"}
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
