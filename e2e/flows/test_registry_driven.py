"""Registry-driven flows: one test per preference type declared in the registry under test.

For each type: operate its control by keyboard in the preference center, reload, and check the choice
persisted in the UI, in ``GET /api/v1/preferences/{key}`` and as a ``ui`` entry in the subject's ledger.
A merchant's new preference type is covered without writing a test.
"""

from __future__ import annotations

import pytest

from e2e.operate import change_by_keyboard, expect_ui_value, grant_requirements, stored
from e2e.registry import PreferenceInfo
from e2e.shopper import Shopper
from e2e.waiting import eventually

pytestmark = pytest.mark.browser


def test_preference_by_keyboard_persists(shopper: Shopper, prefkit_preference: PreferenceInfo) -> None:
    pref = prefkit_preference
    shopper.answer_banner_beforehand()
    center = shopper.center().open()

    if not pref.operable:
        # notice_only: shown as information, never a switch, and the API refuses to change it.
        center.control(pref.key).expect_read_only()
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

    grant_requirements(center, pref, shopper.api)
    current = shopper.api.preference(pref.key)["value"]
    expected = change_by_keyboard(center.root, pref, current, no_choice_label=center.text("no_choice"))

    state = eventually(
        lambda: shopper.api.preference(pref.key),
        lambda state: stored(pref, state["value"]) == expected,
        what=f"GET /api/v1/preferences/{pref.key} to return the value set in the UI ({expected!r})",
    )
    assert state["source"] == "explicit", state
    assert state["in_effect"] is True, state

    center.reload()
    expect_ui_value(center.root, pref, expected)
    after_reload = shopper.api.preference(pref.key)
    assert stored(pref, after_reload["value"]) == expected, after_reload

    events = [event for event in shopper.api.history(center.locale) if event["key"] == pref.key]
    assert events, f"no ledger entry for {pref.key!r} after changing it in the UI"
    latest = events[0]  # newest first
    assert stored(pref, latest["new_value"]) == expected, latest
    assert latest["method"] == "ui", latest
    assert latest["registry_version"] == center.registry.version, latest
    assert latest["title"] == pref.title, f"the ledger must show the wording the shopper saw: {latest}"
    assert latest["created_at"], latest
