"""``preference_state``: each subject's current stored decisions, read and written on the hot paths.

The statements are the plain-SQL ones of :mod:`bff.storage.hot` (run on the driver's cursor inside the
caller's transaction); this module turns their rows into :class:`StateRecord` and back.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from ..effective import StoredDecision
from .hot import StateRow, hot_sql, hot_sql_for

__all__ = [
    "StateRecord",
    "delete_state",
    "load_state",
    "save_state",
    "select_state_sql",
    "state_records",
]


class StateRecord(StoredDecision, frozen=True, kw_only=True):
    """A ``preference_state`` row in memory: the stored decision plus what the ledger already recorded
    about it."""

    expiry_logged: bool = False
    """The ``expiry`` ledger event of this decision was written (it is written once)."""
    gpc_logged: bool = False
    """The ``gpc`` ledger event (GPC overriding this grant) was written (it is written once)."""


def _records(rows: list[StateRow]) -> dict[str, StateRecord]:
    return {
        key: StateRecord(
            value=value,
            decided_at=decided_at,
            text_hash=text_hash,
            registry_version=version,
            made_under_gpc=gpc,
            expiry_logged=expiry,
            gpc_logged=gpc_logged,
        )
        for key, value, decided_at, text_hash, version, gpc, expiry, gpc_logged in rows
    }


def select_state_sql(sqlite: bool) -> str:
    """The statement (``?`` placeholder: the subject) whose driver rows :func:`state_records` decodes;
    for :meth:`bff.storage.engine.Database.fetch_point`."""
    return hot_sql_for(sqlite).select_state


def state_records(sqlite: bool, raw: list[tuple[Any, ...]]) -> dict[str, StateRecord]:
    """Driver rows of :func:`select_state_sql` as records by key."""
    return _records(hot_sql_for(sqlite).state_rows(raw))


def load_state(connection: Connection, subject: str) -> dict[str, StateRecord]:
    """``subject``'s stored decisions by key, read in the caller's (write) transaction."""
    return _records(hot_sql(connection).load_state(connection, subject))


def save_state(connection: Connection, subject: str, key: str, record: StateRecord, *, exists: bool) -> None:
    """Store ``record`` as ``subject``'s decision for ``key`` (``exists``: a row is there to update)."""
    hot_sql(connection).save_state(
        connection,
        subject,
        key,
        value=record.value,
        decided_at=record.decided_at,
        text_hash=record.text_hash,
        registry_version=record.registry_version,
        made_under_gpc=record.made_under_gpc,
        expiry_logged=record.expiry_logged,
        gpc_logged=record.gpc_logged,
        exists=exists,
    )


def delete_state(connection: Connection, subject: str, key: str) -> None:
    """Remove ``subject``'s decision for ``key`` (the default applies again)."""
    hot_sql(connection).delete(connection, subject, key)
