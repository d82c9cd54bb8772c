"""The personalization profile: what downstream search and recommendation may use, and how.

It is the only thing a ranking engine needs to know about a shopper; anything not in effect (a consent
not granted, a preference whose required consent is missing) is simply absent.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from preference_registry import (
    ConsentType,
    Criterion,
    FilterType,
    RegistrySnapshot,
    SliderType,
)

from .effective import EffectiveValue

__all__ = ["FilterProfile", "Profile", "SliderProfile", "build_profile"]

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


class Profile(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the shopper allowed the shop to use, and nothing else."""

    subject: str | None
    """Subject id (omitted for anonymous previews)."""
    registry_version: str
    """Registry version the profile was computed with."""
    personalized: bool
    """False when the shopper withdrew recommendations or set personalization to off: rank neutrally."""
    granted_consents: list[str]
    """Consent keys in effect and granted."""
    purposes: list[str]
    """Data-use purposes of the granted consents."""
    filters: list[FilterProfile]
    """Active filters."""
    sliders: list[SliderProfile]
    """Sliders in effect."""


def build_profile(snapshot: RegistrySnapshot, effective: Mapping[str, EffectiveValue],
                  subject: str | None = None) -> Profile:
    """The profile implied by a subject's effective values."""
    granted: list[str] = []
    purposes: list[str] = []
    filters: list[FilterProfile] = []
    sliders: list[SliderProfile] = []
    for pref in snapshot.preferences:
        current = effective.get(pref.key)
        if current is None or not current.in_effect:
            continue
        if isinstance(pref, ConsentType):
            if current.value is True:
                granted.append(pref.key)
                if pref.purpose not in purposes:
                    purposes.append(pref.purpose)
        elif isinstance(pref, FilterType):
            selected = current.value if isinstance(current.value, list) else [current.value]
            selected = [option for option in selected if option is not None]
            if selected:
                by_key = {option.key: option for option in pref.options}
                applies = pref.applies_to
                filters.append(FilterProfile(
                    key=pref.key, attribute=applies.attribute if applies else None,
                    rule=applies.rule if applies else "include", weight=applies.weight if applies else 1.0,
                    options=selected, values=[by_key[key].match_value for key in selected]))
        elif isinstance(pref, SliderType):
            effect = pref.applies_to
            sliders.append(SliderProfile(
                key=pref.key, value=current.value, normalized=(current.value - pref.min) / (pref.max - pref.min),
                rule=effect.rule if effect else None, low=effect.low if effect else None,
                high=effect.high if effect else None))
    return Profile(subject=subject, registry_version=snapshot.version,
                   personalized=_personalized(snapshot, effective, purposes, sliders),
                   granted_consents=granted, purposes=purposes, filters=filters, sliders=sliders)


def _personalized(snapshot: RegistrySnapshot, effective: Mapping[str, EffectiveValue], purposes: list[str],
                  sliders: list[SliderProfile]) -> bool:
    """Personalized only with a granted ``recommendations`` purpose (when the shop declares one) and a
    personalization level above its minimum (when the shop declares such a slider)."""
    declares_recommendations = any(c.purpose == "recommendations" for c in snapshot.consents())
    if declares_recommendations and "recommendations" not in purposes:
        return False
    levels = [p for p in snapshot.preferences
              if isinstance(p, SliderType) and p.applies_to and p.applies_to.rule == "personalization"]
    if not levels:
        return True
    in_effect = {s.key: s for s in sliders}
    return all(level.key in in_effect and in_effect[level.key].normalized > 0 for level in levels)
