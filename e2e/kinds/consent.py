"""The consent kind in the QA kit: a WAI-ARIA switch named by the consent's title."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Locator, expect

from .base import KindWidget

__all__ = ["ConsentToggleWidget"]


class ConsentToggleWidget(KindWidget):
    """A consent: a WAI-ARIA switch named by the consent's title (``notice_only``: no switch at all)."""

    kind = "consent"
    widget_name = "consent-toggle"
    control_role = "switch"

    @property
    def switch(self) -> Locator:
        """The switch control (``role=switch``, ``aria-checked``)."""
        return self.control

    def toggle_with_keyboard(self, key: str = "Space") -> None:
        """Focus the switch and press ``key`` (Space or Enter), as a keyboard user would."""
        self.switch.focus()
        self.switch.page.keyboard.press(key)

    def expect_checked(self, on: bool) -> None:
        expect(self.switch).to_have_attribute("aria-checked", "true" if on else "false")

    def expect_enabled(self) -> None:
        expect(self.switch).to_be_enabled()

    def expect_ui_value(self, expected: Any) -> None:
        self.expect_checked(expected)

    def change_by_keyboard(self, current: Any, *, no_choice_label: str) -> Any:
        self.expect_checked(bool(current))
        self.toggle_with_keyboard("Space")
        expected = not bool(current)
        self.expect_checked(expected)
        return expected

    def expect_notice_only(self) -> None:
        """Shown as information (its title is on the page) but offers no switch."""
        expect(self.scope.get_by_text(self.pref.title, exact=True).first).to_be_visible()
        expect(self.switch).to_have_count(0)

    def expect_read_only(self) -> None:
        self.expect_notice_only()
