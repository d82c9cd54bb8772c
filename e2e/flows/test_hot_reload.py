"""Flow 5: the registry file changes while the preference center is open."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from e2e.editor import RegistryEditor
from e2e.operate import change_by_keyboard, grant_requirements, pick_operable, stored
from e2e.pages.widgets import FilterGroupWidget
from e2e.registry import OptionInfo, PreferenceInfo
from e2e.shopper import Shopper
from e2e.waiting import eventually

pytestmark = [pytest.mark.browser, pytest.mark.prefkit_registry_edit]


def test_registry_change_while_page_is_open(shopper: Shopper, registry_editor: RegistryEditor) -> None:
    """A type added to the registry file appears in the open center without a reload and works; a broken
    edit afterwards is rejected and the page keeps working with the types it had.

    The added type is a filter: a new *consent* would (rightly) reopen the first-visit banner, since the
    shopper has not decided about it yet; that is the banner's business, not this flow's.
    """
    shopper.answer_banner_beforehand()
    center = shopper.center().open()
    before = center.registry
    key = f"e2e_hot_{uuid.uuid4().hex[:8]}"
    title = {locale: f"E2E hot filter {key[-8:]} ({locale})" for locale in before.locales}
    label = {locale: f"E2E option ({locale})" for locale in before.locales}
    new_version = registry_editor.add_preference(
        {
            "key": key,
            "kind": "filter",
            "multiple": True,
            "title": title,
            "description": {locale: "Added while the page was open." for locale in before.locales},
            "options": [{"key": "e2e_option", "label": label}],
        }
    )
    assert new_version != before.version

    added = PreferenceInfo(
        key=key,
        kind="filter",
        title=title[before.locale],
        default=[],
        multiple=True,
        options=(OptionInfo(key="e2e_option", label=label[before.locale]),),
    )
    group = FilterGroupWidget(center.root, added)
    expect(group.group).to_be_visible()  # no reload happened in between
    group.expect_selected("e2e_option", False)
    group.toggle_with_keyboard("e2e_option")
    group.expect_selected("e2e_option", True)
    state = eventually(
        lambda: shopper.api.preference(key),
        lambda s: s["value"] == ["e2e_option"],
        what=f"the new type {key!r} to be stored",
    )
    assert state["source"] == "explicit", state

    rejection = registry_editor.add_broken_preference()
    assert rejection, "the broken registry edit was not reported"
    assert registry_editor.version() == new_version, "a broken registry replaced the live one"

    # The page still works with the types it had: the new one is still there, an existing one still saves
    # (or, in a registry that declares nothing a shopper can change, the new one again).
    expect(group.group).to_be_visible()
    existing = pick_operable(before) or added
    grant_requirements(center, existing, shopper.api)
    current = shopper.api.preference(existing.key)["value"]
    expected = change_by_keyboard(center.root, existing, current, no_choice_label=center.text("no_choice"))
    eventually(
        lambda: shopper.api.preference(existing.key),
        lambda s: stored(existing, s["value"]) == expected,
        what=f"{existing.key} to be saved after the broken edit",
    )
    expect(center.root.get_by_text("broken", exact=True)).to_have_count(0)
