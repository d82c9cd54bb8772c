"""What the API sends: response Structs and the localized registry view for frontends."""

from __future__ import annotations

from typing import Any

import msgspec

from preference_registry import RegistrySnapshot

from ..effective import EffectiveValue
from ..kinds import KINDS
from ..service import HistoryEntry

__all__ = [
    "ChainStatus",
    "HistoryResponse",
    "LoginRequest",
    "PreferencesResponse",
    "RegistryView",
    "SessionResponse",
    "ValueBody",
    "registry_view",
]


class ValueBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Body of ``PUT /api/v1/preferences/{key}``."""

    value: Any
    """The new value; its schema depends on the key (see the ``PreferenceValue.<key>`` components)."""


class PreferencesResponse(msgspec.Struct, frozen=True, kw_only=True):
    """Every preference of the current subject."""

    registry_version: str
    """Registry version the values were computed with."""
    gpc: bool
    """Whether the request carried ``Sec-GPC: 1``."""
    subject_kind: str
    """``anonymous`` or ``customer``."""
    preferences: dict[str, EffectiveValue]
    """By key, in display order."""


class ChainStatus(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Result of verifying the subject's ledger hash chain."""

    valid: bool
    """Every event verifies."""
    broken_at_seq: int | None = None
    """First event that does not verify."""
    reason: str | None = None
    """Why."""


class HistoryResponse(msgspec.Struct, frozen=True, kw_only=True):
    """The subject's own ledger."""

    events: list[HistoryEntry]
    """Newest first."""
    chain: ChainStatus
    """Whether the chain verifies."""


class LoginRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Body of ``POST /api/v1/session/login``."""

    token: str
    """Customer token issued by the shop's backend."""


class SessionResponse(msgspec.Struct, frozen=True, kw_only=True):
    """The session after login or logout."""

    subject_kind: str
    """``anonymous`` or ``customer``."""
    merged_keys: list[str] = msgspec.field(default_factory=list)
    """Keys taken over from the anonymous subject on login."""


class RegistryView(msgspec.Struct, frozen=True, kw_only=True):
    """The active registry as a frontend needs it, texts in one locale."""

    version: str
    """Registry version (also the basis of the ETag)."""
    locale: str
    """Locale of every text in this response."""
    default_locale: str
    """The shop's default locale."""
    locales: list[str]
    """Locales the shop offers."""
    shop: dict[str, Any]
    """Shop name, contact, privacy policy URL, theme."""
    sections: list[dict[str, Any]]
    """Sections in display order with the keys they contain."""
    preferences: list[dict[str, Any]]
    """Preference types in display order: texts, constraints, default, value schema, text hash."""


def _texts(snapshot: RegistrySnapshot, pref: Any, locale: str) -> dict[str, Any]:
    return snapshot.localized_texts(pref, locale)  # the registry's one list of shopper texts


def _preference(snapshot: RegistrySnapshot, pref: Any, locale: str) -> dict[str, Any]:
    """One type's item: the fields every kind has, then its kind's own (:data:`bff.kinds.KINDS`)."""
    kind = KINDS.of(pref)
    item: dict[str, Any] = {
        "key": pref.key,
        "kind": pref.kind,
        **_texts(snapshot, pref, locale),
        "section": pref.section,
        "requires": list(pref.requires),
        "default": snapshot.default_value(pref.key),
        "text_hash": snapshot.text_hash(pref.key),
        "value_schema": snapshot.value_schema(pref.key),
    }
    item.update(kind.view(snapshot, pref, locale))
    return item


def registry_view(snapshot: RegistrySnapshot, locale: str) -> RegistryView:
    shop = snapshot.shop
    sections = []
    for section, prefs in snapshot.sections():
        sections.append(
            {
                "key": section.key if section else None,
                "title": snapshot.text(section.title, locale) if section else None,
                "description": snapshot.text(section.description, locale) if section else None,
                "preferences": [pref.key for pref in prefs],
            }
        )
    return RegistryView(
        version=snapshot.version,
        locale=locale,
        default_locale=snapshot.default_locale,
        locales=snapshot.locales,
        shop={
            "name": shop.name,
            "controller_contact": shop.controller_contact,
            "privacy_policy_url": shop.privacy_policy_url,
            "theme": shop.theme,
        },
        sections=sections,
        preferences=[_preference(snapshot, pref, locale) for pref in snapshot.preferences],
    )
