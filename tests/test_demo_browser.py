"""The demo shop's main flows in Debian Chromium against a real ``prefkit serve`` (started with the e2e
package's ``start_prefkit_server``: a subprocess with its own SQLite database, for this module only).

The browser is this module's own (module scope): a session-wide sync Playwright would still be running when
later modules start theirs, which Playwright refuses. Every wait is a condition, never a sleep.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("playwright")
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, expect  # noqa: E402

from _browser import launched_chromium  # noqa: E402
from e2e.server import PrefkitServer, SelfStartedServerConfig, default_registry_path, start_prefkit_server  # noqa: E402

pytestmark = pytest.mark.browser

LIVE_PRODUCTS = "[data-part=live-listing] [data-part=product]"
WRITE = {"X-Prefkit-CSRF": "1"}


@pytest.fixture(scope="module")
def prefkit_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefkitServer]:
    workdir = tmp_path_factory.mktemp("demo-shop")
    config = SelfStartedServerConfig(registry_source=default_registry_path(), workdir=workdir,
                                     log_path=workdir / "server.log")
    with start_prefkit_server(config) as server:
        yield server


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Browser]:
    expect.set_options(timeout=10_000)  # live updates cross two websockets and the database
    with launched_chromium(chromium_path) as instance:
        yield instance


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    tab = context.new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(message.text)

    tab.on("console", on_console)
    tab.on("pageerror", lambda error: problems.append(str(error)))
    yield tab
    # A strict CSP violation, a failed script or a 404 asset all surface as console errors.
    assert problems == [], problems


def open_listing(page: Page, base_url: str, locale: str = "en") -> None:
    page.goto(f"{base_url}/demo/?locale={locale}")
    expect(page.locator(LIVE_PRODUCTS).first).to_be_visible()


def live_ids(page: Page) -> list[str]:
    return page.locator(LIVE_PRODUCTS).evaluate_all("items => items.map(i => i.dataset.productId)")


def api(page: Page, base_url: str, method: str, path: str, body: Any = None) -> Any:
    response = page.request.fetch(f"{base_url}{path}", method=method, data=body, headers=WRITE)
    assert response.ok, response.text()
    return response.json()


def start_shopper(page: Page, base_url: str, choices: dict[str, Any]) -> None:
    """A new shopper on the demo who rejected every consent, then made ``choices`` through the API."""
    page.goto(f"{base_url}/demo/?locale=en")
    api(page, base_url, "POST", "/api/v1/consents/reject-all")
    api(page, base_url, "PATCH", "/api/v1/preferences", choices)


def open_ordered_listing(page: Page, base_url: str) -> list[str]:
    """Recommendations on at level 2, the live listing open and ordered by those choices: its product ids."""
    start_shopper(page, base_url, {"recommendations": True, "personalization_level": 2})
    open_listing(page, base_url)
    expect(page.locator("[data-part=live-listing] [data-part=listing-status]")).to_contain_text(
        "Ordered by your choices")
    return live_ids(page)


def wait_for_order_change(page: Page, before: list[str]) -> list[str]:
    page.wait_for_function(
        """([selector, before]) => {
             const ids = [...document.querySelectorAll(selector)].map(i => i.dataset.productId);
             return ids.length > 0 && ids.join() !== before.join();
           }""", arg=[LIVE_PRODUCTS, before])
    return live_ids(page)


def test_first_visit_banner_reject_all_gives_the_neutral_listing(page: Page, prefkit_server: Any) -> None:
    base = prefkit_server.base_url
    open_listing(page, base)
    banner = page.get_by_role("dialog", name="Your privacy choices")
    expect(banner).to_be_visible()
    banner.get_by_role("button", name="Reject all").click()
    expect(banner).to_be_hidden()

    status = page.locator("[data-part=live-listing] [data-part=listing-status]")
    expect(status).to_contain_text("Neutral order")
    neutral = api(page, base, "GET", "/api/v1/catalog?per_page=24&locale=en")
    assert neutral["personalized"] is False
    assert live_ids(page) == [item["id"] for item in neutral["items"]]
    popularity = [item["popularity"] for item in neutral["items"]]
    assert popularity == sorted(popularity, reverse=True)
    reasons = page.locator("[data-part=live-listing] [data-part=why-this-reason]")
    assert set(reasons.all_text_contents()) == {"Neutral order: most popular first, not personalized"}

    page.reload()  # the refusal is remembered: no banner again, still neutral
    expect(page.locator(LIVE_PRODUCTS).first).to_be_visible()
    expect(page.get_by_role("dialog", name="Your privacy choices")).to_have_count(0)
    history = api(page, base, "GET", "/api/v1/consents/history?locale=en")
    methods = {event["method"] for event in (history["events"] if isinstance(history, dict) else history)}
    assert "reject_all" in methods


def test_recommendations_and_eco_filter_show_only_eco_products_each_explained(
        page: Page, prefkit_server: Any) -> None:
    base = prefkit_server.base_url
    open_listing(page, base)
    page.get_by_role("dialog", name="Your privacy choices").get_by_role("button", name="Reject all").click()
    choices = page.locator("[data-part=choices]")
    recommendations = choices.get_by_role("switch", name=re.compile("Personalized recommendations"))
    recommendations.click()
    expect(recommendations).to_have_attribute("aria-checked", "true")
    status = page.locator("[data-part=live-listing] [data-part=listing-status]")
    expect(status).to_contain_text("Ordered by your choices")

    choices.get_by_role("checkbox", name="Eco products only").check()
    page.wait_for_function(
        """selector => { const items = [...document.querySelectorAll(selector)];
                         return items.length > 0 && items.every(i => i.dataset.eco === 'true'); }""",
        arg=LIVE_PRODUCTS)
    products = page.locator(LIVE_PRODUCTS)
    count = products.count()
    assert count > 0
    for index in range(count):
        why = products.nth(index).locator("[data-part=why-this]")
        assert "Shown because you chose “Eco products only”" in (why.text_content() or "")
    first_why = products.first.locator("[data-part=why-this]")
    first_why.locator("summary").click()
    expect(first_why.get_by_text("Shown because you chose “Eco products only”")).to_be_visible()
    expected = api(page, base, "GET", "/api/v1/catalog?locale=en")
    assert expected["total"] == int(page.locator("[data-part=live-listing] [data-part=listing]")
                                    .get_attribute("data-total") or -1)
    assert all(item["eco_certified"] for item in expected["items"])


def test_moving_the_price_sustainability_slider_by_keyboard_changes_the_order(
        page: Page, prefkit_server: Any) -> None:
    base = prefkit_server.base_url
    balanced = open_ordered_listing(page, base)

    slider = page.get_by_role("slider", name=re.compile("Price or sustainability"))
    slider.focus()
    page.keyboard.press("Home")
    expect(slider).to_have_attribute("aria-valuenow", "0")
    price_first = wait_for_order_change(page, balanced)
    page.keyboard.press("End")
    expect(slider).to_have_attribute("aria-valuenow", "10")
    eco_first = wait_for_order_change(page, price_first)

    catalog = {item["id"]: item for item in api(page, base, "GET", "/api/v1/catalog?per_page=100")["items"]}
    prices = lambda ids: sum(catalog[i]["price"] for i in ids[:8] if i in catalog)  # noqa: E731
    scores = lambda ids: sum(catalog[i]["eco_score"] for i in ids[:8] if i in catalog)  # noqa: E731
    assert prices(price_first) < prices(eco_first)
    assert scores(eco_first) > scores(price_first)
    first = page.locator(LIVE_PRODUCTS).first.locator("[data-part=why-this]")
    assert "more sustainable" in (first.text_content() or "")
    assert api(page, base, "GET", "/api/v1/preferences/price_vs_sustainability")["value"] == 10


def test_switching_locale_translates_page_listing_and_reasons(page: Page, prefkit_server: Any) -> None:
    base = prefkit_server.base_url
    open_listing(page, base, locale="en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Products")
    # The first-visit banner is a modal dialog: it is answered before anything else on the page.
    page.get_by_role("dialog", name="Your privacy choices").get_by_role("button", name="Reject all").click()
    page.get_by_role("navigation", name="Language").get_by_role("link", name="Polski").click()
    expect(page).to_have_url(re.compile(r"locale=pl"))
    expect(page.locator("html")).to_have_attribute("lang", "pl")
    expect(page.get_by_role("heading", level=1)).to_have_text("Produkty")
    expect(page.locator(LIVE_PRODUCTS).first).to_be_visible()
    expect(page.locator("[data-part=live-listing] [data-part=listing-status]")).to_contain_text(
        "Kolejność neutralna")
    expect(page.locator(LIVE_PRODUCTS).first.locator("summary")).to_contain_text("Dlaczego widzę")
    expect(page.locator(LIVE_PRODUCTS).first.locator("[data-part=why-this-reason]")).to_have_text(
        "Kolejność neutralna: najpierw najpopularniejsze, bez personalizacji")
    expect(page.get_by_role("switch", name=re.compile("Spersonalizowane rekomendacje"))).to_be_visible()
    page.get_by_role("navigation", name="Język").get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(LIVE_PRODUCTS).first.locator("summary")).to_contain_text("Why am I seeing")


def test_a_polish_browser_gets_polish_without_asking(browser: Browser, prefkit_server: Any) -> None:
    context = browser.new_context(locale="pl-PL")
    try:
        page = context.new_page()
        page.goto(f"{prefkit_server.base_url}/demo/")
        expect(page.locator("html")).to_have_attribute("lang", "pl")
        banner = page.get_by_role("dialog", name="Twoje wybory dotyczące prywatności")
        expect(banner).to_be_visible()
        banner.get_by_role("button", name="Odrzuć wszystkie").click()
        expect(banner).to_be_hidden()
        expect(page.locator(LIVE_PRODUCTS).first.locator("summary")).to_contain_text("Dlaczego widzę")
    finally:
        context.close()


def test_product_page_and_your_data_page(page: Page, prefkit_server: Any) -> None:
    base = prefkit_server.base_url
    start_shopper(page, base, {"recommendations": True, "eco_only": ["eco"]})
    open_listing(page, base)
    first = page.locator(LIVE_PRODUCTS).first
    name = (first.locator("h2").text_content() or "").strip()
    first.locator("h2 a").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    live_why = page.locator("[data-part=live-why] [data-part=why-this]")
    expect(live_why).to_contain_text("Shown because you chose “Eco products only”")
    api(page, base, "PATCH", "/api/v1/preferences", {"eco_only": []})  # changed elsewhere: the page follows
    expect(live_why).not_to_contain_text("Eco products only")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Your data").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your data")
    history = page.locator("[data-part=history] tbody tr")
    expect(history.first).to_be_visible()
    assert history.count() >= 5  # reject-all (3 consents), recommendations on, eco on, eco off
    recommendations = page.locator("[data-part=history] tbody tr[data-key=recommendations]").first
    expect(recommendations).to_contain_text("We order products by the choices you make here.")
    expect(page.locator("[data-part=current-choices] tr[data-key=recommendations]")).to_contain_text("on")


@pytest.mark.parametrize("path", ["/demo/?locale=pl", "/demo/products/{product}?locale=en",
                                  "/demo/your-data?locale=en", "/demo/preferences?locale=pl"])
def test_demo_pages_pass_axe(page: Page, prefkit_server: Any, path: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    base = prefkit_server.base_url
    start_shopper(page, base, {"recommendations": True, "eco_only": ["eco"]})
    product = api(page, base, "GET", "/api/v1/catalog?per_page=1")["items"][0]["id"]
    page.goto(base + path.format(product=product))
    # Every widget session has rendered: no mount point is empty and none is still loading.
    page.wait_for_function(
        """() => [...document.querySelectorAll('[data-prefkit-widget]')].every(
                 el => el.childElementCount > 0 && !el.querySelector('[data-state~="loading"]'))""")
    violations = Axe().run(page).response["violations"]
    assert violations == [], [(v["id"], v["impact"], [n["target"] for n in v["nodes"][:3]]) for v in violations]


def test_reordering_priorities_by_keyboard_reorders_the_listing_live(page: Page, prefkit_server: Any) -> None:
    """Issue 18: the side panel's priorities control, operated by keyboard only, changes the live listing's
    order at once, and "why am I seeing this" says which place the shopper gave the criterion."""
    base = prefkit_server.base_url
    before = open_ordered_listing(page, base)
    panel = page.locator("[data-part=choices]")

    add_rating = panel.get_by_role("button", name="Add Shopper rating")
    add_rating.focus()
    page.keyboard.press("Enter")
    rating_first = wait_for_order_change(page, before)
    page.keyboard.press("Tab")  # focus stayed on the item (now in the order): on to the next control
    panel.get_by_role("button", name="Add Price").focus()
    page.keyboard.press("Enter")
    expect(panel.get_by_role("list", name="What matters to me").get_by_role("listitem")).to_have_count(2)
    page.keyboard.press("Alt+ArrowUp")  # focus followed Price into the order: move it to the top
    expect(panel.locator("[aria-live=polite][data-part=announcement]")).to_have_text(
        "Price moved to position 1 of 2")
    price_first = wait_for_order_change(page, rating_first)
    assert api(page, base, "GET", "/api/v1/preferences/what_matters")["value"] == ["price", "rating"]

    catalog = {item["id"]: item for item in api(page, base, "GET", "/api/v1/catalog?per_page=100")["items"]}
    ratings = lambda ids: sum(catalog[i]["rating"] for i in ids[:8] if i in catalog)  # noqa: E731
    prices = lambda ids: sum(catalog[i]["price"] for i in ids[:8] if i in catalog)  # noqa: E731
    assert ratings(rating_first) >= ratings(before)
    assert prices(price_first) < prices(rating_first)
    reasons = page.locator(LIVE_PRODUCTS).first.locator("[data-part=why-this]")
    expect(reasons).to_contain_text("because you put “Price” first")
    profile = api(page, base, "GET", "/api/v1/profile")
    criteria = profile["priorities"][0]["criteria"]
    assert [(c["key"], c["position"]) for c in criteria] == [("price", 1), ("rating", 2)]
