"""The priorities kind in the QA kit: an ordered list named by the preference's title, one item per
criterion, each with its move buttons in a group named by the criterion's label."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from playwright.sync_api import Locator, expect

from .base import KindWidget, TabTarget, accessible_name

if TYPE_CHECKING:
    from ..registry import PreferenceInfo

__all__ = ["PriorityListWidget"]


def _labels(pref: PreferenceInfo) -> dict[str, str]:
    """Criterion key -> its label in the registry view's locale."""
    return {c["key"]: c["label"] for c in pref.raw.get("criteria") or ()}


class PriorityListWidget(KindWidget):
    """A priorities control: ``role=list`` named by the title; each criterion a ``listitem`` whose buttons
    (move up, move down, leave out / add back) sit in a ``group`` named by the criterion's label."""

    kind = "priorities"
    widget_name = "priorities"
    control_role = "list"

    @classmethod
    def stored(cls, pref: PreferenceInfo, value: Any) -> Any:
        """The order as a list of criterion keys (the order is the value)."""
        return list(value or [])

    @classmethod
    def tab_targets(cls, pref: PreferenceInfo) -> list[TabTarget]:
        # Every criterion's buttons are reachable, each criterion by its own group (left-out ones too).
        return [TabTarget(role="button", group=accessible_name(label)) for label in _labels(pref).values()]

    @property
    def items(self) -> Locator:
        """The criteria in the shopper's order (items with their buttons: an empty order shows one item
        saying so)."""
        return self.control.get_by_role("listitem").filter(has=self.control.page.get_by_role("group"))

    def buttons_of(self, criterion: str) -> Locator:
        """The buttons of one criterion (in the order or left out), by its label."""
        label = _labels(self.pref)[criterion]
        return self.scope.get_by_role("group", name=label, exact=True).get_by_role("button")

    @property
    def root(self) -> Locator:
        """The whole control: the list, the left-out criteria and the announcement."""
        return self.control.locator("xpath=..")

    def expect_enabled(self) -> None:
        # Some button can be used (the end buttons are aria-disabled in any case; all of them while a
        # required consent is missing). Playwright's ``disabled`` follows aria-disabled.
        expect(self.root.get_by_role("button", disabled=False).first).to_be_visible()

    def expect_order(self, order: list[str]) -> None:
        """The list shows exactly ``order`` (criterion keys), most important first."""
        labels = _labels(self.pref)
        expect(self.items).to_have_count(len(order))
        expect(self.items).to_contain_text([labels[key] for key in order])

    def expect_ui_value(self, expected: Any) -> None:
        self.expect_order(list(expected or []))

    def press_on(self, criterion: str, key: str) -> None:
        """Focus the criterion's first button and press ``key`` (``Alt+ArrowDown``, ``Enter``...)."""
        button = self.buttons_of(criterion).first
        button.focus()
        button.page.keyboard.press(key)

    def expect_focus_on(self, criterion: str) -> None:
        """Focus is on one of the criterion's buttons (it followed the item to its new place)."""
        focused = self.scope.locator("[data-criterion] button:focus")
        expect(focused).to_have_count(1)
        item = focused.locator("xpath=ancestor::*[@data-criterion][1]")
        expect(item).to_have_attribute("data-criterion", criterion)

    def change_by_keyboard(self, current: Any, *, no_choice_label: str) -> Any:
        """Alt+ArrowDown on the most important criterion: it moves to second place, focus stays on it."""
        order = self.stored(self.pref, current)
        self.expect_order(order)
        if len(order) < 2:  # one criterion left: nothing to reorder, add a left-out one back instead
            left_out = [key for key in _labels(self.pref) if key not in order]
            self.press_on(left_out[0], "Enter")
            expected = [*order, left_out[0]]
        else:
            first = order[0]
            self.press_on(first, "Alt+ArrowDown")
            expected = [order[1], first, *order[2:]]
            self.expect_order(expected)
            self.expect_focus_on(first)
        self.expect_order(expected)
        return expected
