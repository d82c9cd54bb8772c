"""The merchant studio in real Chromium: the issue's flow end to end, axe-core on every studio page, and the
editor by keyboard alone.

A real BFF (uvicorn in a thread, the app ``prefkit serve`` builds), a real SQLite file, a registry file on
disk with the merchant's comments, a shopper's preference center open in another browser context."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from bff.app import create_app
from e2e.pages.studio import StudioPage

try:
    from _bff_app import ADMIN_KEY, REGISTRY_TOML, WRITE, ThreadedServer, make_settings
    from _browser import launched_chromium
except ImportError:  # tests/ not on sys.path
    from tests._bff_app import ADMIN_KEY, REGISTRY_TOML, WRITE, ThreadedServer, make_settings
    from tests._browser import launched_chromium

pytestmark = pytest.mark.browser

THEMES = ("default", "dark", "high-contrast")
COMMENT = "# Our shop's registry: keep this comment!"
SEEDED = 3
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"
"""Where the README's studio screenshots come from (written by the flow below, like the center's)."""


@dataclass
class Server:
    url: str
    registry: Path


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[Server]:
    registry = tmp_path / "registry.toml"
    registry.write_text(f"{COMMENT}\n{REGISTRY_TOML}", encoding="utf-8")
    settings = make_settings(registry, f"sqlite:///{tmp_path / 'prefkit.db'}")
    with ThreadedServer(create_app(settings)) as uv:
        yield Server(uv.url, registry)


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Browser]:
    with launched_chromium(chromium_path) as browser:
        yield browser


def _new_page(browser: Browser) -> Page:
    return browser.new_context(viewport={"width": 1100, "height": 900}).new_page()


def _seed_consents(base: str, count: int) -> None:
    """``count`` shoppers grant the newsletter through the public API (each their own cookie)."""
    for _ in range(count):
        with httpx.Client(base_url=base) as shopper:
            assert shopper.put("/api/v1/preferences/newsletter", json={"value": True}, headers=WRITE).status_code == 200


def _axe(page: Page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    result = Axe().run(page, options={"runOnly": {"type": "tag", "values": [
        "wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}, "resultTypes": ["violations"]})
    return [f"{v['id']}: {v['help']} -> {v['nodes'][0]['target']}" for v in result.response["violations"]]


def test_a_merchant_adds_a_slider_previews_publishes_edits_wording_and_rolls_back(
        server: Server, browser: Browser) -> None:
    _seed_consents(server.url, SEEDED)
    shopper = _new_page(browser)
    shopper.goto(f"{server.url}/demo/preferences?locale=en")
    center = shopper.get_by_role("region", name="Privacy and personalization")
    newsletter = center.get_by_role("switch", name="Newsletter EN")
    expect(newsletter).to_be_visible()
    banner = shopper.get_by_role("dialog")  # the first visit's banner: answered by keyboard, "reject all"
    expect(banner).to_be_visible()
    banner.get_by_role("button", name=re.compile("Reject all", re.I)).press("Enter")
    expect(banner).to_be_hidden()
    newsletter.press("Space")
    expect(newsletter).to_have_attribute("aria-checked", "true")

    merchant = _new_page(browser)
    studio = StudioPage(merchant, server.url)
    studio.login(ADMIN_KEY)
    original = studio.versions()[0]
    index = studio.add_type("slider")
    card = f"preferences[{index}]"
    studio.type_into(f"{card}.key", "comfort")
    studio.type_into(f"{card}.title.pl", "Wygoda dostawy")
    studio.type_into(f"{card}.title.en", "Delivery comfort")
    # min = max = 0 as seeded: the error sits on `max`, and publishing waits.
    expect(studio.error(f"{card}.max")).to_contain_text("max must be greater than min")
    expect(studio.field(f"{card}.max")).to_have_attribute("aria-invalid", "true")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    box = merchant.evaluate(
        """([card, end]) => { const a = document.getElementById(card).getBoundingClientRect();
           const b = document.querySelector(`[data-field="${end}"]`).getBoundingClientRect();
           return {x: a.left + scrollX, y: a.top + scrollY, width: a.width, height: b.bottom - a.top + 8}; }""",
        [card, f"{card}.default"])
    merchant.screenshot(path=str(ARTIFACTS / "studio-editor.png"), full_page=True, animations="disabled", clip=box)
    studio.open_impact()
    expect(merchant.get_by_role("button", name="Publish")).to_be_disabled()
    studio.open_editor()
    studio.type_into(f"{card}.max", "4")
    expect(studio.error(f"{card}.max")).to_be_hidden()
    studio.wait_valid()

    for locale, title in (("pl", "Wygoda dostawy"), ("en", "Delivery comfort")):
        for theme in THEMES:
            root = studio.open_preview(locale=locale, theme=theme)
            slider = root.get_by_role("slider", name=title)
            expect(slider).to_be_visible()
            slider.press("ArrowRight")  # operable, and on the throwaway store only
            expect(slider).to_have_attribute("aria-valuenow", "1")

    studio.publish()
    # The shopper's center, open the whole time, shows the new slider without a reload.
    expect(center.get_by_role("slider", name="Delivery comfort")).to_be_visible()
    expect(center.get_by_role("slider", name="Delivery comfort")).to_have_attribute("aria-valuenow", "0")

    studio.open_editor()
    studio.type_into("preferences[0].title.en", "Marketing e-mails")
    studio.wait_valid()
    assert studio.stale_count("newsletter") == SEEDED + 1
    expect(merchant.locator("#stale-summary")).to_contain_text(
        f"This edit asks {SEEDED + 1} shoppers to confirm Marketing e-mails again.")
    merchant.locator("main").screenshot(path=str(ARTIFACTS / "studio-impact.png"), animations="disabled")
    studio.publish()
    expect(center.get_by_text("The wording of this consent has changed since you decided.")).to_be_visible()
    expect(center.get_by_role("button", name="Confirm my choice")).to_be_visible()

    studio.roll_back_to(original)
    expect(center.get_by_role("slider", name="Delivery comfort")).to_have_count(0)
    text = server.registry.read_text(encoding="utf-8")
    assert text.startswith(COMMENT) and "comfort" not in text


def test_every_studio_page_has_no_axe_violations(server: Server, browser: Browser) -> None:
    page = _new_page(browser)
    page.goto(f"{server.url}/studio/login")
    assert _axe(page) == []
    studio = StudioPage(page, server.url)
    studio.login(ADMIN_KEY)
    studio.type_into("preferences[4].max", "0")  # an error on the page is part of what axe sees
    expect(studio.error("preferences[4].max")).to_be_visible()
    for path in ("/", "/raw", "/impact", "/history", "/preview?locale=en&theme=dark", "/?lang=pl"):
        page.goto(studio.url(path))
        page.wait_for_load_state("networkidle")
        assert _axe(page) == [], path


def test_the_editor_works_by_keyboard_alone(server: Server, browser: Browser) -> None:
    page = _new_page(browser)
    page.goto(f"{server.url}/studio/login")
    for _ in range(20):  # Tab to the key field, type, Enter: no mouse
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == "key":
            break
    page.keyboard.type(ADMIN_KEY)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/studio/$"))

    def tab_to(predicate: str, limit: int = 600) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate(f"(() => {{ const e = document.activeElement; return !!e && ({predicate}); }})()"):
                return
        raise AssertionError(f"Tab never reached {predicate}")

    tab_to("e.dataset.path === 'preferences[4].max'")
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("0")
    expect(page.locator('[data-error-for="preferences[4].max"]')).to_be_visible()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("10")
    expect(page.locator('[data-error-for="preferences[4].max"]')).to_be_hidden()
    tab_to("e.id === 'add-kind'")
    page.keyboard.press("End")  # the last kind in the list
    tab_to("e.tagName === 'BUTTON' && /Add type/.test(e.textContent)")
    before = page.locator("section.card.type").count()
    page.keyboard.press("Enter")
    expect(page.locator("section.card.type")).to_have_count(before + 1)


def test_merchant_markup_is_inert_in_the_studio_the_preview_and_the_shop(server: Server, browser: Browser) -> None:
    hostile = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
    dialogs: list[str] = []
    merchant = _new_page(browser)
    merchant.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    studio = StudioPage(merchant, server.url)
    studio.login(ADMIN_KEY)
    studio.type_into("preferences[0].title.en", hostile)
    studio.type_into("shop.privacy_policy_url", "javascript:alert(1)")
    expect(studio.error("shop.privacy_policy_url")).to_be_visible()  # the registry refuses the link itself
    studio.type_into("shop.privacy_policy_url", "")
    studio.wait_valid()
    for path in ("/", "/raw", "/impact"):
        merchant.goto(studio.url(path))
        assert merchant.evaluate("window.__pwned") is None
    root = studio.open_preview(locale="en", theme="default")
    expect(root.get_by_role("switch", name=hostile)).to_be_visible()  # shown as text, exactly as typed
    studio.publish()
    shopper = _new_page(browser)
    shopper.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    shopper.goto(f"{server.url}/demo/preferences?locale=en")
    expect(shopper.get_by_role("switch", name=hostile)).to_be_visible()
    assert shopper.evaluate("window.__pwned") is None and merchant.evaluate("window.__pwned") is None
    assert dialogs == []


def test_the_insights_page_shows_accessible_charts_and_downloads_the_csv_with_the_session(
        server: Server, browser: Browser) -> None:
    _seed_consents(server.url, SEEDED)
    page = browser.new_context(viewport={"width": 1100, "height": 900}, accept_downloads=True).new_page()
    studio = StudioPage(page, server.url)
    studio.login(ADMIN_KEY)
    page.get_by_role("navigation", name="Studio navigation").get_by_role("link", name="Insights").click()
    expect(page.get_by_role("heading", level=1, name="Insights")).to_be_visible()
    # Each chart is an image named by its title and text alternative, with its data table beside it.
    chart = page.get_by_role("img", name=re.compile("Decisions on “newsletter” by how they were given"))
    expect(chart).to_be_visible()
    figure = page.locator("figure", has=chart)
    expect(figure.get_by_role("table")).to_be_visible()
    expect(figure.get_by_role("row", name=re.compile("api: granted"))).to_contain_text("fewer than 10")
    assert _axe(page) == []
    link = page.get_by_role("link", name="Download every number as CSV")
    with page.expect_download() as download:
        link.click()
    exported = Path(download.value.path()).read_text(encoding="utf-8")
    assert exported.startswith("table,key,dimension,cell,value") and "newsletter" in exported
    assert "anon:" not in exported
    page.goto(studio.url("/insights?lang=pl"))
    expect(page.get_by_role("img", name=re.compile("Decyzje dotyczące „newsletter”"))).to_be_visible()
    expect(page.get_by_role("link", name="Pobierz wszystkie liczby jako CSV")).to_be_visible()
    assert _axe(page) == []
