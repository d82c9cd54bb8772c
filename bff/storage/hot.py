"""The hot paths' statements in plain SQL on the driver's own cursor, for SQLite and PostgreSQL.

A consent change runs five statements. Built with SQLAlchemy Core each cost ~0.2 ms of Python
(construction, cache key, compilation); even ``exec_driver_sql`` costs ~30 µs of execution-context and
result bookkeeping per statement — more than SQLite's own work. So they are fixed strings run on the
DBAPI cursor of the SQLAlchemy connection (same connection, same transaction), with driver errors
wrapped in SQLAlchemy's exception types like every other path. Parameters are encoded exactly like the
SQLAlchemy column types store them, so rows written here and rows written elsewhere through SQLAlchemy
are indistinguishable:

* JSON values: JSON text (``msgspec``); on SQLite bound as UTF-8 bytes, which column affinity never
  converts (see :class:`bff.storage.models.ExactJSON`); on PostgreSQL sent untyped, so the server casts
  it to ``json``.
* Timestamps: on SQLite SQLAlchemy's text form ``YYYY-MM-DD HH:MM:SS.ffffff`` (UTC); on PostgreSQL an
  aware ``datetime`` for ``timestamptz``.
* Booleans: 0/1 on SQLite, ``bool`` on PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .models import decode_sqlite_json
from .times import as_utc

__all__ = ["HotSql", "StateRow", "driver_execute", "execute_on", "hot_sql", "hot_sql_for"]

_encode = msgspec.json.encode

_SELECT_STATE = (
    "SELECT key, value, decided_at, text_hash, registry_version, made_under_gpc, expiry_logged, "
    "gpc_logged FROM preference_state WHERE subject = ?"
)
_INSERT_STATE = (
    "INSERT INTO preference_state (subject, key, value, decided_at, text_hash, registry_version, "
    "made_under_gpc, expiry_logged, gpc_logged) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_UPDATE_STATE = (
    "UPDATE preference_state SET value = ?, decided_at = ?, text_hash = ?, registry_version = ?, "
    "made_under_gpc = ?, expiry_logged = ?, gpc_logged = ? WHERE subject = ? AND key = ?"
)
_DELETE_STATE = "DELETE FROM preference_state WHERE subject = ? AND key = ?"
_CHAIN_HEAD = "SELECT seq, hash FROM consent_event WHERE subject = ? ORDER BY seq DESC LIMIT 1"
_INSERT_EVENT = (
    "INSERT INTO consent_event (subject, seq, key, old_value, new_value, method, registry_version, "
    "text_hash, made_under_gpc, created_at, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

StateRow = tuple[str, Any, datetime, str, str, bool, bool, bool]
"""``(key, value, decided_at (aware UTC), text_hash, registry_version, made_under_gpc, expiry_logged,
gpc_logged)``."""


def driver_execute(
    driver: Any,
    error: type[Exception],
    statement: str,
    params: Any,
    *,
    fetch: bool = False,
    many: bool = False,
) -> list[tuple[Any, ...]]:
    """Run ``statement`` on a DBAPI connection; its rows when ``fetch``. Driver errors (``error``, the
    DBAPI's base class) are raised as SQLAlchemy's ``DBAPIError`` subclasses (``IntegrityError``,
    ``OperationalError``...), like every SQLAlchemy path, so callers handle one family of exceptions."""
    try:
        cursor = driver.cursor()
        try:
            if many:
                cursor.executemany(statement, params)
            else:
                cursor.execute(statement, params)
            return cursor.fetchall() if fetch else []
        finally:
            cursor.close()
    except error as exc:
        raise sa.exc.DBAPIError.instance(statement, params, exc, error, hide_parameters=True) from exc


def execute_on(connection: Connection, statement: str, params: Any, *, fetch: bool = False,
               many: bool = False) -> list[tuple[Any, ...]]:
    """:func:`driver_execute` on the DBAPI connection under a SQLAlchemy ``connection`` (its transaction)."""
    return driver_execute(connection.connection.driver_connection, connection.dialect.loaded_dbapi.Error,
                          statement, params, fetch=fetch, many=many)


class HotSql:
    """Dialect-specific plain-SQL statements of the hot paths."""

    def __init__(self, sqlite: bool) -> None:
        self.sqlite = sqlite
        convert = (lambda sql: sql) if sqlite else (lambda sql: sql.replace("?", "%s"))
        self.select_state = convert(_SELECT_STATE)
        self.insert_state = convert(_INSERT_STATE)
        self.update_state = convert(_UPDATE_STATE)
        self.delete_state = convert(_DELETE_STATE)
        self.chain_head_sql = convert(_CHAIN_HEAD)
        self.insert_event = convert(_INSERT_EVENT)

    # -- encoding -------------------------------------------------------------------------------
    def json(self, value: Any) -> bytes | str:
        return _encode(value) if self.sqlite else _encode(value).decode()

    def time(self, moment: datetime) -> Any:
        if self.sqlite:
            return as_utc(moment).strftime("%Y-%m-%d %H:%M:%S.%f")
        return as_utc(moment)

    def flag(self, value: bool) -> Any:
        return int(value) if self.sqlite else bool(value)

    def state_rows(self, raw: list[tuple[Any, ...]]) -> list[StateRow]:
        """Driver rows of :attr:`select_state` decoded (JSON, timestamps, flags)."""
        if self.sqlite:  # JSON as bytes (older rows: text, or numbers), timestamps as text
            return [
                (
                    key,
                    decode_sqlite_json(value),
                    as_utc(datetime.fromisoformat(decided_at)),
                    text_hash,
                    version,
                    bool(gpc),
                    bool(expiry),
                    bool(gpc_logged),
                )
                for key, value, decided_at, text_hash, version, gpc, expiry, gpc_logged in raw
            ]
        return [
            (key, value, as_utc(decided_at), text_hash, version, bool(gpc), bool(expiry), bool(gpc_logged))
            for key, value, decided_at, text_hash, version, gpc, expiry, gpc_logged in raw
        ]

    # -- statements on a connection in a write transaction ------------------------------------------
    def load_state(self, connection: Connection, subject: str) -> list[StateRow]:
        return self.state_rows(execute_on(connection, self.select_state, (subject,), fetch=True))

    def save_state(
        self,
        connection: Connection,
        subject: str,
        key: str,
        *,
        value: Any,
        decided_at: datetime,
        text_hash: str,
        registry_version: str,
        made_under_gpc: bool,
        expiry_logged: bool,
        gpc_logged: bool,
        exists: bool,
    ) -> None:
        encoded = (
            self.json(value),
            self.time(decided_at),
            text_hash,
            registry_version,
            self.flag(made_under_gpc),
            self.flag(expiry_logged),
            self.flag(gpc_logged),
        )
        if exists:
            execute_on(connection, self.update_state, (*encoded, subject, key))
        else:
            execute_on(connection, self.insert_state, (subject, key, *encoded))

    def delete(self, connection: Connection, subject: str, key: str) -> None:
        execute_on(connection, self.delete_state, (subject, key))

    def chain_head(self, connection: Connection, subject: str) -> tuple[int, str] | None:
        rows = execute_on(connection, self.chain_head_sql, (subject,), fetch=True)
        return (rows[0][0], rows[0][1]) if rows else None

    def insert_events(self, connection: Connection, rows: list[dict[str, Any]]) -> None:
        params = [
            (
                r["subject"],
                r["seq"],
                r["key"],
                self.json(r["old_value"]),
                self.json(r["new_value"]),
                r["method"],
                r["registry_version"],
                r["text_hash"],
                self.flag(r["made_under_gpc"]),
                self.time(r["created_at"]),
                r["prev_hash"],
                r["hash"],
            )
            for r in rows
        ]
        if len(params) == 1:
            execute_on(connection, self.insert_event, params[0])
        else:
            execute_on(connection, self.insert_event, params, many=True)


_by_dialect = {True: HotSql(True), False: HotSql(False)}


def hot_sql(connection: Connection) -> HotSql:
    """The statements for ``connection``'s dialect."""
    return _by_dialect[connection.dialect.name == "sqlite"]


def hot_sql_for(sqlite: bool) -> HotSql:
    return _by_dialect[sqlite]
