"""Registry: a consent's Google Consent Mode mapping (``consent_mode``) is validated with precise paths, and
the page's defaults follow from it (everything denied but what strictly necessary processing grants)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from preference_registry import RegistryLoadError, load_registry
from preference_registry.kinds.consent_mode import (
    GOOGLE_CONSENT_TYPES,
    consent_mode_defaults,
    consent_mode_signals,
)

BASE: dict[str, Any] = {
    "shop": {"name": "S", "default_locale": "en", "locales": ["en"]},
    "preferences": [
        {"key": "necessary", "kind": "consent", "purpose": "necessary", "mechanism": "notice_only",
         "title": "Necessary", "consent_mode": {"grants": ["security_storage", "functionality_storage"]}},
        {"key": "analytics", "kind": "consent", "purpose": "analytics", "title": "Analytics",
         "consent_mode": {"grants": ["analytics_storage"]}},
        {"key": "ads", "kind": "consent", "purpose": "marketing", "title": "Ads", "gpc": True,
         "consent_mode": {"grants": ["ad_storage", "ad_user_data", "ad_personalization"]}},
        {"key": "colors", "kind": "filter", "multiple": True, "default": [], "title": "Colours",
         "options": [{"key": "red", "label": "Red"}]},
    ],
}


def load(doc: dict[str, Any]):
    return load_registry(json.dumps(doc), "json", "shop.json")


def issues(doc: dict[str, Any]) -> list[Any]:
    with pytest.raises(RegistryLoadError) as info:
        load(doc)
    return [issue for issue in info.value.errors if issue.severity == "error"]


def with_mode(index: int, mode: Any, **fields: Any) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    doc["preferences"][index]["consent_mode"] = mode
    doc["preferences"][index].update(fields)
    return doc


def test_a_valid_mapping_loads_and_the_defaults_deny_everything_but_necessary_storage() -> None:
    snapshot = load(BASE)
    defaults = consent_mode_defaults(snapshot.preferences)
    assert [d.command() for d in defaults] == [{
        "ad_storage": "denied", "ad_user_data": "denied", "ad_personalization": "denied",
        "analytics_storage": "denied", "functionality_storage": "granted",
        "personalization_storage": "denied", "security_storage": "granted",
    }]
    assert consent_mode_signals(snapshot.preferences) == {
        "security_storage": ("necessary",), "functionality_storage": ("necessary",),
        "analytics_storage": ("analytics",), "ad_storage": ("ads",), "ad_user_data": ("ads",),
        "ad_personalization": ("ads",),
    }


def test_a_registry_without_a_mapping_gets_no_consent_mode() -> None:
    doc = copy.deepcopy(BASE)
    for pref in doc["preferences"]:
        pref.pop("consent_mode", None)
    snapshot = load(doc)
    assert consent_mode_defaults(snapshot.preferences) == []
    assert consent_mode_signals(snapshot.preferences) == {}


@pytest.mark.parametrize(
    ("mode", "fields", "path", "message", "expected", "got"),
    [
        ({"grants": ["analytics_storage", "analitics_storage"]}, {}, "preferences[1].consent_mode.grants[1]",
         "did you mean `analytics_storage`", "ad_storage | ad_user_data", "'analitics_storage'"),
        ({"grants": ["analytics_storage", "analytics_storage"]}, {}, "preferences[1].consent_mode.grants[1]",
         "listed twice", "each type once", "'analytics_storage'"),
        ({"grants": ["analytics_storage"]}, {"mechanism": "opt_out"}, "preferences[1].consent_mode.grants[0]",
         "would grant `analytics_storage` by default", 'mechanism = "opt_in"', "opt_out"),
        ({"grants": ["ad_storage"]}, {"default": True}, "preferences[1].consent_mode.grants[0]",
         "would grant `ad_storage` by default", 'mechanism = "opt_in"', "default = true"),
        ({"grants": ["analytics_storage"]}, {"mechanism": "notice_only"}, "preferences[1].consent_mode.grants[0]",
         "notice_only consent is always on", "functionality_storage | security_storage", "'analytics_storage'"),
        ({"grants": []}, {}, "preferences[1].consent_mode.grants", "", "", ""),
        ({"grants": ["analytics_storage"], "region": ["de"]}, {}, "preferences[1].consent_mode.region[0]",
         "", "", "'de'"),
        ({"grants": ["analytics_storage"], "wait_for_update": -1}, {}, "preferences[1].consent_mode.wait_for_update",
         "", "", "-1"),
        ({"grants": ["analytics_storage"], "wait": 500}, {}, "preferences[1].consent_mode",
         "unknown field `wait`", "", ""),
    ],
)
def test_each_mistake_in_one_mapping_has_a_precise_issue(mode: Any, fields: dict[str, Any], path: str,
                                                         message: str, expected: str, got: str) -> None:
    found = [issue for issue in issues(with_mode(1, mode, **fields)) if issue.path == path]
    assert found, f"no issue at {path}: {issues(with_mode(1, mode, **fields))}"
    issue = found[0]
    assert message in issue.message
    assert expected in (issue.expected or "")
    assert got in (issue.got or "")


@pytest.mark.parametrize(
    ("ads_mode", "ads_fields", "message", "expected", "got"),
    [
        ({"grants": ["analytics_storage"], "region": ["DE"]}, {}, "different region", "[]", "[DE]"),
        ({"grants": ["analytics_storage"], "wait_for_update": 500}, {}, "different wait_for_update", "none", "500"),
    ],
)
def test_a_type_granted_by_two_consents_in_contradicting_ways_is_refused(
        ads_mode: Any, ads_fields: dict[str, Any], message: str, expected: str, got: str) -> None:
    found = issues(with_mode(2, ads_mode, **ads_fields))
    assert [(i.path, i.expected, i.got) for i in found if message in i.message] == [
        ("preferences[2].consent_mode.grants[0]", expected, got)]
    assert "also granted by preferences[1]" in next(i.message for i in found if message in i.message)


def test_notice_only_and_switchable_consents_cannot_share_a_type() -> None:
    found = issues(with_mode(1, {"grants": ["functionality_storage"]}))
    assert [(i.path, i.expected, i.got) for i in found] == [
        ("preferences[1].consent_mode.grants[0]", "notice_only", "switchable")]


def test_two_consents_granting_a_type_the_same_way_is_fine_and_both_are_needed() -> None:
    snapshot = load(with_mode(2, {"grants": ["ad_storage", "analytics_storage"]}))
    assert consent_mode_signals(snapshot.preferences)["analytics_storage"] == ("analytics", "ads")


def test_region_scoped_types_get_their_own_default_and_leave_the_global_one() -> None:
    doc = with_mode(1, {"grants": ["analytics_storage"], "region": ["DE", "US-CA"], "wait_for_update": 500})
    commands = [d.command() for d in consent_mode_defaults(load(doc).preferences)]
    assert "analytics_storage" not in commands[0]
    assert commands[1] == {"analytics_storage": "denied", "region": ["DE", "US-CA"], "wait_for_update": 500}


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(GOOGLE_CONSENT_TYPES), min_size=1, max_size=7, unique=True))
def test_any_opt_in_mapping_starts_with_nothing_granted_that_needs_consent(grants: list[str]) -> None:
    doc = copy.deepcopy(BASE)
    doc["preferences"] = [{"key": "c", "kind": "consent", "purpose": "p", "title": "C",
                           "consent_mode": {"grants": grants}}]
    commands = consent_mode_defaults(load(doc).preferences)
    assert len(commands) == 1
    assert commands[0].signals == dict.fromkeys(GOOGLE_CONSENT_TYPES, "denied")
