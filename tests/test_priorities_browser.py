"""The priorities control (issue 18) in a real Chromium, served by the real BFF: operated by keyboard only
(every move, its announcement, focus staying on the moved item), stored through the API, and axe-clean in
three themes and two locales, standalone and inside the preference center."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from e2e.waiting import wait_until

try:
    import test_components_browser as shared
except ImportError:  # tests/ not on sys.path (e.g. --import-mode=importlib)
    from tests import test_components_browser as shared

# The components' browser tests' server, page helpers and fixtures (pytest finds a fixture by its name here).
browser = shared.browser
context = shared.context

pytestmark = pytest.mark.browser

REGISTRY = """
[shop]
name = "Sklep"
default_locale = "pl"
locales = ["pl", "en"]

[[sections]]
key = "ranking"
title = { pl = "Kolejność produktów", en = "Product order" }

[[preferences]]
key = "what_matters"
kind = "priorities"
section = "ranking"
title = { pl = "Co jest dla mnie ważne", en = "What matters to me" }
description.pl = "Najważniejsze kryterium liczy się najbardziej."
description.en = "Your first criterion counts most."

[[preferences.criteria]]
key = "price"
attribute = "price"
prefer = "lower"
label = { pl = "Cena", en = "Price" }

[[preferences.criteria]]
key = "eco"
attribute = "eco_score"
label = { pl = "Ekologia", en = "Sustainability" }
optional = true

[[preferences.criteria]]
key = "rating"
attribute = "rating"
label = { pl = "Ocena", en = "Rating" }

[[preferences.criteria]]
key = "delivery"
attribute = "delivery_days"
prefer = "lower"
label = { pl = "Dostawa", en = "Delivery" }
optional = true
"""


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[shared.Env]:
    yield from shared._serve(tmp_path_factory, "priorities.toml", REGISTRY)


def _order(page: Page) -> list[str]:
    return page.locator("[data-part=criteria] > [data-criterion]").evaluate_all(
        "items => items.map(item => item.dataset.criterion)")


def _focus(page: Page) -> tuple[str | None, str | None]:
    """The criterion and the button part that have focus."""
    return tuple(page.evaluate("""() => {
      const el = document.activeElement;
      const item = el && el.closest('[data-criterion]');
      return [item ? item.dataset.criterion : null, el ? el.getAttribute('data-prefkit-move') : null];
    }"""))  # type: ignore[return-value]


def _expect(page: Page, order: list[str], said: str, focus: tuple[str, str]) -> None:
    expect(page.locator("[data-part=criteria] > [data-criterion]")).to_have_count(len(order))
    expect(page.locator("[data-part=announcement][aria-live=polite]")).to_have_text(said)
    assert _order(page) == order
    assert _focus(page) == focus, f"focus left the moved item: {_focus(page)}"


def test_every_move_by_keyboard_is_announced_and_keeps_focus_on_the_item(
    env: shared.Env, context: BrowserContext
) -> None:
    url = env.write_page("priorities-en.html", shared.mount("priorities", key="what_matters", locale="en"))
    page = shared.open_page(context, url)
    listing = page.get_by_role("list", name="What matters to me")
    expect(listing.get_by_role("listitem")).to_have_count(4)
    price_up = page.get_by_role("button", name="Move Price up")
    expect(price_up).to_have_attribute("aria-disabled", "true")  # first already: focusable, inactive
    shared.tab_to(page, price_up)

    page.keyboard.press("Alt+ArrowDown")
    _expect(page, ["eco", "price", "rating", "delivery"], "Price moved to position 2 of 4",
            ("price", "move-up"))
    page.keyboard.press("Tab")
    assert _focus(page) == ("price", "move-down")
    page.keyboard.press("Enter")
    _expect(page, ["eco", "rating", "price", "delivery"], "Price moved to position 3 of 4",
            ("price", "move-down"))
    page.keyboard.press("Space")
    _expect(page, ["eco", "rating", "delivery", "price"], "Price moved to position 4 of 4",
            ("price", "move-down"))
    expect(page.get_by_role("button", name="Move Price down")).to_have_attribute("aria-disabled", "true")
    page.keyboard.press("Enter")  # at the bottom already: nothing changes, focus stays
    assert _order(page) == ["eco", "rating", "delivery", "price"] and _focus(page) == ("price", "move-down")
    page.keyboard.press("Alt+Home")
    _expect(page, ["price", "eco", "rating", "delivery"], "Price moved to position 1 of 4",
            ("price", "move-down"))
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Alt+End")
    _expect(page, ["eco", "rating", "delivery", "price"], "Price moved to position 4 of 4",
            ("price", "move-up"))

    # Leave an optional criterion out, then add it back: focus follows it to the other list and back.
    shared.tab_to(page, page.get_by_role("button", name="Leave out Sustainability"), backwards=True)
    page.keyboard.press("Enter")
    left_out = page.get_by_role("list", name="Not in your order")
    expect(left_out.get_by_role("listitem")).to_have_count(1)
    _expect(page, ["rating", "delivery", "price"], "Sustainability left out", ("eco", "add-back"))
    assert page.get_by_role("button", name="Leave out Price").count() == 0  # price cannot be left out
    page.keyboard.press("Enter")
    _expect(page, ["rating", "delivery", "price", "eco"], "Sustainability added at position 4 of 4",
            ("eco", "move-up"))

    stored = shared.api_preferences(context, env)["what_matters"]
    assert (stored["value"], stored["source"]) == (["rating", "delivery", "price", "eco"], "explicit")


@pytest.mark.parametrize("locale", ["pl", "en"])
@pytest.mark.parametrize("theme", shared.THEMES)
def test_axe_reports_no_violations_standalone_and_in_the_center(
    env: shared.Env, context: BrowserContext, theme: str, locale: str
) -> None:
    page = shared.open_page(context, env.write_page(
        f"priorities-axe-{theme}-{locale}.html",
        shared.mount("priorities", key="what_matters", locale=locale, theme=theme),
        shared.mount("preference-center", locale=locale, theme=theme), lang=locale), widgets=2)
    assert shared._axe_violations(page) == []
    standalone = page.locator("[data-prefkit-widget=priorities]")
    leave_out = "Pomiń: Ekologia" if locale == "pl" else "Leave out Sustainability"
    standalone.get_by_role("button", name=leave_out).focus()
    page.keyboard.press("Enter")
    said = "Ekologia: pominięto" if locale == "pl" else "Sustainability left out"
    expect(standalone.locator("[data-part=announcement][aria-live=polite]")).to_have_text(said)
    # The center follows the standalone control live, and both stay clean with a left-out criterion.
    expect(page.locator("[data-part=center] [data-part=left-out-list] [data-criterion]")).to_have_count(1)
    assert shared._axe_violations(page) == []


DISCOVERY = """
[[preferences]]
key = "discovery"
kind = "slider"
section = "ranking"
min = 0
max = 4
default = 0
applies_to = { rule = "discovery" }
title = { pl = "Odkrywaj coś nowego", en = "Discover something new" }
"""


def test_the_transparency_page_follows_a_registry_edit_without_a_restart(
    env: shared.Env, context: BrowserContext
) -> None:
    page = context.new_page()
    url = f"{env.bff}/demo/transparency?locale=en"
    page.goto(url)
    expect(page.get_by_role("heading", level=1)).to_have_text("How we order products")
    statement = page.locator("[data-part=transparency-signals]")
    expect(statement).to_contain_text("“What matters to me”: you put “Price”, “Sustainability”, “Rating”, "
                                      "“Delivery” in order; the first counts most.")
    expect(statement).not_to_contain_text("Discover something new")
    assert shared._axe_violations(page) == []
    try:
        staged = env.registry.with_suffix(".tmp")
        staged.write_text(env.original_registry + DISCOVERY, encoding="utf-8")
        staged.replace(env.registry)
        # The statement is generated per request from the live registry: a reload shows the edit.
        wait_until(lambda: _reloaded_shows(page, url, "Discover something new"), "the edit on the page")
        expect(statement).to_contain_text("“Discover something new”: the higher you set it, the more positions")
        page.goto(f"{env.bff}/demo/transparency?locale=pl")
        expect(statement).to_contain_text("„Odkrywaj coś nowego”: im wyżej, tym więcej miejsc")
    finally:
        env.registry.write_text(env.original_registry, encoding="utf-8")
        wait_until(lambda: not _reloaded_shows(page, url, "Discover something new"), "the original registry")


def _reloaded_shows(page: Page, url: str, text: str) -> bool:
    page.goto(url)
    return text in (page.locator("[data-part=transparency-signals]").text_content() or "")
