"""Engines for SQLite (WAL, durable commits) and PostgreSQL, and per-subject write serialization.

Reads run as single statements on the read engine. Writes run in :meth:`Database.write`: one
transaction that first takes a per-subject lock, so two concurrent writers for one subject run one
after the other and never fork its ledger chain:

* SQLite: the write engine opens every transaction with ``BEGIN IMMEDIATE`` (the database's one write
  lock is taken up front, before anything is read, so no read-then-upgrade deadlock can happen).
* PostgreSQL: ``pg_advisory_xact_lock(hashtext(subject))`` per subject, in sorted order (merges lock
  two subjects), released by commit or rollback. Writers of other subjects proceed in parallel.

The ``(subject, seq)`` unique constraint of ``consent_event`` is the last line of defence either way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

__all__ = ["Database", "is_sqlite"]

T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 30_000


def is_sqlite(url: str | sa.URL) -> bool:
    return sa.make_url(url).get_backend_name() == "sqlite"


def _sqlite_engine(url: sa.URL, *, begin: str) -> Engine:
    engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
                              pool_size=8, max_overflow=24)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite so the "begin" hook below decides how to begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit acknowledged to the client survives a power cut (NORMAL could lose it in WAL).
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql(begin)

    return engine


class Database:
    """Connections to the prefkit database; thread-safe, meant to be used from worker threads."""

    def __init__(self, url: str | sa.URL) -> None:
        self.url = sa.make_url(url)
        self.sqlite = is_sqlite(self.url)
        if self.sqlite:
            self.engine = _sqlite_engine(self.url, begin="BEGIN")
            self.write_engine = _sqlite_engine(self.url, begin="BEGIN IMMEDIATE")
        else:
            self.engine = sa.create_engine(self.url, pool_size=10, max_overflow=22, pool_pre_ping=True)
            self.write_engine = self.engine
        # SQLite has one writer at a time anyway. Queueing this process's writers on a lock, rather than
        # letting them all poll SQLite's busy handler (which sleeps up to 100 ms between tries), keeps
        # write latency flat under concurrency. Other processes are still serialized by BEGIN IMMEDIATE.
        self._write_lock: threading.Lock | None = threading.Lock() if self.sqlite else None
        self._fetch_sql: dict[str, str] = {}

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection in a (read) transaction, rolled back at the end."""
        with self.engine.connect() as connection:
            yield connection

    @contextmanager
    def write(self, subjects: Iterable[str] = ()) -> Iterator[Connection]:
        """One transaction holding the write locks of ``subjects``; commits on success, rolls back on error."""
        with self._write_lock or nullcontext(), self.write_engine.begin() as connection:
            if not self.sqlite:
                for subject in sorted(set(subjects)):
                    connection.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:subject))"),
                                       {"subject": subject})
            yield connection

    def fetch_all(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        """Rows of one read-only statement, on a raw driver connection (the hot read path: no ORM,
        no explicit transaction; a single SELECT is atomic). ``sql`` uses ``?`` placeholders."""
        statement = self._fetch_sql.get(sql)
        if statement is None:
            statement = self._fetch_sql[sql] = sql if self.sqlite else sql.replace("?", "%s")
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(statement, params)
            rows = cursor.fetchall()
            cursor.close()
        finally:
            connection.close()  # back to the pool, which rolls back whatever the driver began
        return rows

    def run_write(self, subjects: Iterable[str], work: Callable[[Connection], T]) -> T:
        """``work(connection)`` inside :meth:`write`."""
        with self.write(subjects) as connection:
            return work(connection)

    def migrate(self) -> str | None:
        """Apply pending Alembic migrations; returns the revision the database is at."""
        from .migrate import upgrade

        return upgrade(self.write_engine)

    def ping(self) -> None:
        """Raise when the database cannot be reached."""
        with self.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
        if self.write_engine is not self.engine:
            self.write_engine.dispose()
