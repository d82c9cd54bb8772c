"""The filter kind in the QA kit: a group of checkboxes (``multiple``) or a radio group."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from playwright.sync_api import Locator, expect

from .base import KindWidget, TabTarget, accessible_name

if TYPE_CHECKING:
    from ..registry import PreferenceInfo

__all__ = ["FilterGroupWidget"]


class FilterGroupWidget(KindWidget):
    """A filter: a group of checkboxes (``multiple``) or a radio group, named by the filter's title."""

    kind = "filter"
    widget_name = "filter-group"

    @classmethod
    def role_of(cls, pref: PreferenceInfo) -> str:
        return "group" if pref.multiple else "radiogroup"

    @property
    def group(self) -> Locator:
        """The group container (``role=group`` / ``role=radiogroup``)."""
        return self.control

    @property
    def option_role(self) -> str:
        return "checkbox" if self.pref.multiple else "radio"

    @classmethod
    def stored(cls, pref: PreferenceInfo, value: Any) -> Any:
        """A multiple-choice filter's selection as a set (the order is the registry's, not the shopper's)."""
        return set(value or []) if pref.multiple else value

    @classmethod
    def tab_targets(cls, pref: PreferenceInfo) -> list[TabTarget]:
        group = accessible_name(pref.title)
        if pref.multiple:  # every checkbox is a Tab stop
            return [TabTarget(role="checkbox", name=accessible_name(o.label), group=group)
                    for o in pref.options]
        # A radio group is one Tab stop (its checked radio, or "no preference"); arrows move inside it.
        return [TabTarget(role="radio", group=group)]

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

    def expect_ui_value(self, expected: Any) -> None:
        if self.pref.multiple:
            self.expect_selection(expected)
        elif expected is None:
            self.expect_selection(set())
        else:
            self.expect_selected(expected)

    def change_by_keyboard(self, current: Any, *, no_choice_label: str) -> Any:
        """Toggle one option (multiple) or pick another one, "No preference" when the one option is chosen."""
        pref = self.pref
        selection = self.stored(pref, current)
        if pref.multiple:
            self.expect_selection(selection)
            choice = next((o.key for o in pref.options if o.key not in selection), pref.options[0].key)
            self.toggle_with_keyboard(choice)
            changed = selection ^ {choice}
            self.expect_selection(changed)
            return changed
        other = next((o.key for o in pref.options if o.key != selection), None)
        if other is None:  # its one option is chosen: "No preference" is the other choice
            radio = self.group.get_by_role("radio", name=no_choice_label, exact=True)
            radio.focus()
            radio.page.keyboard.press("Space")
            self.expect_selection(set())
            return None
        self.toggle_with_keyboard(other)
        self.expect_selected(other)
        return other
