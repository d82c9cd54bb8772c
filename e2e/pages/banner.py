"""Page object of the first-visit consent banner (a modal dialog, or an inline region)."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

from components.i18n import kit_text

__all__ = ["ConsentBanner"]


class ConsentBanner:
    """The banner, found by its title "Your privacy choices" as dialog (modal) or region (inline)."""

    def __init__(self, page: Page, locale: str) -> None:
        self.page = page
        self.text = kit_text(locale)
        title = self.text("banner_title")
        self.root: Locator = page.get_by_role("dialog", name=title, exact=True).or_(
            page.get_by_role("region", name=title, exact=True))

    @property
    def accept_all_button(self) -> Locator:
        return self.root.get_by_role("button", name=self.text("accept_all"), exact=True)

    @property
    def reject_all_button(self) -> Locator:
        return self.root.get_by_role("button", name=self.text("reject_all"), exact=True)

    @property
    def customize_button(self) -> Locator:
        return self.root.get_by_role("button", name=self.text("customize"), exact=True)

    def expect_shown(self) -> None:
        expect(self.root).to_be_visible()
        # Equal weight: all three choices are offered.
        expect(self.accept_all_button).to_be_visible()
        expect(self.reject_all_button).to_be_visible()
        expect(self.customize_button).to_be_visible()

    def expect_gone(self) -> None:
        expect(self.root).to_have_count(0)

    def accept_all(self) -> None:
        self.accept_all_button.click()
        self.expect_gone()

    def reject_all(self) -> None:
        self.reject_all_button.click()
        self.expect_gone()
