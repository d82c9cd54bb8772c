"""Flow: the merchant studio edits the registry under test while a shopper's preference center is open.

The merchant signs in with the admin key, adds a slider with a title in every locale of the shop, sees the
error pinned to ``max`` (a new slider starts with ``min = max = 0``), fixes it, previews the draft with the
real components in every theme and locale, publishes; the shopper's open center shows the slider without a
reload. When the registry has a switchable consent the shopper granted, a wording edit of it counts the
shopper among the stale decisions, and after publishing the center asks to confirm again. A rollback to
the version the flow started from removes it all again; a TOML file keeps its comments throughout.

Needs the admin key and a registry the flow may change (the plugin's self-started server).
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Browser, expect

from e2e.pages.studio import StudioPage
from e2e.server import PrefkitServer
from e2e.shopper import Shopper

pytestmark = [pytest.mark.browser, pytest.mark.prefkit_registry_edit]

THEMES = ("default", "dark", "high-contrast")


def _comments(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith("#")]


def test_a_merchant_publishes_a_slider_and_rolls_it_back(
        shopper: Shopper, prefkit_server: PrefkitServer, browser: Browser) -> None:
    if not prefkit_server.admin_key or not prefkit_server.registry_writable or prefkit_server.registry_path is None:
        pytest.skip("needs the admin key and a registry file the flow may change (self-started server)")
    import httpx

    if httpx.get(prefkit_server.url("/studio/login"), timeout=15).status_code == 404:
        pytest.skip("the server under test has no studio (StudioPlugin not in its plugins)")
    before_text = prefkit_server.registry_path.read_text(encoding="utf-8")
    registry = shopper.registry()
    consent = next((p for p in registry.preferences if p.kind == "consent" and p.switchable and not p.requires), None)
    if consent is not None:
        shopper.api.set_preference(consent.key, True)
    shopper.answer_banner_beforehand()
    center = shopper.center().open()

    context = browser.new_context(viewport={"width": 1100, "height": 900})
    try:
        studio = StudioPage(context.new_page(), prefkit_server.base_url)
        studio.login(prefkit_server.admin_key)
        start = studio.versions()[0]
        index = studio.add_type("slider")
        card = f"preferences[{index}]"
        key = f"e2e_studio_{uuid.uuid4().hex[:8]}"
        titles = {locale: f"E2E studio slider ({locale})" for locale in registry.locales}
        studio.type_into(f"{card}.key", key)
        for locale, title in titles.items():
            studio.type_into(f"{card}.title.{locale}", title)
        expect(studio.error(f"{card}.max")).to_contain_text("max must be greater than min")
        studio.type_into(f"{card}.max", "4")
        expect(studio.error(f"{card}.max")).to_be_hidden()
        studio.wait_valid()
        for locale, title in titles.items():
            for theme in THEMES:
                root = studio.open_preview(locale=locale, theme=theme)
                slider = root.get_by_role("slider", name=title)
                slider.press("ArrowRight")  # the preview is operable (and writes nowhere)
                expect(slider).to_have_attribute("aria-valuenow", "1")
        studio.publish()
        expect(center.root.get_by_role("slider", name=titles[center.registry.locale])).to_be_visible()

        if consent is not None:
            studio.open_editor()
            position = [p.get("key") for p in _draft_types(studio)].index(consent.key)
            studio.type_into(f"preferences[{position}].title.{registry.default_locale or registry.locale}",
                             f"E2E reworded {key[-8:]}")
            studio.wait_valid()
            assert studio.stale_count(consent.key) >= 1  # this shopper's grant, at least
            studio.publish()
            expect(center.root.get_by_role("button", name=re.compile(center.text("confirm_again")))).to_be_visible()

        studio.roll_back_to(start)
        expect(center.root.get_by_role("slider", name=titles[center.registry.locale])).to_have_count(0)
        after_text = prefkit_server.registry_path.read_text(encoding="utf-8")
        if prefkit_server.registry_path.suffix == ".toml":
            assert _comments(after_text) == _comments(before_text)
    finally:
        context.close()


def _draft_types(studio: StudioPage) -> list[dict[str, object]]:
    """The draft's types as the studio holds them (``GET /studio/api/draft``, the same session)."""
    import tomllib

    response = studio.page.request.get(studio.url("/api/draft"))
    body = response.json()
    assert body["format"] == "toml", "the flow reads TOML drafts"
    return list(tomllib.loads(body["text"]).get("preferences", []))
