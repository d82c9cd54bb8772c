"""Page objects of the three widget kinds, located by ARIA role and accessible name only.

A re-themed shop (other classes, other markup around the controls) keeps working as long as the
controls keep their WAI-ARIA roles and their registry titles as accessible names.
"""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

from ..registry import PreferenceInfo

__all__ = ["ConsentToggleWidget", "FilterGroupWidget", "Scope", "SliderWidget", "number_text"]

Scope = Page | Locator
"""Where a widget is looked for: the whole page or a container (a widget mount point, the center)."""


def number_text(value: float) -> str:
    """How a number appears in ``aria-valuenow`` (``2``, not ``2.0``, for whole numbers)."""
    return str(int(value)) if float(value).is_integer() else str(value)


class ConsentToggleWidget:
    """A consent: a WAI-ARIA switch named by the consent's title (``notice_only``: no switch at all)."""

    def __init__(self, scope: Scope, pref: PreferenceInfo) -> None:
        self.scope = scope
        self.pref = pref
        self.switch = scope.get_by_role("switch", name=pref.title, exact=True)
        """The switch control (``role=switch``, ``aria-checked``)."""

    @property
    def control(self) -> Locator:
        """The element a shopper operates (the switch)."""
        return self.switch

    def toggle_with_keyboard(self, key: str = "Space") -> None:
        """Focus the switch and press ``key`` (Space or Enter), as a keyboard user would."""
        self.switch.focus()
        self.switch.page.keyboard.press(key)

    def expect_checked(self, on: bool) -> None:
        expect(self.switch).to_have_attribute("aria-checked", "true" if on else "false")

    def expect_enabled(self) -> None:
        expect(self.switch).to_be_enabled()

    def expect_notice_only(self) -> None:
        """Shown as information (its title is on the page) but offers no switch."""
        expect(self.scope.get_by_text(self.pref.title, exact=True).first).to_be_visible()
        expect(self.switch).to_have_count(0)


class SliderWidget:
    """A WAI-ARIA slider named by the preference's title."""

    def __init__(self, scope: Scope, pref: PreferenceInfo) -> None:
        self.scope = scope
        self.pref = pref
        self.slider = scope.get_by_role("slider", name=pref.title, exact=True)
        """The slider thumb (``role=slider``, ``aria-valuenow/min/max/valuetext``)."""

    @property
    def control(self) -> Locator:
        """The element a shopper operates (the thumb)."""
        return self.slider

    def press(self, *keys: str) -> None:
        """Focus the slider and press each key (``ArrowRight``, ``End``, ``PageUp``...)."""
        self.slider.focus()
        for key in keys:
            self.slider.page.keyboard.press(key)

    def expect_value(self, value: float) -> None:
        expect(self.slider).to_have_attribute("aria-valuenow", number_text(value))

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


class FilterGroupWidget:
    """A filter: a group of checkboxes (``multiple``) or a radio group, named by the filter's title."""

    def __init__(self, scope: Scope, pref: PreferenceInfo) -> None:
        self.scope = scope
        self.pref = pref
        self.option_role = "checkbox" if pref.multiple else "radio"
        group_role = "group" if pref.multiple else "radiogroup"
        self.group = scope.get_by_role(group_role, name=pref.title, exact=True)  # type: ignore[arg-type]
        """The group container (``role=group`` / ``role=radiogroup``)."""

    @property
    def control(self) -> Locator:
        """The element holding the options (the group)."""
        return self.group

    def expect_enabled(self) -> None:
        expect(self.group).not_to_have_attribute("aria-disabled", "true")

    def option(self, option_key: str) -> Locator:
        """The checkbox / radio of one option, by its label."""
        label = self.pref.option(option_key).label
        return self.group.get_by_role(self.option_role, name=label, exact=True)  # type: ignore[arg-type]

    def toggle_with_keyboard(self, option_key: str) -> None:
        """Focus the option and press Space (checks a checkbox / selects a radio)."""
        control = self.option(option_key)
        control.focus()
        control.page.keyboard.press("Space")

    def expect_selected(self, option_key: str, selected: bool = True) -> None:
        if selected:
            expect(self.option(option_key)).to_be_checked()
        else:
            expect(self.option(option_key)).not_to_be_checked()

    def expect_selection(self, option_keys: set[str]) -> None:
        """Exactly ``option_keys`` are selected."""
        for option in self.pref.options:
            self.expect_selected(option.key, option.key in option_keys)
