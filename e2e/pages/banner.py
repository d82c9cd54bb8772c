"""Page object of the first-visit consent banner (a modal dialog, or an inline region)."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

from components.i18n import kit_text

from .sessions import WidgetSessions

__all__ = ["ConsentBanner"]


class ConsentBanner:
    """The banner, found by its title "Your privacy choices" as dialog (modal) or region (inline)."""

    WIDGET = "consent-banner"
    """Widget name of the banner's mount point (``data-prefkit-widget``)."""

    def __init__(self, page: Page, locale: str, sessions: WidgetSessions | None = None) -> None:
        self.page = page
        self.sessions = sessions
        self.text = kit_text(locale)
        title = self.text("banner_title")
        self.root: Locator = page.get_by_role("dialog", name=title, exact=True).or_(
            page.get_by_role("region", name=title, exact=True)
        )

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
        """No banner, checked only after the banner's session has rendered (else absence proves nothing)."""
        if self.sessions is not None:
            self.sessions.wait_rendered(self.WIDGET)
        expect(self.root).to_have_count(0)

    def accept_all(self) -> None:
        self.accept_all_button.click()
        self.expect_gone()

    def reject_all(self) -> None:
        self.reject_all_button.click()
        self.expect_gone()
