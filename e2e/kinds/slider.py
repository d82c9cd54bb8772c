"""The slider kind in the QA kit: a WAI-ARIA slider named by the preference's title."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Locator, expect

from .base import KindWidget, number_text

__all__ = ["SliderWidget"]


class SliderWidget(KindWidget):
    """A WAI-ARIA slider named by the preference's title."""

    kind = "slider"
    widget_name = "preference-slider"
    control_role = "slider"

    @property
    def slider(self) -> Locator:
        """The slider thumb (``role=slider``, ``aria-valuenow/min/max/valuetext``)."""
        return self.control

    def press(self, *keys: str) -> None:
        """Focus the slider and press each key (``ArrowRight``, ``End``, ``PageUp``...)."""
        self.slider.focus()
        for key in keys:
            self.slider.page.keyboard.press(key)

    def expect_value(self, value: float) -> None:
        expect(self.slider).to_have_attribute("aria-valuenow", number_text(value))

    def expect_ui_value(self, expected: Any) -> None:
        self.expect_value(expected)

    def expect_bounds(self) -> None:
        """``aria-valuemin``/``aria-valuemax`` match the registry."""
        assert self.pref.minimum is not None and self.pref.maximum is not None
        expect(self.slider).to_have_attribute("aria-valuemin", number_text(self.pref.minimum))
        expect(self.slider).to_have_attribute("aria-valuemax", number_text(self.pref.maximum))

    def expect_disabled_with_reason(self, reason: str | re.Pattern[str]) -> None:
        """Disabled (``aria-disabled=true``) and the accessible description explains why."""
        expect(self.slider).to_have_attribute("aria-disabled", "true")
        expect(self.slider).to_have_accessible_description(reason)

    def expect_enabled(self) -> None:
        expect(self.slider).not_to_have_attribute("aria-disabled", "true")

    def change_by_keyboard(self, current: Any, *, no_choice_label: str) -> Any:
        """One step up then End (at the maximum already: one step down then Home)."""
        pref = self.pref
        assert pref.minimum is not None and pref.maximum is not None and pref.step is not None
        self.expect_bounds()
        self.expect_value(current)
        one_step = pref.on_step(current + pref.step)
        if one_step != current:
            self.press("ArrowRight")
            self.expect_value(one_step)
            self.press("End")
            expected = pref.maximum
        else:  # at the maximum already
            self.press("ArrowLeft")
            self.expect_value(pref.on_step(current - pref.step))
            self.press("Home")
            expected = pref.minimum
        self.expect_value(expected)
        return expected
