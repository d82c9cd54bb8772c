"""``cluster_notice``: what one process announces to the others sharing a SQLite file (:mod:`bff.cluster`).

Rows are short-lived (kept :data:`NOTICE_RETENTION_S`): a receiver reads the ones after the last id it saw
whenever ``PRAGMA data_version`` says another connection committed. ``AUTOINCREMENT`` so an id is never
reused after the newest rows were pruned (a receiver would skip them)."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Field, SQLModel

from .models import _UTC

__all__ = ["NOTICE_RETENTION_S", "ClusterNotice", "append_notices", "prune_notices"]

NOTICE_RETENTION_S = 300
"""How long a notice is kept: far longer than any receiver's poll interval."""


class ClusterNotice(SQLModel, table=True):
    """One announcement (a JSON payload) of one process."""

    __tablename__ = "cluster_notice"
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    """Order of announcement."""
    origin: str = Field(max_length=32)
    """The announcing process (its receiver skips its own notices)."""
    payload: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    """The notice, JSON."""
    created_at: datetime = Field(sa_column=sa.Column(_UTC, nullable=False, index=True))
    """When it was announced (UTC)."""


_notices = ClusterNotice.__table__  # type: ignore[attr-defined]


def append_notices(connection: Connection, origin: str, payloads: list[str], now: datetime) -> None:
    """Store ``payloads`` (in order) as ``origin``'s notices."""
    connection.execute(
        sa.insert(_notices), [{"origin": origin, "payload": payload, "created_at": now} for payload in payloads]
    )


def prune_notices(connection: Connection, now: datetime) -> None:
    """Forget notices older than :data:`NOTICE_RETENTION_S`."""
    connection.execute(
        sa.delete(_notices).where(_notices.c.created_at < now - timedelta(seconds=NOTICE_RETENTION_S))
    )
