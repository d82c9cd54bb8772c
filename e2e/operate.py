"""Changing any declared preference type by keyboard, as the flows do, whatever the registry declares.

One place knows how each kind of control is operated and what value it must then hold, so every flow
(registry-driven, two tabs, login, hot reload, embedding) works for consents, sliders of any range and
step, and checkbox or radio filters of any size, instead of assuming the demo shop's types.
"""

from __future__ import annotations

from typing import Any

from .api import PrefkitApi
from .pages.center import PreferenceCenterPage
from .pages.widgets import ConsentToggleWidget, FilterGroupWidget, Scope, SliderWidget
from .registry import PreferenceInfo, RegistryInfo
from .waiting import eventually

__all__ = [
    "change_by_keyboard",
    "expect_ui_value",
    "grant_requirements",
    "pick_operable",
    "stored",
    "widget",
]


def widget(scope: Scope, pref: PreferenceInfo) -> ConsentToggleWidget | SliderWidget | FilterGroupWidget:
    """The page object of ``pref``'s control inside ``scope`` (the center, a mount point, the page)."""
    kinds = {"consent": ConsentToggleWidget, "slider": SliderWidget, "filter": FilterGroupWidget}
    return kinds[pref.kind](scope, pref)


def grant_requirements(center: PreferenceCenterPage, pref: PreferenceInfo, api: PrefkitApi) -> None:
    """Switch on, by keyboard, every switchable consent ``pref`` needs that is not on yet (requirements of
    requirements first), so ``pref``'s control is enabled."""
    for consent in center.registry.consents_to_grant(pref):
        if api.preference(consent.key)["value"] is True:
            continue
        toggle = center.consent(consent.key)
        toggle.toggle_with_keyboard()
        toggle.expect_checked(True)
        eventually(
            lambda key=consent.key: api.preference(key),
            lambda state: state["value"] is True,
            what=f"the required consent {consent.key!r} to be stored as granted",
        )


def change_by_keyboard(
    scope: Scope, pref: PreferenceInfo, current: Any, *, no_choice_label: str
) -> Any:
    """Change ``pref`` away from its ``current`` value by keyboard; returns the value it must now have
    (a multiple-choice filter's as a set). ``no_choice_label`` names the "No preference" radio of a
    single-choice filter (picked when the one option is already chosen)."""
    control = widget(scope, pref)
    control.expect_enabled()  # its required consents are granted (the grant may still be on its way)
    if isinstance(control, ConsentToggleWidget):
        control.expect_checked(bool(current))
        control.toggle_with_keyboard("Space")
        expected = not bool(current)
        control.expect_checked(expected)
        return expected
    if isinstance(control, SliderWidget):
        assert pref.minimum is not None and pref.maximum is not None and pref.step is not None
        control.expect_bounds()
        control.expect_value(current)
        one_step = pref.on_step(current + pref.step)
        if one_step != current:
            control.press("ArrowRight")
            control.expect_value(one_step)
            control.press("End")
            expected = pref.maximum
        else:  # at the maximum already
            control.press("ArrowLeft")
            control.expect_value(pref.on_step(current - pref.step))
            control.press("Home")
            expected = pref.minimum
        control.expect_value(expected)
        return expected
    selection = set(current or []) if pref.multiple else current
    if pref.multiple:
        control.expect_selection(selection)
        choice = next((o.key for o in pref.options if o.key not in selection), pref.options[0].key)
        control.toggle_with_keyboard(choice)
        changed = selection ^ {choice}
        control.expect_selection(changed)
        return changed
    other = next((o.key for o in pref.options if o.key != selection), None)
    if other is None:  # its one option is chosen: "No preference" is the other choice
        radio = control.group.get_by_role("radio", name=no_choice_label, exact=True)
        radio.focus()
        radio.page.keyboard.press("Space")
        control.expect_selection(set())
        return None
    control.toggle_with_keyboard(other)
    control.expect_selected(other)
    return other


def stored(pref: PreferenceInfo, value: Any) -> Any:
    """A stored value in the form :func:`change_by_keyboard` returns (multiple-choice filters as a set)."""
    return set(value or []) if pref.kind == "filter" and pref.multiple else value


def expect_ui_value(scope: Scope, pref: PreferenceInfo, expected: Any) -> None:
    """The control of ``pref`` in ``scope`` shows ``expected`` (in :func:`stored`'s form)."""
    control = widget(scope, pref)
    if isinstance(control, ConsentToggleWidget):
        control.expect_checked(expected)
    elif isinstance(control, SliderWidget):
        control.expect_value(expected)
    elif pref.multiple:
        control.expect_selection(expected)
    elif expected is None:
        control.expect_selection(set())
    else:
        control.expect_selected(expected)


def pick_operable(
    registry: RegistryInfo, *, kinds: tuple[str, ...] = ("consent", "filter", "slider")
) -> PreferenceInfo | None:
    """The first type the shopper can change, preferring ``kinds`` in that order and types that need no
    consent granted first; None when the registry declares nothing a shopper can change."""
    candidates = [p for kind in kinds for p in registry.operable() if p.kind == kind]
    free = [p for p in candidates if not registry.consents_to_grant(p)]
    return (free or candidates or [None])[0]
