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

from .offload import Offloader

__all__ = ["Database", "is_sqlite"]

T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 30_000
PG_CONNECT_TIMEOUT_S = 5
"""Seconds to wait for a PostgreSQL connection (unless the URL sets ``connect_timeout``)."""


def is_sqlite(url: str | sa.URL) -> bool:
    return sa.make_url(url).get_backend_name() == "sqlite"


def _sqlite_engine(url: sa.URL, *, begin: str) -> Engine:
    engine = sa.create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        pool_size=8,
        max_overflow=24,
    )

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


_MAX_BATCH = 128


class _Job:
    """One queued write of the SQLite group commit."""

    __slots__ = ("done", "error", "result", "work")

    def __init__(self, work: Callable[[Connection], Any]) -> None:
        self.work = work
        self.result: Any = None
        self.error: BaseException | None = None
        self.done = False


class Database:
    """Connections to the prefkit database; thread-safe, meant to be used from worker threads."""

    def __init__(self, url: str | sa.URL) -> None:
        self.url = sa.make_url(url)
        self.sqlite = is_sqlite(self.url)
        if self.sqlite:
            self.engine = _sqlite_engine(self.url, begin="BEGIN")
            self.write_engine = _sqlite_engine(self.url, begin="BEGIN IMMEDIATE")
        else:
            # A server that accepts connections but never answers must not hang requests (or `migrate`) forever.
            timeout = {} if "connect_timeout" in self.url.query else {"connect_timeout": PG_CONNECT_TIMEOUT_S}
            self.engine = sa.create_engine(self.url, pool_size=10, max_overflow=22, pool_pre_ping=True,
                                           connect_args=timeout)
            self.write_engine = self.engine
        # SQLite has one writer at a time anyway. Queueing this process's writers on a lock, rather than
        # letting them all poll SQLite's busy handler (which sleeps up to 100 ms between tries), keeps
        # write latency flat under concurrency. Other processes are still serialized by BEGIN IMMEDIATE.
        self._write_lock: threading.Lock | None = threading.Lock() if self.sqlite else None
        self._fetch_sql: dict[str, str] = {}
        self.offload = Offloader(batched_reads=self.sqlite)
        """Runs this database's blocking calls off the event loop (see :mod:`bff.storage.offload`)."""
        self._queue_lock = threading.Lock()
        self._pending: list[_Job] = []

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection in a (read) transaction, rolled back at the end."""
        with self.engine.connect() as connection:
            yield connection

    @contextmanager
    def write(self, subjects: Iterable[str] = ()) -> Iterator[Connection]:
        """One transaction holding the write locks of ``subjects``; commits on success, rolls back on
        error."""
        with self._write_lock or nullcontext(), self.write_engine.begin() as connection:
            if not self.sqlite:
                for subject in sorted(set(subjects)):
                    connection.execute(
                        sa.text("SELECT pg_advisory_xact_lock(hashtext(:subject))"), {"subject": subject}
                    )
            yield connection

    def fetch_all(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        """Rows of one read-only statement, on a raw driver connection (the hot read path: no ORM,
        no explicit transaction; a single SELECT is atomic). ``sql`` uses ``?`` placeholders."""
        statement = self._fetch_sql.get(sql)
        if statement is None:
            statement = self._fetch_sql[sql] = sql if self.sqlite else sql.replace("?", "%s")
        dbapi_error = self.engine.dialect.loaded_dbapi.Error
        try:
            connection = self.engine.raw_connection()
        except dbapi_error as exc:
            raise sa.exc.DBAPIError.instance(statement, params, exc, dbapi_error) from exc
        try:
            cursor = connection.cursor()
            cursor.execute(statement, params)
            rows = cursor.fetchall()
            cursor.close()
        except dbapi_error as exc:
            # Same exception types as the SQLAlchemy paths (OperationalError... -> 503 problem upstream).
            raise sa.exc.DBAPIError.instance(statement, params, exc, dbapi_error) from exc
        finally:
            connection.close()  # back to the pool, which rolls back whatever the driver began
        return rows

    def run_write(self, subjects: Iterable[str], work: Callable[[Connection], T]) -> T:
        """``work(connection)`` in a write transaction holding ``subjects``' locks; returns its result once
        committed (durably). On SQLite, concurrent calls are group-committed (see :meth:`_group_commit`)."""
        if not self.sqlite:
            with self.write(subjects) as connection:
                return work(connection)
        return self._group_commit(work)

    def _group_commit(self, work: Callable[[Connection], T]) -> T:
        """SQLite group commit: the first writer to get the write lock runs every queued job, each in its
        own SAVEPOINT (a failing job is rolled back alone and gets its exception), then commits once for
        all of them — one fsync for the batch instead of one per write. Jobs of one subject run one after
        the other on one connection, so its ledger chain stays linear. Every caller returns only after the
        COMMIT that includes its work; if that COMMIT fails, every job of the batch gets the error."""
        job = _Job(work)
        with self._queue_lock:
            self._pending.append(job)
        assert self._write_lock is not None
        while not job.done:
            with self._write_lock:
                if job.done:  # a leader committed it while we queued for the lock
                    break
                with self._queue_lock:
                    batch, self._pending = self._pending[:_MAX_BATCH], self._pending[_MAX_BATCH:]
                try:
                    with self.write_engine.begin() as connection:
                        for item in batch:
                            try:
                                with connection.begin_nested():
                                    item.result = item.work(connection)
                            except Exception as exc:  # noqa: BLE001 - handed to the job's own caller
                                item.error = exc
                except Exception as exc:  # noqa: BLE001 - the COMMIT itself failed: nothing of the batch stands
                    for item in batch:
                        if item.error is None:
                            item.error, item.result = exc, None
                finally:
                    for item in batch:
                        item.done = True
        if job.error is not None:
            raise job.error
        return job.result  # type: ignore[return-value]

    def migrate(self) -> str | None:
        """Apply pending Alembic migrations; returns the revision the database is at."""
        from .migrate import upgrade

        return upgrade(self.write_engine)

    def ping(self) -> None:
        """Raise when the database cannot be reached."""
        with self.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))

    def dispose(self) -> None:
        self.offload.close()
        self.engine.dispose()
        if self.write_engine is not self.engine:
            self.write_engine.dispose()
