"""Flow 5: the registry file changes while the preference center is open."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from e2e.editor import RegistryEditor
from e2e.registry import PreferenceInfo
from e2e.shopper import Shopper
from e2e.waiting import eventually

pytestmark = [pytest.mark.browser, pytest.mark.prefkit_registry_edit]


def test_registry_change_while_page_is_open(shopper: Shopper, registry_editor: RegistryEditor) -> None:
    """A type added to the registry file appears in the open center without a reload and works; a broken
    edit afterwards is rejected and the page keeps working with the types it had."""
    center = shopper.center().open()
    before = center.registry
    key = f"e2e_hot_{uuid.uuid4().hex[:8]}"
    titles = {locale: f"E2E hot consent {key[-8:]} ({locale})" for locale in before.locales}
    new_version = registry_editor.add_preference({
        "key": key, "kind": "consent", "purpose": "marketing", "mechanism": "opt_in",
        "title": titles, "description": {locale: "Added while the page was open." for locale in before.locales},
    })
    assert new_version != before.version

    added = PreferenceInfo(key=key, kind="consent", title=titles[before.locale], default=False,
                           mechanism="opt_in")
    from e2e.pages.widgets import ConsentToggleWidget

    toggle = ConsentToggleWidget(center.root, added)
    expect(toggle.switch).to_be_visible()  # no reload happened in between
    toggle.expect_checked(False)
    toggle.toggle_with_keyboard()
    toggle.expect_checked(True)
    state = eventually(lambda: shopper.api.preference(key), lambda s: s["value"] is True,
                       what=f"the new type {key!r} to be stored as granted")
    assert state["source"] == "explicit", state

    rejection = registry_editor.add_broken_preference()
    assert rejection, "the broken registry edit was not reported"
    assert registry_editor.version() == new_version, "a broken registry replaced the live one"

    # The page still works with the old types: the new one is still there, an existing one still saves.
    expect(toggle.switch).to_be_visible()
    existing = before.opt_in_consents()[0]
    center.consent(existing.key).toggle_with_keyboard()
    center.consent(existing.key).expect_checked(True)
    eventually(lambda: shopper.api.preference(existing.key), lambda s: s["value"] is True,
               what=f"{existing.key} to be saved after the broken edit")
    expect(center.root.get_by_text("broken", exact=True)).to_have_count(0)
