"""Flow 11: a plain static HTML page (not rendered by the BFF) embeds several widgets with one script tag,
served from another, allowlisted origin (a second local port)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from e2e.pages.sessions import expect_widgets_rendered
from e2e.plugin import ShopperFactory
from e2e.static_host import StaticHost
from e2e.waiting import eventually

pytestmark = pytest.mark.browser


def test_static_host_page_with_several_widgets(static_host: StaticHost, new_shopper: ShopperFactory) -> None:
    shopper = new_shopper()
    shopper.answer_banner_beforehand()
    shopper.page.goto(static_host.url("index.html"))
    registry = shopper.registry(shopper.page.locator("html").get_attribute("lang") or shopper.locale)
    assert urlsplit(shopper.page.url).netloc != urlsplit(shopper.server.base_url).netloc, (
        "not a second origin"
    )

    mounted = expect_widgets_rendered(shopper.page)
    assert mounted >= 3, f"the static host page mounts only {mounted} widget(s); it should show several"

    # Every control the page shows is one of the registry's types, located by role and registry title.
    switches = [
        c
        for c in registry.consents(switchable=True)
        if shopper.page.get_by_role("switch", name=c.title, exact=True).count()
    ]
    assert switches, "no consent switch rendered on the static host page"
    consent = switches[0]
    switch = shopper.page.get_by_role("switch", name=consent.title, exact=True).first
    before = switch.get_attribute("aria-checked") == "true"
    switch.focus()
    shopper.page.keyboard.press("Space")
    expect(switch).to_have_attribute("aria-checked", "false" if before else "true")
    eventually(
        lambda: shopper.api.preference(consent.key),
        lambda s: s["value"] is (not before),
        what=f"the change made on the static host page ({consent.key}) to reach the BFF",
    )

    # A change made elsewhere (the API) shows up in the embedded widget without a reload.
    shopper.api.set_preference(consent.key, before)
    expect(switch).to_have_attribute("aria-checked", "true" if before else "false")

    kinds = {
        "slider": shopper.page.get_by_role("slider").count(),
        "filter": shopper.page.get_by_role("group").count() + shopper.page.get_by_role("radiogroup").count(),
    }
    assert any(kinds.values()), f"the static host page shows only consents: {kinds}"
