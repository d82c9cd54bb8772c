"""The BFF's pieces of the consent kind."""

from __future__ import annotations

from typing import Any

from preference_registry import PreferenceType, RegistrySnapshot

from .base import ALL_METHODS, BffKind, ProfileParts, Words

__all__ = ["KIND"]

_NOTICE_ONLY_METHODS = frozenset({"GET", "PUT", "OPTIONS"})


def _profile(pref: Any, value: Any, parts: ProfileParts) -> None:
    if value is True:
        parts.granted_consents.append(pref.key)
        if pref.purpose not in parts.purposes:
            parts.purposes.append(pref.purpose)


def _view(snapshot: RegistrySnapshot, pref: Any, locale: str) -> dict[str, Any]:
    return {
        "purpose": pref.purpose,
        "mechanism": pref.mechanism.value,
        "switchable": pref.switchable,
        "gpc": pref.gpc,
        "expires_after_days": pref.expires_after_days,
    }


def _value_text(
    snapshot: RegistrySnapshot, pref: PreferenceType, value: Any, locale: str, words: Words
) -> str:
    return words("on" if value is True else "off")


def _methods(pref: Any) -> frozenset[str]:
    # A notice-only consent cannot be withdrawn: DELETE answers 405 (PUT true is a no-op).
    return ALL_METHODS if pref.switchable else _NOTICE_ONLY_METHODS


KIND = BffKind(
    widget="consent-toggle",
    profile=_profile,
    view=_view,
    value_text=_value_text,
    methods=_methods,
    changeable=lambda pref: pref.switchable,  # type: ignore[union-attr]
)
"""The consent kind's entry of :data:`bff.kinds.KINDS`."""
