"""``registry_version``: every registry document ever activated, so any decision's wording can be shown
again (history, export, receipts)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from preference_registry import RegistrySnapshot

from .models import RegistryVersionRow
from .times import as_utc

__all__ = [
    "StoredVersion",
    "latest_version",
    "list_versions",
    "registry_sources",
    "store_version",
]

_versions = RegistryVersionRow.__table__  # type: ignore[attr-defined]

StoredVersion = tuple[str, str, str]
"""``(version, source_text, format)``."""


def latest_version(connection: Connection) -> StoredVersion | None:
    """The most recently activated stored version (by any process), if any."""
    row = connection.execute(
        sa.select(_versions.c.version, _versions.c.source_text, _versions.c.format)
        .order_by(_versions.c.activated_at.desc())
        .limit(1)
    ).first()
    return None if row is None else (row.version, row.source_text, row.format)


def store_version(connection: Connection, snapshot: RegistrySnapshot, now: datetime) -> None:
    """Store ``snapshot``'s document, or mark the stored one activated at ``now``. Two processes storing the
    same new version at once: one of them gets ``IntegrityError`` (the row is stored all the same)."""
    exists = connection.execute(
        sa.select(_versions.c.version).where(_versions.c.version == snapshot.version)
    ).first()
    if exists:
        connection.execute(
            sa.update(_versions).where(_versions.c.version == snapshot.version).values(activated_at=now)
        )
    else:
        connection.execute(
            sa.insert(_versions).values(
                version=snapshot.version,
                source_text=snapshot.source_text,
                format=snapshot.format,
                source=(snapshot.source or "")[:500] or None,
                activated_at=now,
            )
        )


def registry_sources(connection: Connection, versions: set[str]) -> dict[str, tuple[str, str]]:
    """``version -> (source_text, format)`` of the stored registry versions among ``versions``: what
    reproduces the wording a shopper saw at a decision."""
    if not versions:
        return {}
    query = sa.select(_versions.c.version, _versions.c.source_text, _versions.c.format).where(
        _versions.c.version.in_(versions)
    )
    return {row.version: (row.source_text, row.format) for row in connection.execute(query)}


def list_versions(connection: Connection) -> list[dict[str, Any]]:
    """Stored versions, most recently activated first: ``version``, ``format``, ``source``,
    ``activated_at`` (aware UTC)."""
    result = connection.execute(
        sa.select(
            _versions.c.version, _versions.c.format, _versions.c.source, _versions.c.activated_at
        ).order_by(_versions.c.activated_at.desc())
    )
    return [
        {"version": r.version, "format": r.format, "source": r.source, "activated_at": as_utc(r.activated_at)}
        for r in result
    ]
