"""The SQL of the insights: the ledger events appended since a watermark (a primary-key range, so the
incremental index of :mod:`bff.insights.index` reads only what is new) and the reported orders.

What these return stays inside the server; suppression of small cells (k) and every ratio are applied in
one place, :mod:`bff.insights.aggregates`, before anything leaves.

The SQL is the same on SQLite and PostgreSQL except for the day of a timestamp (:func:`_day`) and the text
of a JSON value (SQLite stores it as UTF-8 bytes, PostgreSQL as ``json``; both cast to the JSON text).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .times import as_utc

__all__ = ["BANNER_METHODS", "CHOICE_METHODS", "conversion_rows", "ledger_after", "max_event_id"]

CHOICE_METHODS = ("ui", "api")
"""Ledger methods of a choice made in the preference center or through the API (beyond the banner)."""
BANNER_METHODS = ("accept_all", "reject_all")
"""Ledger methods of the banner's two buttons."""


def _sqlite(connection: Connection) -> bool:
    return connection.dialect.name == "sqlite"


def _day(connection: Connection, column: str) -> str:
    """``YYYY-MM-DD`` (UTC) of a timestamp column. SQLite stores ``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC."""
    if _sqlite(connection):
        return f"substr({column}, 1, 10)"
    return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


def _json_text(connection: Connection, column: str) -> str:
    return f"CAST({column} AS TEXT)"


def _window(
    since: datetime | None, until: datetime | None, column: str = "created_at"
) -> tuple[str, dict[str, Any]]:
    clauses, params = [], {}
    if since is not None:
        clauses.append(f"{column} >= :since")
        params["since"] = as_utc(since)
    if until is not None:
        clauses.append(f"{column} < :until")
        params["until"] = as_utc(until)
    return (" AND " + " AND ".join(clauses)) if clauses else "", params


def _rows(
    connection: Connection, sql: str, params: dict[str, Any], expanding: Sequence[str] = ()
) -> list[tuple]:
    statement = sa.text(sql)
    if expanding:
        statement = statement.bindparams(*(sa.bindparam(name, expanding=True) for name in expanding))
    return [tuple(row) for row in connection.execute(statement, params)]


def ledger_after(connection: Connection, after_id: int, limit: int) -> list[tuple]:
    """``(id, subject, seq, key, old value JSON, new value JSON, method, text_hash, day)`` of the ledger events
    with ``id > after_id``, in insertion order, at most ``limit`` (a primary-key range: the increments of
    :class:`bff.insights.index.LedgerIndex` cost what was appended, not what is stored)."""
    day = _day(connection, "created_at")
    sql = (
        f"SELECT id, subject, seq, key, {_json_text(connection, 'old_value')}, "
        f"{_json_text(connection, 'new_value')}, method, text_hash, {day} FROM consent_event "
        "WHERE id > :after ORDER BY id LIMIT :limit"
    )
    return _rows(connection, sql, {"after": after_id, "limit": limit})


def conversion_rows(
    connection: Connection, since: datetime | None = None, until: datetime | None = None
) -> list[tuple[str | None, float]]:
    """``(subject or None, value)`` of the reported orders in the window (stays inside the server)."""
    where, params = _window(since, until, "occurred_at")
    return _rows(connection, f"SELECT subject, value FROM conversion WHERE 1 = 1{where}", params)


def max_event_id(connection: Connection) -> int:
    """The largest ledger id now (0 for an empty ledger)."""
    return int(connection.execute(sa.text("SELECT COALESCE(MAX(id), 0) FROM consent_event")).scalar_one())
