"""Registry-driven flows: one test per preference type declared in the registry under test.

For each type: operate its control by keyboard in the preference center, reload, and check the choice
persisted in the UI, in ``GET /api/v1/preferences/{key}`` and as a ``ui`` entry in the subject's ledger.
A merchant's new preference type is covered without writing a test.
"""

from __future__ import annotations

from typing import Any

import pytest

from e2e.pages.center import PreferenceCenterPage
from e2e.registry import PreferenceInfo
from e2e.shopper import Shopper
from e2e.waiting import eventually

pytestmark = pytest.mark.browser


def _grant_requirements(center: PreferenceCenterPage, pref: PreferenceInfo, shopper: Shopper) -> None:
    """Switch on, by keyboard, every consent ``pref`` requires (so its control is enabled)."""
    for required in pref.requires:
        toggle = center.consent(required)
        toggle.toggle_with_keyboard()
        toggle.expect_checked(True)
        eventually(
            lambda key=required: shopper.api.preference(key),
            lambda state: state["value"] is True,
            what=f"the required consent {required!r} to be stored as granted",
        )


def _operate(center: PreferenceCenterPage, pref: PreferenceInfo, current: Any) -> Any:
    """Change ``pref`` away from its ``current`` value by keyboard; returns the value it must now have."""
    if pref.kind == "consent":
        toggle = center.consent(pref.key)
        toggle.expect_checked(bool(current))
        toggle.toggle_with_keyboard("Space")
        expected = not bool(current)
        toggle.expect_checked(expected)
        return expected
    if pref.kind == "slider":
        assert pref.minimum is not None and pref.maximum is not None and pref.step is not None
        slider = center.slider(pref.key)
        slider.expect_bounds()
        slider.expect_value(pref.default)
        slider.expect_enabled()
        if pref.default + pref.step <= pref.maximum:
            slider.press("ArrowRight")
            slider.expect_value(pref.default + pref.step)
            slider.press("End")
            expected = pref.maximum
        else:
            slider.press("Home")
            expected = pref.minimum
        slider.expect_value(expected)
        return expected
    if pref.kind == "filter":
        group = center.filter_group(pref.key)
        default = set(pref.default or []) if pref.multiple else pref.default
        if pref.multiple:
            group.expect_selection(default)
            choice = next((o.key for o in pref.options if o.key not in default), pref.options[0].key)
            group.toggle_with_keyboard(choice)
            expected_set = default ^ {choice}
            group.expect_selection(expected_set)
            return expected_set
        choice = next(o.key for o in pref.options if o.key != default)
        group.toggle_with_keyboard(choice)
        group.expect_selected(choice)
        return choice
    raise AssertionError(f"unknown preference kind {pref.kind!r} of {pref.key!r}: the kit has no flow for it")


def _stored(pref: PreferenceInfo, value: Any) -> Any:
    """A stored value in the form :func:`_operate` returns (filters with several options as a set)."""
    return set(value or []) if pref.kind == "filter" and pref.multiple else value


def _expect_ui_value(center: PreferenceCenterPage, pref: PreferenceInfo, expected: Any) -> None:
    if pref.kind == "consent":
        center.consent(pref.key).expect_checked(expected)
    elif pref.kind == "slider":
        center.slider(pref.key).expect_value(expected)
    elif pref.multiple:
        center.filter_group(pref.key).expect_selection(expected)
    else:
        center.filter_group(pref.key).expect_selected(expected)


def test_preference_by_keyboard_persists(shopper: Shopper, prefkit_preference: PreferenceInfo) -> None:
    pref = prefkit_preference
    shopper.answer_banner_beforehand()
    center = shopper.center().open()

    if pref.kind == "consent" and not pref.switchable:
        # notice_only: shown as information, never a switch, and the API refuses to change it.
        center.consent(pref.key).expect_notice_only()
        refused = shopper.api.request(
            "PUT", f"preferences/{pref.key}", json={"value": not pref.default}, expect=None
        )
        assert 400 <= refused.status_code < 500, (
            f"changing notice_only {pref.key!r} answered {refused.status_code}"
        )
        assert refused.headers["content-type"].startswith("application/problem+json"), refused.headers
        assert pref.key in refused.text, f"the problem does not name the key: {refused.text}"
        assert all(event["key"] != pref.key for event in shopper.api.history())
        return

    _grant_requirements(center, pref, shopper)
    expected = _operate(center, pref, shopper.api.preference(pref.key)["value"])

    state = eventually(
        lambda: shopper.api.preference(pref.key),
        lambda state: _stored(pref, state["value"]) == expected,
        what=f"GET /api/v1/preferences/{pref.key} to return the value set in the UI ({expected!r})",
    )
    assert state["source"] == "explicit", state
    assert state["in_effect"] is True, state

    center.reload()
    _expect_ui_value(center, pref, expected)
    after_reload = shopper.api.preference(pref.key)
    assert _stored(pref, after_reload["value"]) == expected, after_reload

    events = [event for event in shopper.api.history(center.locale) if event["key"] == pref.key]
    assert events, f"no ledger entry for {pref.key!r} after changing it in the UI"
    latest = events[0]  # newest first
    assert _stored(pref, latest["new_value"]) == expected, latest
    assert latest["method"] == "ui", latest
    assert latest["registry_version"] == center.registry.version, latest
    assert latest["title"] == pref.title, f"the ledger must show the wording the shopper saw: {latest}"
    assert latest["created_at"], latest
