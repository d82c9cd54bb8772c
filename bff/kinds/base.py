"""What the BFF keeps per preference kind: :class:`BffKind`, one entry per kind in :data:`bff.kinds.KINDS`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from preference_registry import PreferenceType, RegistrySnapshot

__all__ = ["ALL_METHODS", "BffKind", "ProfileParts", "Words"]

ALL_METHODS = frozenset({"GET", "PUT", "DELETE", "OPTIONS"})
"""What ``/api/v1/preferences/<key>`` answers for a type that can be set and reset."""

Words = Callable[[str], str]
"""A message id -> its text in one locale (the demo's own words: ``on``, ``off``, ``none``)."""


@dataclass(slots=True)
class ProfileParts:
    """The profile being built (:func:`bff.profile.build_profile`): each kind adds what a value in effect
    contributes."""

    granted_consents: list[str] = field(default_factory=list)
    purposes: list[str] = field(default_factory=list)
    filters: list[Any] = field(default_factory=list)
    """``FilterProfile`` items."""
    sliders: list[Any] = field(default_factory=list)
    """``SliderProfile`` items."""
    priorities: list[Any] = field(default_factory=list)
    """``PrioritiesProfile`` items."""


def _never(_pref: PreferenceType) -> bool:
    return False


def _always(_pref: PreferenceType) -> bool:
    return True


def _all_methods(_pref: PreferenceType) -> frozenset[str]:
    return ALL_METHODS


@dataclass(frozen=True, slots=True, kw_only=True)
class BffKind:
    """The BFF's pieces of one preference kind (the registry package defines the kind itself)."""

    widget: str
    """Name of its standalone control's mount point (``data-prefkit-widget``)."""
    profile: Callable[[PreferenceType, Any, ProfileParts], None]
    """``(type, value in effect, parts)``: what the value contributes to the personalization profile."""
    view: Callable[[RegistrySnapshot, PreferenceType, str], dict[str, Any]]
    """``(snapshot, type, locale)``: the kind's own fields of ``GET /api/v1/registry``'s item."""
    value_text: Callable[[RegistrySnapshot, PreferenceType, Any, str, Words], str]
    """``(snapshot, type, value, locale, words)``: a stored value in words (the demo's "your data")."""
    methods: Callable[[PreferenceType], frozenset[str]] = _all_methods
    """HTTP methods ``/api/v1/preferences/<key>`` supports (documented in OpenAPI, sent in ``Allow``)."""
    changeable: Callable[[PreferenceType], bool] = _always
    """Whether the shopper can change it at all (a notice-only consent cannot)."""
    acts_on_results: Callable[[PreferenceType], bool] = _never
    """Whether it changes which products are shown or their order (the demo listing's sidebar)."""
    personalization_level: Callable[[PreferenceType], bool] = _never
    """Whether it is a personalization level: at its minimum the profile says ``personalized: false``."""
