"""Flow 9: Polish and English texts, from the registry and from the kit itself."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from e2e.plugin import ShopperFactory
from e2e.shopper import Shopper

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("locale", ["pl", "en"])
def test_center_in_locale(new_shopper: ShopperFactory, locale: str) -> None:
    shopper: Shopper = new_shopper(locale)
    registry = shopper.registry(locale)
    if locale not in registry.locales:
        pytest.skip(f"the registry under test does not offer {locale!r}")
    shopper.answer_banner_beforehand()
    center = shopper.center(locale=locale).open()
    expect(shopper.page.locator("html")).to_have_attribute("lang", locale)
    expect(center.accept_all_button).to_be_visible()
    expect(center.reject_all_button).to_be_visible()
    for pref in registry.preferences:
        control = center.control(pref.key)
        if pref.kind == "consent" and not pref.switchable:
            control.expect_notice_only()  # type: ignore[union-attr]
        else:
            expect(
                getattr(control, {"consent": "switch", "slider": "slider", "filter": "group"}[pref.kind])
            ).to_be_visible()
    other = "en" if locale == "pl" else "pl"
    if other in registry.locales:
        other_titles = {p.title for p in shopper.registry(other).preferences} - {
            p.title for p in registry.preferences
        }
        for title in other_titles:
            expect(center.root.get_by_text(title, exact=True)).to_have_count(0)


def test_polish_and_english_differ(new_shopper: ShopperFactory) -> None:
    """The two locales really show different words (a fallback to one language would pass the test above)."""
    shopper = new_shopper("en")
    polish, english = shopper.registry("pl"), shopper.registry("en")
    if not {"pl", "en"} <= set(polish.locales):
        pytest.skip("the registry under test is not bilingual pl/en")
    assert [p.title for p in polish.preferences] != [p.title for p in english.preferences]
    shopper.answer_banner_beforehand()
    center_en = shopper.center(locale="en").open()
    expect(center_en.root.get_by_role("heading", name="Privacy and personalization")).to_be_visible()
    center_pl = shopper.center(shopper.new_tab(), locale="pl").open()
    expect(center_pl.root.get_by_role("heading", name="Prywatność i personalizacja")).to_be_visible()
