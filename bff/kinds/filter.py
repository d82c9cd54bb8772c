"""The BFF's pieces of the filter kind, with its part of the personalization profile."""

from __future__ import annotations

from typing import Any

import msgspec

from preference_registry import RegistrySnapshot

from .base import BffKind, ProfileParts, Words

__all__ = ["KIND", "FilterProfile"]

Scalar = str | int | float | bool


class FilterProfile(msgspec.Struct, frozen=True, kw_only=True):
    """An active filter: a non-empty selection whose requirements are met."""

    key: str
    """Preference key."""
    attribute: str | None
    """Catalog attribute it acts on (``None``: declared without ``applies_to``)."""
    rule: str
    """``include`` (hard filter), ``exclude`` (hide matching) or ``prefer`` (ranking boost)."""
    weight: float
    """Strength of a ``prefer`` boost."""
    options: list[str]
    """Selected option keys."""
    values: list[Scalar]
    """Attribute values the selected options match."""


def _selected(value: Any) -> list[str]:
    """The chosen option keys of a multiple (list) or single (key or ``None``) filter value."""
    chosen = value if isinstance(value, list) else [value]
    return [option for option in chosen if option is not None]


def _profile(pref: Any, value: Any, parts: ProfileParts) -> None:
    selected = _selected(value)
    if not selected:
        return
    by_key = {option.key: option for option in pref.options}
    applies = pref.applies_to
    parts.filters.append(FilterProfile(
        key=pref.key, attribute=applies.attribute if applies else None,
        rule=applies.rule if applies else "include", weight=applies.weight if applies else 1.0,
        options=selected, values=[by_key[key].match_value for key in selected]))


def _view(snapshot: RegistrySnapshot, pref: Any, locale: str) -> dict[str, Any]:
    return {
        "multiple": pref.multiple,
        "options": [
            {"key": option.key, "label": snapshot.text(option.label, locale)} for option in pref.options
        ],
        "applies_to": msgspec.to_builtins(pref.applies_to) if pref.applies_to else None,
    }


def _value_text(snapshot: RegistrySnapshot, pref: Any, value: Any, locale: str, words: Words) -> str:
    labels = {o.key: snapshot.text(o.label, locale) for o in pref.options}
    return ", ".join(labels.get(key) or str(key) for key in _selected(value)) or words("none")


KIND = BffKind(
    widget="filter-group",
    profile=_profile,
    view=_view,
    value_text=_value_text,
    acts_on_results=lambda pref: pref.applies_to is not None,  # type: ignore[union-attr]
)
"""The filter kind's entry of :data:`bff.kinds.KINDS`."""
