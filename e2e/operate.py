"""Changing any declared preference type by keyboard, as the flows do, whatever the registry declares.

Each kind's page object (:data:`e2e.kinds.KINDS`) knows how its control is operated and what value it
must then hold, so every flow (registry-driven, two tabs, login, hot reload, embedding) works for
consents, sliders of any range and step, and checkbox or radio filters of any size, instead of assuming
the demo shop's types. This module is the flows' entry to that table.
"""

from __future__ import annotations

from typing import Any

from .api import PrefkitApi
from .kinds import KINDS, KindWidget, Scope
from .pages.center import PreferenceCenterPage
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


def widget(scope: Scope, pref: PreferenceInfo) -> KindWidget:
    """The page object of ``pref``'s control inside ``scope`` (the center, a mount point, the page)."""
    return KINDS.of(pref)(scope, pref)


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
    return control.change_by_keyboard(current, no_choice_label=no_choice_label)


def stored(pref: PreferenceInfo, value: Any) -> Any:
    """A stored value in the form :func:`change_by_keyboard` returns (multiple-choice filters as a set)."""
    return KINDS.of(pref).stored(pref, value)


def expect_ui_value(scope: Scope, pref: PreferenceInfo, expected: Any) -> None:
    """The control of ``pref`` in ``scope`` shows ``expected`` (in :func:`stored`'s form)."""
    widget(scope, pref).expect_ui_value(expected)


def pick_operable(
    registry: RegistryInfo, *, kinds: tuple[str, ...] = ("consent", "filter", "slider")
) -> PreferenceInfo | None:
    """The first type the shopper can change, preferring ``kinds`` in that order and types that need no
    consent granted first; None when the registry declares nothing a shopper can change."""
    candidates = [p for kind in kinds for p in registry.operable() if p.kind == kind]
    free = [p for p in candidates if not registry.consents_to_grant(p)]
    return (free or candidates or [None])[0]
