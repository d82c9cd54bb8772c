"""The BFF's pieces of the slider kind, with its part of the personalization profile."""

from __future__ import annotations

from typing import Any

import msgspec

from preference_registry import Criterion, PreferenceType, RegistrySnapshot

from .base import BffKind, ProfileParts, Words

__all__ = ["KIND", "SliderProfile"]


class SliderProfile(msgspec.Struct, frozen=True, kw_only=True):
    """A slider in effect."""

    key: str
    """Preference key."""
    value: float
    """Chosen value."""
    normalized: float
    """Position from 0.0 (min) to 1.0 (max)."""
    rule: str | None
    """``personalization``, ``balance``, ``weight`` or ``None`` (declared without ``applies_to``)."""
    low: Criterion | None = None
    """Criterion favoured at the minimum."""
    high: Criterion | None = None
    """Criterion favoured at the maximum."""


def _profile(pref: Any, value: Any, parts: ProfileParts) -> None:
    effect = pref.applies_to
    parts.sliders.append(SliderProfile(
        key=pref.key, value=value, normalized=(value - pref.min) / (pref.max - pref.min),
        rule=effect.rule if effect else None, low=effect.low if effect else None,
        high=effect.high if effect else None))


def _view(snapshot: RegistrySnapshot, pref: Any, locale: str) -> dict[str, Any]:
    return {
        "min": pref.min,
        "max": pref.max,
        "step": pref.step,
        "page_step": pref.effective_page_step,
        "stops": [{"value": stop.value, "label": snapshot.text(stop.label, locale)} for stop in pref.stops],
        "applies_to": msgspec.to_builtins(pref.applies_to) if pref.applies_to else None,
    }


def _value_text(snapshot: RegistrySnapshot, pref: Any, value: Any, locale: str, words: Words) -> str:
    stop = pref.stop_for(value) if isinstance(value, (int, float)) else None
    label = snapshot.text(stop.label, locale) if stop else None
    return f"{value} ({label})" if label else str(value)


def _personalization_level(pref: Any) -> bool:
    return bool(pref.applies_to and pref.applies_to.rule == "personalization")


KIND = BffKind(
    widget="preference-slider",
    profile=_profile,
    view=_view,
    value_text=_value_text,
    acts_on_results=lambda pref: pref.applies_to is not None,  # type: ignore[union-attr]
    personalization_level=_personalization_level,
)
"""The slider kind's entry of :data:`bff.kinds.KINDS`."""
