"""Consent flows: first visit and the banner (1), grant and withdraw with history (2), GPC (8)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from components.i18n import kit_text
from e2e.api import PrefkitApi
from e2e.operate import grant_requirements
from e2e.plugin import ShopperFactory
from e2e.registry import RegistryInfo
from e2e.server import PrefkitServer
from e2e.shopper import Shopper
from e2e.waiting import eventually

pytestmark = pytest.mark.browser


def test_first_visit_reject_all(shopper: Shopper) -> None:
    """Flow 1: banner on first visit; "reject all" leaves every opt-in consent off, one ``reject_all``
    ledger entry per switchable consent, and no banner after a reload."""
    registry = shopper.registry()
    switchable = registry.consents(switchable=True)
    if not switchable:
        pytest.skip("the registry under test declares no switchable consent: the banner has nothing to ask")

    listing = shopper.listing()
    listing.open()
    banner = shopper.banner()
    banner.expect_shown()
    banner.reject_all()

    # Decided: ``explicit``, or ``requires-unmet`` for a consent that needs another (refused) consent;
    # either way the decision is stored (``decided_at``).
    state = eventually(
        shopper.api.preferences,
        lambda body: all(
            body["preferences"][c.key]["decided_at"] is not None
            and body["preferences"][c.key]["source"] in {"explicit", "requires-unmet"}
            for c in switchable
        ),
        what="every switchable consent to be recorded as an explicit decision",
    )
    for consent in registry.opt_in_consents():
        assert state["preferences"][consent.key]["value"] is False, state["preferences"][consent.key]

    events = shopper.api.history(registry.locale)
    rejected = [event for event in events if event["method"] == "reject_all"]
    assert sorted(event["key"] for event in rejected) == sorted(c.key for c in switchable), rejected
    assert all(event["new_value"] is False for event in rejected), rejected

    shopper.page.reload()
    banner.expect_gone()


def test_grant_and_withdraw_in_center(shopper: Shopper) -> None:
    """Flow 2: grant a consent, reload, still granted; withdraw with one click, reload, withdrawn; the
    history (UI and API) shows both decisions with timestamps and the wording."""
    registry = shopper.registry()
    consents = registry.consents(switchable=True)
    if not consents:
        pytest.skip("the registry under test declares no switchable consent")
    # One the shopper can switch on directly if there is one (else its requirements are granted first).
    consent = next((c for c in consents if not registry.consents_to_grant(c)), consents[0])
    shopper.answer_banner_beforehand()  # refuses every switchable consent, opt_out ones included
    center = shopper.center().open()
    grant_requirements(center, consent, shopper.api)
    toggle = center.consent(consent.key)
    toggle.expect_checked(False)

    toggle.switch.click()
    toggle.expect_checked(True)
    eventually(
        lambda: shopper.api.preference(consent.key),
        lambda s: s["value"] is True,
        what=f"{consent.key} to be stored as granted",
    )
    center.reload()
    center.consent(consent.key).expect_checked(True)

    center.consent(consent.key).switch.click()  # one click withdraws
    center.consent(consent.key).expect_checked(False)
    eventually(
        lambda: shopper.api.preference(consent.key),
        lambda s: s["value"] is False,
        what=f"{consent.key} to be stored as withdrawn",
    )
    center.reload()
    center.consent(consent.key).expect_checked(False)

    events = [
        e for e in shopper.api.history(center.locale) if e["key"] == consent.key and e["method"] == "ui"
    ]
    assert [e["new_value"] for e in events] == [False, True], (
        f"expected withdraw then grant (newest first): {events}"
    )
    for event in events:
        assert event["created_at"] and event["text_hash"], event
        assert event["title"] == consent.title, event
        assert event["description"] == consent.description, event
    assert events[0]["created_at"] >= events[1]["created_at"], events

    text = center.text
    entries = center.history_entries().filter(has_text=consent.title).filter(has_text=text("method_ui"))
    expect(entries).to_have_count(2)
    expect(entries.nth(0)).to_contain_text(text("history_refused"))
    expect(entries.nth(1)).to_contain_text(text("history_allowed"))
    for index in range(2):
        expect(entries.nth(index)).to_contain_text(re.compile(r"\d{4}-\d{2}-\d{2}.\d{2}:\d{2}"))  # when


def test_gpc_turns_flagged_consents_off(new_shopper: ShopperFactory, prefkit_server: PrefkitServer) -> None:
    """Flow 8: a browser sending ``Sec-GPC: 1`` sees the consents declared ``gpc = true`` off (source
    ``gpc``) even though the shopper granted them earlier without GPC, and is told why."""
    with PrefkitApi(prefkit_server.base_url) as anonymous:  # before a GPC browser is launched for nothing
        if not any(c.gpc for c in RegistryInfo.from_view(anonymous.registry()).consents(switchable=True)):
            pytest.skip("the registry under test declares no consent with gpc = true")
    shopper = new_shopper(gpc=True)
    registry = shopper.registry()
    flagged = [c for c in registry.consents(switchable=True) if c.gpc]
    # Earlier, from a browser without GPC, the same shopper (same cookie) accepted everything.
    with PrefkitApi(shopper.server.base_url, shopper.context) as without_gpc:
        without_gpc.accept_all()
        assert all(without_gpc.preference(c.key)["value"] is True for c in flagged)

    center = shopper.center().open()
    assert shopper.page.evaluate("navigator.globalPrivacyControl") is True, "the browser does not send GPC"
    for consent in flagged:
        center.consent(consent.key).expect_checked(False)
        state = shopper.api.preference(consent.key)
        assert state["value"] is False and state["source"] == "gpc", state
    for consent in (c for c in registry.consents(switchable=True) if not c.gpc):
        center.consent(consent.key).expect_checked(True)

    notice = kit_text(center.locale)("gpc_notice")  # the locale's own, else the English fallback
    assert notice and notice != "gpc_notice", (
        "the kit has no GPC notice text (components.i18n has no 'gpc_notice'): the preference center "
        "does not tell the shopper that their browser's privacy signal switched consents off"
    )
    for consent in flagged:
        expect(center.consent(consent.key).switch).to_have_accessible_description(
            re.compile(re.escape(notice[:20]))
        )
