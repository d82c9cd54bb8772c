"""The personalization profile: what downstream search and recommendation may use, and how.

It is the only thing a ranking engine needs to know about a shopper; anything not in effect (a consent
not granted, a preference whose required consent is missing) is simply absent.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from preference_registry import RegistrySnapshot

from .effective import EffectiveValue
from .kinds import KINDS, FilterProfile, PrioritiesProfile, ProfileParts, SliderProfile

__all__ = ["FilterProfile", "PrioritiesProfile", "Profile", "SliderProfile", "build_profile"]


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
    priorities: list[PrioritiesProfile] = msgspec.field(default_factory=list)
    """The shopper's orders of criteria in effect (``priorities`` types), with rank-based weights."""


def build_profile(snapshot: RegistrySnapshot, effective: Mapping[str, EffectiveValue],
                  subject: str | None = None) -> Profile:
    """The profile implied by a subject's effective values; each kind adds its own part
    (:data:`bff.kinds.KINDS`)."""
    parts = ProfileParts()
    for pref in snapshot.preferences:
        kind = KINDS.of(pref)  # before the in-effect check: an unknown kind fails on every profile
        current = effective.get(pref.key)
        if current is not None and current.in_effect:
            kind.profile(pref, current.value, parts)
    return Profile(subject=subject, registry_version=snapshot.version,
                   personalized=_personalized(snapshot, effective, parts.purposes, parts.sliders),
                   granted_consents=parts.granted_consents, purposes=parts.purposes, filters=parts.filters,
                   sliders=parts.sliders, priorities=parts.priorities)


def _personalized(snapshot: RegistrySnapshot, effective: Mapping[str, EffectiveValue], purposes: list[str],
                  sliders: list[SliderProfile]) -> bool:
    """Personalized only with a granted ``recommendations`` purpose (when the shop declares one) and a
    personalization level above its minimum (when the shop declares such a slider)."""
    declares_recommendations = any(c.purpose == "recommendations" for c in snapshot.consents())
    if declares_recommendations and "recommendations" not in purposes:
        return False
    levels = [p for p in snapshot.preferences if KINDS.of(p).personalization_level(p)]
    if not levels:
        return True
    in_effect = {s.key: s for s in sliders}
    return all(level.key in in_effect and in_effect[level.key].normalized > 0 for level in levels)
