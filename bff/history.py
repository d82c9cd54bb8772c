"""A subject's ledger as the shopper reads it: each event with the wording of the registry version it
was made under."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import msgspec

from preference_registry import RegistrySnapshot

from .storage.times import as_utc
from .wording import snapshot_for_version

__all__ = ["HistoryEntry", "history_entries"]


class HistoryEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One ledger event of a subject, with the wording the shopper saw."""

    id: int
    """Ledger row id."""
    seq: int
    """Position in the subject's chain (1 = first)."""
    key: str
    """Preference key."""
    old_value: Any
    """Value before."""
    new_value: Any
    """Value after."""
    method: str
    """How it happened: ``ui``, ``api``, ``accept_all``, ``reject_all``, ``gpc``, ``expiry``, ``merge``..."""
    created_at: datetime
    """When (UTC)."""
    registry_version: str
    """Registry version in force."""
    text_hash: str
    """Hash of the wording shown."""
    made_under_gpc: bool
    """The browser sent a GPC signal."""
    title: str | None
    """The preference's title as worded in that registry version, in the requested locale."""
    description: str | None
    """Its description, likewise."""
    hash: str
    """This event's chain hash."""


def history_entries(
    rows: Iterable[Any],
    current: RegistrySnapshot,
    sources: dict[str, tuple[str, str]],
    locale: str | None,
) -> list[HistoryEntry]:
    """Ledger ``rows`` (in the order given) with their wording in ``locale`` (falling back to each
    version's default locale); ``sources`` are the stored documents of the versions they name."""
    entries = []
    for row in rows:
        snapshot = snapshot_for_version(row.registry_version, current, sources)
        # The experiment arm the shopper saw, when the event's hash names one; else the type as declared.
        pref = (snapshot.wording_for(row.key, row.text_hash) or snapshot.get(row.key)) if snapshot else None
        title = description = None
        if snapshot is not None and pref is not None:
            shown_locale = locale if locale in snapshot.locales else snapshot.default_locale
            title = snapshot.text(pref.title, shown_locale)
            description = snapshot.text(pref.description, shown_locale)
        entries.append(
            HistoryEntry(
                id=row.id,
                seq=row.seq,
                key=row.key,
                old_value=row.old_value,
                new_value=row.new_value,
                method=row.method,
                created_at=as_utc(row.created_at),
                registry_version=row.registry_version,
                text_hash=row.text_hash,
                made_under_gpc=bool(row.made_under_gpc),
                title=title,
                description=description,
                hash=row.hash,
            )
        )
    return entries
