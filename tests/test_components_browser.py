"""The components in a real Chromium, served by the real BFF (uvicorn, websockets, SQLite, live registry).

Host pages are plain static files on a second port (another origin, allowed by the BFF), exactly like a
shop embedding prefkit with one script tag. Each test gets a fresh browser context: a new shopper.
Controls are reached and operated with the keyboard only, unless the test is about the pointer.
"""

from __future__ import annotations

import http.server
import json
import re
import shutil
import socket
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from bff.app import create_app
from e2e.waiting import wait_until

try:
    from _bff_app import WRITE, ThreadedServer, make_settings
    from _browser import launch_gpc_chromium, launched_chromium
except ImportError:  # tests/ not on sys.path (e.g. --import-mode=importlib)
    from tests._bff_app import WRITE, ThreadedServer, make_settings
    from tests._browser import launched_chromium

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parent.parent
DEMO_REGISTRY = REPO / "examples" / "demo-shop.toml"
STATIC_HOST_PAGE = REPO / "examples" / "static-host" / "index.html"
ARTIFACTS = REPO / "artifacts" / "screenshots"
EXAMPLE_BFF = "http://localhost:8000"  # the BFF URL written in examples/static-host/index.html
THEMES = ("default", "dark", "high-contrast")

# The demo registry plus one single-choice filter (radio group) in its own section.
EXTRA_TYPES = """
[[sections]]
key = "delivery"
order = 5
title = { pl = "Dostawa", en = "Delivery" }

[[preferences]]
key = "delivery_speed"
kind = "filter"
section = "delivery"
title = { pl = "Szybkość dostawy", en = "Delivery speed" }
options = [
  { key = "express", label = { pl = "Ekspresowa", en = "Express" } },
  { key = "standard", label = { pl = "Standardowa", en = "Standard" } },
]
"""


# --- servers ------------------------------------------------------------------------------------------
class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class StaticHost:
    """A plain static file server on its own port: the shop page, not rendered by the BFF."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), partial(_QuietHandler, directory=str(directory))
        )
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass
class Env:
    bff: str
    host: StaticHost
    registry: Path
    original_registry: str

    def page_url(self, name: str) -> str:
        return f"{self.host.origin}/{name}"

    def write_page(
        self, name: str, *mounts: str, lang: str = "en", tall: bool = False, bff: str | None = None
    ) -> str:
        """A host page with the one script tag (of ``bff``, default: this module's BFF) and the given mount
        points; returns its URL."""
        spacer = '<div style="height: 150vh" aria-hidden="true"></div>' if tall else ""
        html = f"""<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{name}</title>
<script type="module" src="{bff or self.bff}/_prefkit/prefkit.js"></script></head>
<body><main><h1>Shop</h1>{"".join(mounts)}{spacer}</main></body></html>"""
        (self.host.directory / name).write_text(html, encoding="utf-8")
        return self.page_url(name)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    yield from _serve(tmp_path_factory, "shop.toml", DEMO_REGISTRY.read_text(encoding="utf-8") + EXTRA_TYPES)


def _serve(tmp_path_factory: pytest.TempPathFactory, registry_name: str, original: str) -> Iterator[Env]:
    """A BFF on its own port serving the registry ``original`` (written as ``registry_name``), and a host."""
    registry_dir = tmp_path_factory.mktemp("registry")
    registry = registry_dir / registry_name
    registry.write_text(original, encoding="utf-8")
    database = tmp_path_factory.mktemp("db") / "prefkit.db"
    host = StaticHost(tmp_path_factory.mktemp("shop"))

    settings = make_settings(registry, f"sqlite:///{database}", allowed_origins=(host.origin,))
    with ThreadedServer(create_app(settings)) as server:
        yield Env(bff=server.url, host=host, registry=registry, original_registry=original)
    host.stop()


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Browser]:
    with launched_chromium(chromium_path) as browser:
        yield browser


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1000, "height": 800})
    yield context
    context.close()


# --- helpers ---------------------------------------------------------------------------------------------
def mount(widget: str, **props: str) -> str:
    attrs = "".join(f' data-{name.replace("_", "-")}="{value}"' for name, value in props.items())
    return f'<div data-prefkit-widget="{widget}"{attrs}>Loading…</div>'


def prime_identity(context: BrowserContext, env: Env) -> None:
    """Give the shopper their identity cookie before a page with several widgets opens.

    prefkit.js does this itself (one request before any widget connects, see
    test_first_visit_widgets_share_one_shopper); tests that also call the API before the page opens use
    this to be independent of that ordering.
    """
    response = context.request.get(f"{env.bff}/api/v1/preferences")
    assert response.ok and "prefkit_sid" in {c["name"] for c in context.cookies()}


def open_page(context: BrowserContext, url: str, widgets: int = 1) -> Page:
    page = context.new_page()
    page.goto(url)
    wait_loaded(page, widgets)
    return page


def wait_loaded(page: Page, widgets: int = 1) -> None:
    """Every widget root rendered and its values loaded (``data-state`` loses ``loading``), and every mount
    point's placeholder gone (prefkit.js replaces it on first render)."""
    expect(page.locator("[data-prefkit-root]")).to_have_count(widgets)
    expect(page.locator("[data-prefkit-root][data-state~=loading]")).to_have_count(0)
    expect(page.locator("[data-prefkit-widget]", has_text="Loading…")).to_have_count(0)


def is_focused(locator: Locator) -> bool:
    return bool(locator.evaluate("element => element === document.activeElement"))


def tab_to(page: Page, target: Locator, *, limit: int = 60, backwards: bool = False) -> None:
    """Press Tab (or Shift+Tab) until ``target`` has focus: keyboard-only navigation."""
    for _ in range(limit):
        if is_focused(target):
            return
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
    raise AssertionError(f"could not reach {target} with the keyboard in {limit} presses")


def described_text(page: Page, element: Locator) -> list[str]:
    ids = (element.get_attribute("aria-describedby") or "").split()
    return [page.locator(f"[id='{i}']").inner_text().strip() for i in ids]


def labelled_text(page: Page, element: Locator) -> str:
    return page.locator(f"[id='{element.get_attribute('aria-labelledby')}']").inner_text().strip()


def api_preferences(context: BrowserContext, env: Env) -> dict[str, Any]:
    """The subject's stored state through the HTTP API, with the browser's own cookie."""
    response = context.request.get(f"{env.bff}/api/v1/preferences")
    assert response.ok, response.text()
    return response.json()["preferences"]


def api_patch(context: BrowserContext, env: Env, changes: dict[str, Any]) -> None:
    response = context.request.patch(f"{env.bff}/api/v1/preferences", data=changes, headers=WRITE)
    assert response.ok, response.text()


# --- ConsentToggle ---------------------------------------------------------------------------------------
def test_consent_toggle_keyboard_aria_and_persistence(env: Env, context: BrowserContext) -> None:
    url = env.write_page("toggle.html", mount("consent-toggle", key="marketing_email", locale="en"))
    page = open_page(context, url)
    switch = page.get_by_role("switch", name="Marketing e-mails")
    expect(switch).to_have_attribute("aria-checked", "false")  # opt-in: never pre-ticked
    assert labelled_text(page, switch) == "Marketing e-mails"
    assert described_text(page, switch) == [
        "News and offers once a week.\nWhat we use: e-mail address, purchase history\n"
        "What you get: Offers that fit you."
    ]
    widget = page.locator("[data-part=consent][data-key=marketing_email]")
    expect(widget).to_contain_text("What we use")
    expect(widget).to_contain_text("e-mail address")
    expect(widget).to_contain_text("What you get")
    expect(widget).to_contain_text("Offers that fit you.")

    tab_to(page, switch)
    page.keyboard.press("Space")
    expect(switch).to_have_attribute("aria-checked", "true")
    expect(switch).to_have_attribute("data-state", "checked")
    page.keyboard.press("Enter")
    expect(switch).to_have_attribute("aria-checked", "false")
    page.keyboard.press("Space")
    expect(switch).to_have_attribute("aria-checked", "true")
    wait_until(lambda: api_preferences(context, env)["marketing_email"]["value"] is True, "the stored value")
    assert api_preferences(context, env)["marketing_email"]["source"] == "explicit"

    page.reload()
    wait_loaded(page)
    expect(page.get_by_role("switch", name="Marketing e-mails")).to_have_attribute("aria-checked", "true")


def test_notice_only_consent_and_live_update_from_the_api(env: Env, context: BrowserContext) -> None:
    url = env.write_page(
        "notice.html",
        mount("consent-toggle", key="essential_cookies", locale="pl"),
        mount("consent-toggle", key="analytics", locale="pl"),
        lang="pl",
    )
    prime_identity(context, env)
    page = open_page(context, url, widgets=2)
    notice = page.locator("[data-part=consent][data-key=essential_cookies]")
    expect(notice).to_have_attribute("data-state", "notice-only")
    expect(notice).to_contain_text("Zawsze włączone")
    expect(notice.get_by_role("switch")).to_have_count(0)
    analytics = page.get_by_role("switch", name="Statystyki odwiedzin")
    expect(analytics).to_have_attribute("aria-checked", "false")
    api_patch(context, env, {"analytics": True})  # "another tab": the HTTP API, same shopper
    expect(analytics).to_have_attribute("aria-checked", "true")


# --- PreferenceSlider ------------------------------------------------------------------------------------
def test_slider_disabled_with_reason_then_keyboard_pointer_and_persistence(
    env: Env, context: BrowserContext
) -> None:
    url = env.write_page(
        "slider.html",
        mount("consent-toggle", key="recommendations", locale="en"),
        mount("preference-slider", key="price_vs_sustainability", locale="en"),
        tall=True,
    )
    prime_identity(context, env)
    page = open_page(context, url, widgets=2)
    slider = page.get_by_role("slider", name="Price or sustainability")
    expect(slider).to_have_attribute("aria-disabled", "true")
    reason = "Available after you allow: Personalized recommendations."
    assert reason in described_text(page, slider)
    expect(page.locator("[data-part=requires]")).to_be_visible()
    tab_to(page, slider)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("End")
    expect(slider).to_have_attribute("aria-valuenow", "5")  # disabled: keys change nothing

    # Granting the required consent in the *other* widget enables the slider live.
    toggle = page.get_by_role("switch", name="Personalized recommendations")
    tab_to(page, toggle, backwards=True)
    page.keyboard.press("Space")
    expect(toggle).to_have_attribute("aria-checked", "true")
    expect(slider).not_to_have_attribute("aria-disabled", "true")
    expect(page.locator("[data-part=requires]")).to_have_count(0)

    expect(slider).to_have_attribute("aria-valuemin", "0")
    expect(slider).to_have_attribute("aria-valuemax", "10")
    expect(slider).to_have_attribute("aria-valuetext", "Balanced")
    tab_to(page, slider)
    scroll_before = page.evaluate("window.scrollY")
    for key, expected in [
        ("ArrowRight", "6"),
        ("ArrowUp", "7"),
        ("ArrowLeft", "6"),
        ("ArrowDown", "5"),
        ("PageUp", "7"),
        ("PageDown", "5"),
        ("End", "10"),
        ("Home", "0"),
    ]:
        page.keyboard.press(key)
        expect(slider).to_have_attribute("aria-valuenow", expected)
    expect(slider).to_have_attribute("aria-valuetext", "Price only")
    assert page.evaluate("window.scrollY") == scroll_before  # the keys moved the slider, not the page

    track = page.locator("[data-key=price_vs_sustainability] [data-part=track]")
    box = track.bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.click(box["x"] + box["width"] * 0.3, y)
    expect(slider).to_have_attribute("aria-valuenow", "3")
    page.mouse.move(box["x"] + box["width"] * 0.3, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.9, y, steps=8)
    page.mouse.up()
    expect(slider).to_have_attribute("aria-valuenow", "9")
    wait_until(lambda: api_preferences(context, env)["price_vs_sustainability"]["value"] == 9, "stored 9")

    page.reload()
    wait_loaded(page, 2)
    expect(page.get_by_role("slider", name="Price or sustainability")).to_have_attribute("aria-valuenow", "9")


# --- FilterGroup -----------------------------------------------------------------------------------------
def test_checkbox_group_with_chips_keyboard_and_persistence(env: Env, context: BrowserContext) -> None:
    url = env.write_page("filter.html", mount("filter-group", key="categories", locale="en", chips="true"))
    api_patch(context, env, {"recommendations": True})  # categories require it
    page = open_page(context, url)
    group = page.get_by_role("group", name="Favourite categories")
    expect(group).to_be_visible()
    shoes, bags = page.get_by_role("checkbox", name="Shoes"), page.get_by_role("checkbox", name="Bags")
    tab_to(page, shoes)
    page.keyboard.press("Space")
    expect(shoes).to_be_checked()
    page.keyboard.press("Tab")
    assert is_focused(bags)
    page.keyboard.press("Space")
    expect(bags).to_be_checked()
    chips = page.locator("[data-part=chip]")
    expect(chips).to_have_count(2)
    remove_shoes = page.get_by_role("button", name="Remove Shoes")
    tab_to(page, remove_shoes)
    page.keyboard.press("Delete")  # one keystroke removes the option
    expect(shoes).not_to_be_checked()
    expect(chips).to_have_count(1)
    expect(page.get_by_role("button", name="Remove Bags")).to_be_focused()  # focus not lost
    wait_until(lambda: api_preferences(context, env)["categories"]["value"] == ["bags"], "stored selection")
    page.reload()
    wait_loaded(page)
    expect(page.get_by_role("checkbox", name="Bags")).to_be_checked()
    expect(page.get_by_role("checkbox", name="Shoes")).not_to_be_checked()


def test_radio_group_keyboard_and_persistence(env: Env, context: BrowserContext) -> None:
    url = env.write_page("radio.html", mount("filter-group", key="delivery_speed", locale="en"))
    page = open_page(context, url)
    group = page.get_by_role("radiogroup", name="Delivery speed")
    none, express = (
        group.get_by_role("radio", name="No preference"),
        group.get_by_role("radio", name="Express"),
    )
    expect(none).to_be_checked()
    tab_to(page, none)
    page.keyboard.press("ArrowDown")  # arrow keys move the selection in a radio group
    expect(express).to_be_checked()
    expect(express).to_be_focused()
    wait_until(lambda: api_preferences(context, env)["delivery_speed"]["value"] == "express", "stored radio")
    page.reload()
    wait_loaded(page)
    expect(page.get_by_role("radio", name="Express")).to_be_checked()


# --- PreferenceCenter ------------------------------------------------------------------------------------
def test_preference_center_bulk_actions_live_region_history(env: Env, context: BrowserContext) -> None:
    url = env.write_page("center-pl.html", mount("preference-center", locale="pl"), lang="pl")
    page = open_page(context, url)
    headings = page.locator("[data-part=section-title]").all_inner_texts()
    assert headings == [
        "Komunikacja",
        "Personalizacja",
        "Filtry produktów",
        "Prywatność i statystyki",
        "Dostawa",
    ]
    status = page.get_by_role("status")
    expect(status).to_have_attribute("aria-live", "polite")
    accept = page.get_by_role("button", name="Zaakceptuj wszystkie")
    reject = page.get_by_role("button", name="Odrzuć wszystkie")
    assert accept.get_attribute("data-part") == reject.get_attribute("data-part") == "bulk-action"
    accept_box, reject_box = accept.bounding_box(), reject.bounding_box()
    assert accept_box and reject_box and accept_box["width"] == reject_box["width"]  # equal prominence
    assert accept_box["height"] == reject_box["height"]

    tab_to(page, accept)
    page.keyboard.press("Enter")
    expect(status).to_have_text("Zapisano")
    switches = page.get_by_role("switch")
    expect(switches).to_have_count(3)
    for index in range(3):
        expect(switches.nth(index)).to_have_attribute("aria-checked", "true")
    history = page.locator("[data-part=history-entry]")
    expect(history).to_have_count(3)
    expect(page.locator("[data-part=history]")).to_contain_text("zaakceptuj wszystkie")

    tab_to(page, reject)
    page.keyboard.press("Enter")
    for index in range(3):
        expect(switches.nth(index)).to_have_attribute("aria-checked", "false")
    expect(history).to_have_count(6)
    expect(page.get_by_role("slider", name="Poziom personalizacji")).to_have_attribute(
        "aria-disabled", "true"
    )
    export = page.get_by_role("link", name="Pobierz moje dane")
    assert export.get_attribute("href") == f"//{env.bff.removeprefix('http://')}/api/v1/me/export"
    stored = api_preferences(context, env)
    assert [stored[k]["value"] for k in ("marketing_email", "recommendations", "analytics")] == [False] * 3

    erase = page.get_by_role("button", name="Usuń moje dane")
    tab_to(page, erase)
    page.keyboard.press("Enter")
    confirm = page.get_by_role("button", name="Tak, usuń")
    expect(confirm).to_be_focused()  # two steps, the second one focused
    expect(page.get_by_role("group", name="Na pewno usunąć wszystko? Tego nie można cofnąć.")).to_be_visible()
    page.keyboard.press("Enter")
    expect(status).to_have_text("Twoje dane zostały usunięte.")
    expect(page.locator("[data-part=history-empty]")).to_have_text("Nie dokonano jeszcze żadnych wyborów.")
    stored = api_preferences(context, env)
    assert {stored[k]["source"] for k in ("marketing_email", "recommendations", "analytics")} == {"default"}


def test_registry_file_change_appears_in_an_open_center(env: Env, context: BrowserContext) -> None:
    url = env.write_page("center-live.html", mount("preference-center", locale="en"))
    page = open_page(context, url)
    expect(page.get_by_role("switch")).to_have_count(3)
    hostile_title = '<b>Gift</b> wrap & <img src=x onerror="window.__pwned=1">'
    added = f"""
[[preferences]]
key = "gift_wrap"
kind = "consent"
purpose = "gifts"
section = "communication"
order = 9
title = {{ pl = "Pakowanie", en = '{hostile_title}' }}
"""
    try:
        env.registry.write_text(env.original_registry + added, encoding="utf-8")
        new_switch = page.locator("[data-part=consent][data-key=gift_wrap] [role=switch]")
        expect(new_switch).to_be_visible(timeout=15_000)
        # Merchant text is text: shown literally, never parsed as HTML.
        expect(page.locator("[data-key=gift_wrap] [data-part=title]")).to_have_text(hostile_title)
        assert page.evaluate("window.__pwned") is None
        tab_to(page, new_switch)
        page.keyboard.press("Space")
        expect(new_switch).to_have_attribute("aria-checked", "true")
        wait_until(
            lambda: api_preferences(context, env).get("gift_wrap", {}).get("value") is True, "new type stored"
        )
    finally:
        env.registry.write_text(env.original_registry, encoding="utf-8")
    expect(page.locator("[data-part=consent][data-key=gift_wrap]")).to_have_count(0, timeout=15_000)


# --- ConsentBanner ---------------------------------------------------------------------------------------
def test_consent_banner_dialog_focus_escape_and_customized_choice(env: Env, context: BrowserContext) -> None:
    url = env.write_page("banner.html", '<a href="#before">before</a>', mount("consent-banner", locale="en"))
    page = open_page(context, url)
    dialog = page.get_by_role("dialog", name="Your privacy choices")
    expect(dialog).to_be_visible()
    expect(dialog).to_have_attribute("aria-modal", "true")
    accept = dialog.get_by_role("button", name="Accept all")
    reject = dialog.get_by_role("button", name="Reject all")
    customize = dialog.get_by_role("button", name="Customize")
    expect(accept).to_be_focused()  # focus moved into the dialog
    page.keyboard.press("Tab")
    expect(reject).to_be_focused()
    page.keyboard.press("Tab")
    expect(customize).to_be_focused()
    page.keyboard.press("Tab")
    expect(accept).to_be_focused()  # trapped: wraps around instead of leaving
    page.keyboard.press("Shift+Tab")
    expect(customize).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_visible()  # no choice, no closing
    expect(reject).to_be_focused()  # Escape leads to the equally easy refusal

    tab_to(page, customize)
    page.keyboard.press("Enter")
    switches = dialog.get_by_role("switch")
    expect(switches).to_have_count(3)
    for index in range(3):
        expect(switches.nth(index)).to_have_attribute("aria-checked", "false")  # nothing pre-ticked
    expect(switches.nth(0)).to_be_focused()
    tab_to(page, dialog.get_by_role("switch", name="Visit statistics"))
    page.keyboard.press("Space")
    save = dialog.get_by_role("button", name="Save my choices")
    tab_to(page, save)
    page.keyboard.press("Enter")
    expect(dialog).to_have_count(0)
    stored = api_preferences(context, env)
    assert {
        k: (stored[k]["value"], stored[k]["source"])
        for k in ("marketing_email", "recommendations", "analytics")
    } == {
        "marketing_email": (False, "explicit"),
        "recommendations": (False, "explicit"),
        "analytics": (True, "explicit"),
    }
    page.reload()
    expect(page.locator("[data-prefkit-root]")).to_have_count(1)
    expect(page.locator("[data-part=banner-root]")).to_have_attribute("data-state", "closed")
    expect(page.get_by_role("dialog")).to_have_count(0)


def test_banner_reject_all_is_one_key_away(env: Env, context: BrowserContext) -> None:
    url = env.write_page("banner-reject.html", mount("consent-banner", locale="pl"), lang="pl")
    page = open_page(context, url)
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("button", name="Zaakceptuj wszystkie")).to_be_focused()
    page.keyboard.press("Escape")
    page.keyboard.press("Enter")
    expect(dialog).to_have_count(0)
    stored = api_preferences(context, env)
    assert [stored[k]["value"] for k in ("marketing_email", "recommendations", "analytics")] == [False] * 3


# --- the static host page from examples/ -------------------------------------------------------------------
def test_static_host_page_embeds_three_widgets_from_another_port(env: Env, context: BrowserContext) -> None:
    html = STATIC_HOST_PAGE.read_text(encoding="utf-8")
    assert len(re.findall(r'data-prefkit-widget="[a-z]', html)) == 3 and html.count("<script") == 1
    (env.host.directory / "static-host.html").write_text(html.replace(EXAMPLE_BFF, env.bff), encoding="utf-8")
    # No priming: a shopper's very first page, three widgets connecting at once.
    page = open_page(context, env.page_url("static-host.html"), widgets=3)
    toggle = page.get_by_role("switch", name="Personalized recommendations")
    slider = page.get_by_role("slider", name="Price or sustainability")
    eco = page.get_by_role("checkbox", name="Eco products only")
    expect(slider).to_have_attribute("aria-disabled", "true")
    tab_to(page, toggle)
    page.keyboard.press("Space")
    expect(slider).not_to_have_attribute("aria-disabled", "true")  # another widget, live
    tab_to(page, slider)
    page.keyboard.press("PageDown")
    expect(slider).to_have_attribute("aria-valuenow", "3")
    tab_to(page, eco)
    page.keyboard.press("Space")
    expect(page.get_by_role("button", name="Remove Eco products only")).to_be_visible()
    wait_until(lambda: api_preferences(context, env)["eco_only"]["value"] == ["eco"], "stored filter")
    page.reload()
    wait_loaded(page, 3)
    expect(page.get_by_role("switch", name="Personalized recommendations")).to_have_attribute(
        "aria-checked", "true"
    )
    expect(page.get_by_role("slider", name="Price or sustainability")).to_have_attribute("aria-valuenow", "3")
    expect(page.get_by_role("checkbox", name="Eco products only")).to_be_checked()


def test_first_visit_widgets_share_one_shopper(env: Env, context: BrowserContext) -> None:
    url = env.write_page(
        "first-visit.html",
        mount("consent-toggle", key="recommendations", locale="en"),
        mount("preference-slider", key="price_vs_sustainability", locale="en"),
    )
    page = open_page(context, url, widgets=2)  # no cookie yet: a shopper's very first page
    page.get_by_role("switch", name="Personalized recommendations").click()
    expect(page.get_by_role("slider", name="Price or sustainability")).not_to_have_attribute(
        "aria-disabled", "true", timeout=3_000
    )


# --- axe-core and screenshots ------------------------------------------------------------------------
def _axe_violations(page: Page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes: {v['nodes'][0]['target']})"
        for v in results.response["violations"]
    ]


@pytest.mark.parametrize("theme", THEMES)
def test_axe_reports_no_violations_on_center_and_banner(
    env: Env, context: BrowserContext, theme: str
) -> None:
    center = open_page(
        context,
        env.write_page(f"axe-center-{theme}.html", mount("preference-center", locale="en", theme=theme)),
    )
    api_patch(context, env, {"marketing_email": True})  # a saved choice: history and a stale-free state
    expect(center.locator("[data-part=history-entry]")).to_have_count(1)
    assert _axe_violations(center) == []
    center.close()
    banner_context = context.browser.new_context() if context.browser else None
    assert banner_context is not None
    try:
        banner = open_page(
            banner_context,
            env.write_page(
                f"axe-banner-{theme}.html", mount("consent-banner", locale="pl", theme=theme), lang="pl"
            ),
        )
        expect(banner.get_by_role("dialog")).to_be_visible()
        assert _axe_violations(banner) == []
        banner.get_by_role("button", name="Dostosuj").click()
        expect(banner.get_by_role("switch")).to_have_count(3)
        assert _axe_violations(banner) == []
    finally:
        banner_context.close()


@pytest.mark.parametrize("locale", ["pl", "en"])
@pytest.mark.parametrize("theme", THEMES)
def test_screenshots_of_the_center_per_theme_and_locale(
    env: Env, context: BrowserContext, theme: str, locale: str
) -> None:
    api_patch(
        context, env, {"recommendations": True, "price_vs_sustainability": 7, "categories": ["shoes", "home"]}
    )
    page = context.new_page()
    page.set_viewport_size({"width": 900, "height": 900})
    page.goto(
        env.write_page(
            f"shot-{theme}-{locale}.html", mount("preference-center", locale=locale, theme=theme), lang=locale
        )
    )
    wait_loaded(page)
    center = page.locator("[data-part=center]")
    expect(page.locator("[data-prefkit-root]")).to_have_attribute("data-prefkit-theme", theme)
    expected = {"default": "rgb(255, 255, 255)", "dark": "rgb(27, 30, 35)", "high-contrast": "rgb(0, 0, 0)"}[
        theme
    ]
    # The theme's stylesheet loads after the attribute is set: wait (bounded) for it to apply, not just link.
    try:
        page.wait_for_function(
            "([el, want]) => getComputedStyle(el).backgroundColor === want",
            arg=[center.element_handle(), expected],
            timeout=10_000,
        )
    except PlaywrightTimeoutError:
        pass  # the assertion below says what was found instead
    background = center.evaluate("el => getComputedStyle(el).backgroundColor")
    assert background == expected  # the theme stylesheet is applied, not just linked
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target = ARTIFACTS / f"preference-center-{theme}-{locale}.png"
    center.screenshot(path=str(target), animations="disabled")
    assert target.stat().st_size > 10_000
    if theme == "default" and locale == "en":
        shutil.copyfile(target, ARTIFACTS / "preference-center.png")


def _granted_earlier_without_gpc(env: Env, browser: Browser) -> Any:
    earlier = browser.new_context()  # the same shopper, earlier, from a browser without GPC
    api_patch(earlier, env, {"marketing_email": True, "analytics": True})
    state = earlier.storage_state()
    earlier.close()
    return state


def _expect_gpc_explained_and_overridable(context: BrowserContext, env: Env, page: Page) -> None:
    switch = page.get_by_role("switch", name="Marketing e-mails")
    expect(switch).to_have_attribute("aria-checked", "false")
    expect(switch).to_have_accessible_description(re.compile("Global Privacy Control"))
    tab_to(page, switch)
    page.keyboard.press("Space")  # the shopper may still choose otherwise, knowingly
    expect(switch).to_have_attribute("aria-checked", "true")
    expect(page.locator("[data-part=gpc-notice]")).to_have_count(0)
    stored = api_preferences(context, env)["marketing_email"]
    assert (stored["value"], stored["source"]) == (True, "explicit")


def test_gpc_prop_switches_flagged_consents_off_and_says_why(env: Env, browser: Browser) -> None:
    context = browser.new_context(storage_state=_granted_earlier_without_gpc(env, browser))
    try:
        url = env.write_page(
            "gpc-prop.html", mount("consent-toggle", key="marketing_email", locale="en", gpc="1")
        )
        page = open_page(context, url)
        _expect_gpc_explained_and_overridable(context, env, page)
    finally:
        context.close()


def test_browser_gpc_reaches_the_widgets(env: Env, browser: Browser, chromium_path: str) -> None:
    state = _granted_earlier_without_gpc(env, browser)
    # Chromium's own GPC: Sec-GPC: 1 on page requests, navigator.globalPrivacyControl === true.
    gpc_browser = launch_gpc_chromium(browser, chromium_path)
    try:
        context = gpc_browser.new_context(storage_state=state)
        page = open_page(
            context, env.write_page("gpc.html", mount("consent-toggle", key="marketing_email", locale="en"))
        )
        assert page.evaluate("navigator.globalPrivacyControl") is True
        _expect_gpc_explained_and_overridable(context, env, page)
    finally:
        gpc_browser.close()


def test_focus_moves_on_when_a_focused_chip_disappears(env: Env, context: BrowserContext) -> None:
    url = env.write_page(
        "chips-live.html",
        mount("filter-group", key="small_brands", locale="en", chips="true"),
        mount("consent-toggle", key="analytics", locale="en"),
    )
    prime_identity(context, env)
    page = open_page(context, url, widgets=2)
    checkbox = page.get_by_role("checkbox", name="Prefer small brands")
    tab_to(page, checkbox)
    page.keyboard.press("Space")
    chip = page.get_by_role("button", name="Remove Prefer small brands")
    expect(chip).to_be_visible()  # the server's answer; Tab before it would skip the chip
    page.keyboard.press("Tab")
    expect(chip).to_be_focused()
    api_patch(context, env, {"small_brands": []})  # unchecked elsewhere while the chip has focus
    expect(chip).to_have_count(0)
    # Not lost to the top of the page: on to the next control, where Tab would have gone.
    expect(page.get_by_role("switch", name="Visit statistics")).to_be_focused()


# --- the placeholder, and widgets that fail ----------------------------------------------------------------
def test_placeholder_is_replaced_on_first_render(env: Env, context: BrowserContext) -> None:
    # It used to stay above every widget forever ("Loading…" beside the rendered widget).
    url = env.write_page(
        "placeholder.html",
        mount("consent-toggle", key="recommendations", locale="en"),
        mount("preference-slider", key="price_vs_sustainability", locale="en"),
        mount("filter-group", key="eco_only", locale="en"),
        mount("preference-center", locale="en"),
        mount("consent-banner", locale="en", modal="false"),
    )
    page = open_page(context, url, widgets=5)
    mounts = page.locator("[data-prefkit-widget]")
    expect(mounts).to_have_count(5)
    for index in range(5):
        expect(mounts.nth(index)).not_to_contain_text("Loading…")
    expect(page.get_by_role("switch", name="Personalized recommendations")).to_have_count(2)  # toggle, center


class RestartableBff:
    """A BFF of its own (real SQLite file, real uvicorn) that a test can stop and start on the same port."""

    def __init__(self, registry: Path, database: Path, origin: str) -> None:
        self.settings = make_settings(registry, f"sqlite:///{database}", allowed_origins=(origin,))
        self.database = database
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server: ThreadedServer | None = None

    def start(self) -> None:
        self.server = ThreadedServer(create_app(self.settings), port=self.port).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop(timeout=15)
            self.server = None

    def rename_table(self, old: str, new: str) -> None:
        """A real storage fault: the table every read needs is gone (a botched migration), then back."""
        with sqlite3.connect(self.database, timeout=10) as connection:
            connection.execute(f"ALTER TABLE {old} RENAME TO {new}")


@pytest.fixture
def own_bff(env: Env, tmp_path: Path) -> Iterator[RestartableBff]:
    registry = tmp_path / "shop.toml"
    registry.write_text(env.original_registry, encoding="utf-8")
    bff = RestartableBff(registry, tmp_path / "prefkit.db", env.host.origin)
    bff.start()
    yield bff
    bff.stop()


def test_unknown_key_shows_an_error_in_the_shoppers_locale(env: Env, context: BrowserContext) -> None:
    # The handshake is refused (404): the mount point says so instead of "Ładowanie…" forever.
    url = env.write_page(
        "unknown-key.html",
        '<div data-prefkit-widget="consent-toggle" data-key="no_such_key" data-locale="pl">'
        "Ładowanie…</div>",
        lang="pl",
    )
    page = context.new_page()
    page.goto(url)
    alert = page.get_by_role("alert")
    expect(alert).to_have_text("Twoje ustawienia są teraz niedostępne.")
    error = page.locator('[data-prefkit-widget] > [data-part="widget-error"][data-state="error"]')
    expect(error).to_have_count(1)
    expect(page.locator("[data-prefkit-widget]")).not_to_contain_text("Ładowanie…")
    expect(page.get_by_role("button", name="Spróbuj ponownie")).to_be_visible()
    assert _axe_violations(page) == []


def test_store_read_failure_shows_an_alert_and_retry_recovers(
    env: Env, own_bff: RestartableBff, context: BrowserContext, caplog: pytest.LogCaptureFixture
) -> None:
    toggle = mount("consent-toggle", key="recommendations", locale="pl")
    url = env.write_page("read-failure.html", toggle, lang="pl", bff=own_bff.url)
    prime = context.request.get(f"{own_bff.url}/api/v1/preferences")  # the tables exist, the cookie too
    assert prime.ok
    own_bff.rename_table("preference_state", "preference_state_away")
    page = context.new_page()
    page.goto(url)
    expect(page.get_by_role("alert")).to_have_text("Nie udało się wczytać Twoich ustawień.")
    expect(page.locator("[data-prefkit-widget]")).not_to_contain_text("Loading…")
    # Logged once, naming the widget and its key, never the shopper (SQL parameters hold the subject id).
    failures = [r for r in caplog.records if "loading preferences failed" in r.getMessage()]
    assert len(failures) == 1 and "ConsentToggle('recommendations')" in failures[0].getMessage()
    assert "anon:" not in caplog.text
    own_bff.rename_table("preference_state_away", "preference_state")
    tab_to(page, page.get_by_role("button", name="Spróbuj ponownie"))
    page.keyboard.press("Enter")
    switch = page.get_by_role("switch", name="Spersonalizowane rekomendacje")
    expect(switch).to_be_visible()
    expect(page.get_by_role("alert")).to_have_count(0)
    switch.press("Space")
    expect(switch).to_have_attribute("aria-checked", "true")


def test_lost_connection_says_so_and_retry_reconnects(
    env: Env, own_bff: RestartableBff, context: BrowserContext
) -> None:
    toggle = mount("consent-toggle", key="recommendations", locale="en")
    url = env.write_page("lost-socket.html", toggle, bff=own_bff.url)
    page = open_page(context, url)
    switch = page.get_by_role("switch", name="Personalized recommendations")
    switch.press("Space")
    expect(switch).to_have_attribute("aria-checked", "true")
    own_bff.stop()  # the server closes every socket; reconnecting fails
    alert = page.get_by_role("alert")
    expect(alert).to_have_text("The connection to your settings was lost.", timeout=15_000)
    expect(switch).to_be_hidden()  # no dead control that looks alive
    own_bff.start()
    page.get_by_role("button", name="Try again").click()
    expect(alert).to_have_count(0)
    switch = page.get_by_role("switch", name="Personalized recommendations")
    expect(switch).to_have_attribute("aria-checked", "true")  # a new session, the stored value
    expect(page.locator("[data-prefkit-widget]")).not_to_contain_text("Loading…")


# --- Merchant texts near the registry's limits ------------------------------------------------------------
MAX_TEXT = 4000  # preference_registry.schema.NonEmptyText
EVENT_FRAME_LIMIT = 2048  # what one click or key press may cost on the wire, whatever the texts


def _near_limit(what: str) -> str:
    """A text of a little under the registry's maximum length, starting with ``what``."""
    filler = " A sentence that a merchant wrote at length."
    return (what + filler * (MAX_TEXT // len(filler)))[: MAX_TEXT - 10]


def _long_registry() -> str:
    def texts(name: str) -> dict[str, Any]:
        return {
            "title": _near_limit(f"{name} title."),
            "description": _near_limit("Description"),
        }

    consent = {
        "key": "long_consent",
        "kind": "consent",
        "purpose": "marketing",
        "mechanism": "opt_in",
        **texts("Long consent"),
        "data_used": [_near_limit("Data one"), _near_limit("Data two")],
        "benefit": _near_limit("Benefit"),
    }
    slider = {
        "key": "long_slider",
        "kind": "slider",
        "min": 0,
        "max": 4,
        "step": 1,
        "default": 2,
        "applies_to": {"rule": "personalization"},
        **texts("Long slider"),
        "data_used": [_near_limit("Slider data")],
        "benefit": _near_limit("Slider benefit"),
    }
    checkboxes = {
        "key": "long_filter",
        "kind": "filter",
        "multiple": True,
        "applies_to": {"attribute": "colour", "rule": "prefer"},
        **texts("Long filter"),
        "options": [
            {"key": "first", "label": _near_limit("First label.")},
            {"key": "second", "label": _near_limit("Second label.")},
        ],
    }
    shop = {"name": "Long texts", "default_locale": "en", "locales": ["en"]}
    return json.dumps({"shop": shop, "preferences": [consent, slider, checkboxes]})


@pytest.fixture(scope="module")
def long_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    yield from _serve(tmp_path_factory, "long.json", _long_registry())


def _record_sent_frames(page: Page) -> list[int]:
    """UTF-8 sizes of every websocket message the page sends from now on."""
    sizes: list[int] = []

    def record(payload: str | bytes) -> None:
        sizes.append(len(payload.encode() if isinstance(payload, str) else payload))

    def watch(socket: Any) -> None:
        socket.on("framesent", record)

    page.on("websocket", watch)
    return sizes


def test_long_merchant_texts_keep_events_small_and_changes_saved(
    long_env: Env, context: BrowserContext
) -> None:
    """Texts near the 4,000-character limit: each click or key press still saves, in a message of a few
    hundred bytes (ReactPy's client serializes the event target with the elements its aria-labelledby /
    aria-describedby point at; with these texts one click was far over the bridge's 64 KB limit,
    and the socket closed with the change lost)."""
    env = long_env
    url = env.write_page(
        "long.html",
        mount("preference-center", locale="en"),
        mount("consent-toggle", key="long_consent", locale="en"),
    )
    prime_identity(context, env)
    page = context.new_page()
    sent = _record_sent_frames(page)
    page.goto(url)
    wait_loaded(page, widgets=2)
    center_switch = page.locator("[data-part=center] [data-key=long_consent] [role=switch]")
    toggle_switch = page.locator("[data-prefkit-widget=consent-toggle] [data-key=long_consent] [role=switch]")
    expect(center_switch).to_have_attribute("aria-checked", "false")

    def stored(key: str) -> Any:
        return api_preferences(context, env)[key]["value"]

    center_switch.click()  # pointer, in the center
    expect(center_switch).to_have_attribute("aria-checked", "true")
    expect(toggle_switch).to_have_attribute("aria-checked", "true")  # the other widget follows the save
    wait_until(lambda: stored("long_consent") is True, "the center's click stored")
    toggle_switch.click()  # pointer, standalone toggle
    expect(toggle_switch).to_have_attribute("aria-checked", "false")
    wait_until(lambda: stored("long_consent") is False, "the toggle's click stored")
    tab_to(page, center_switch)
    page.keyboard.press("Space")  # keyboard, in the center
    expect(center_switch).to_have_attribute("aria-checked", "true")
    wait_until(lambda: stored("long_consent") is True, "the key press stored")

    slider = page.locator("[data-key=long_slider] [role=slider]")
    tab_to(page, slider)
    page.keyboard.press("ArrowRight")
    expect(slider).to_have_attribute("aria-valuenow", "3")
    track = page.locator("[data-key=long_slider] [data-part=track]")
    box = track.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 2, box["y"] + box["height"] / 2)  # pointer on the track: the left end
    expect(slider).to_have_attribute("aria-valuenow", "0")
    wait_until(lambda: stored("long_slider") == 0, "the slider's pointer value stored")

    first = page.locator("[data-key=long_filter] input[value=first]")
    second = page.locator("[data-key=long_filter] input[value=second]")
    first.click()
    expect(first).to_be_checked()
    tab_to(page, second)
    page.keyboard.press("Space")
    expect(second).to_be_checked()
    wait_until(lambda: stored("long_filter") == ["first", "second"], "the checkboxes stored")

    # ARIA unchanged: the switch is still named and described by the long texts.
    assert labelled_text(page, center_switch).startswith("Long consent title.")
    assert described_text(page, center_switch)[0].startswith("Description")
    assert len(sent) >= 8, sent  # every interaction above went over the socket...
    assert max(sent) <= EVENT_FRAME_LIMIT, sorted(sent)[-5:]  # ...each in a small message

    page.reload()
    wait_loaded(page, widgets=2)
    expect(center_switch).to_have_attribute("aria-checked", "true")
    expect(page.locator("[data-key=long_slider] [role=slider]")).to_have_attribute("aria-valuenow", "0")
