"""Engines for SQLite (WAL, durable commits) and PostgreSQL, and per-subject write serialization.

Point reads (:meth:`Database.fetch_point`, the hot ``GET`` path) on SQLite run inline on the calling
thread, on a connection of that thread's own, and never wait for a lock: an indexed read of one subject's
rows takes tens of microseconds, less than handing it to a worker thread and back (~80 µs measured, plus
the GIL ping-pong under load). WAL readers do not block on the writer, so this never stalls an event
loop; in the rare case SQLite still answers "busy" (a checkpoint or recovery holds the WAL index), the
read is retried in a worker thread that may wait. PostgreSQL point reads (a network round trip) always
run in a worker thread.

Other reads run as single statements on the read engine. Writes run in :meth:`Database.write`: one
transaction that first takes a per-subject lock, so two concurrent writers for one subject run one
after the other and never fork its ledger chain:

* SQLite: the write engine opens every transaction with ``BEGIN IMMEDIATE`` (the database's one write
  lock is taken up front, before anything is read, so no read-then-upgrade deadlock can happen). The
  service's writes (:meth:`Database.run_write_async`) are group-committed by one writer thread
  (:mod:`bff.storage.group_commit`).
* PostgreSQL: ``pg_advisory_xact_lock(hashtext(subject))`` per subject, in sorted order (merges lock
  two subjects), released by commit or rollback. Writers of other subjects proceed in parallel.

The ``(subject, seq)`` unique constraint of ``consent_event`` is the last line of defence either way.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from .group_commit import GroupCommitWriter, OnCommit, run_on_commit
from .hot import driver_execute
from .offload import Offloader

__all__ = ["Database", "is_sqlite"]

T = TypeVar("T")

logger = logging.getLogger("prefkit.storage")

SQLITE_BUSY_TIMEOUT_MS = 30_000
PG_POINT_POOL = 12
"""PostgreSQL connections one process keeps for point reads (one SELECT each, autocommit). A fixed pool
without overflow: an overflow connection is closed when it is returned, so under load every read beyond the
pool opened a connection, and a server process with it (measured: PostgreSQL then spent ~0.4 ms of CPU per
GET, ten times the query). A read finding the pool busy waits for a connection instead."""
PG_CONNECT_TIMEOUT_S = 5
"""Seconds to wait for a PostgreSQL connection (unless the URL sets ``connect_timeout``)."""


def _is_busy(error: BaseException) -> bool:
    """SQLite's "database is locked/busy" (a lock another connection holds), as opposed to real faults."""
    return getattr(error, "sqlite_errorcode", 0) & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def is_sqlite(url: str | sa.URL) -> bool:
    return sa.make_url(url).get_backend_name() == "sqlite"


def _sqlite_engine(url: sa.URL, *, begin: str, synchronous: str = "FULL") -> Engine:
    engine = sa.create_engine(
        url,
        hide_parameters=True,  # error messages (and so logs) never carry bound values: subject ids
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
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql(begin)

    return engine


class _WriterTurn:
    """Whose turn it is to write a SQLite file, across processes: an exclusive ``flock`` on a side file
    (``<database>-writer``), taken before ``BEGIN IMMEDIATE``.

    Why: SQLite's own lock has no queue. A process that finds it taken sleeps in the busy handler (1, 2, 5,
    10 ... 100 ms) and retries, and a process that writes continuously (a saturated BFF worker's group
    commit) takes it back in the microseconds between two transactions, so the others starve: measured, a
    ``prefkit dispatch`` beside a saturated worker got about 2 transactions a second, and two saturated
    workers' writes had a p99 of a second. A blocked ``flock`` is woken by the kernel the moment the lock is
    released, so writers take turns. SQLite's lock still guards the data (other tools do not take this one),
    and the kernel releases a dead process's ``flock``. ``flock`` locks belong to the open file, not to the
    process, so two :class:`Database` objects of one process on one file take turns too."""

    def __init__(self, path: str) -> None:
        self.path = f"{path}-writer"
        self._fd: int | None = None

    def __enter__(self) -> None:
        if self._fd is None:
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError as exc:  # e.g. a read-only folder: SQLite's lock alone then, as before
                logger.warning("no writer turn file %s (%s): writers of several processes may wait longer",
                               self.path, exc.strerror)
                self._fd = -1
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_EX)  # releases the GIL while it waits

    def __exit__(self, *_exc: object) -> None:
        if self._fd is not None and self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is not None and self._fd >= 0:
            os.close(self._fd)
        self._fd = None


def _sqlite_file(url: sa.URL) -> str | None:
    """The file of a SQLite URL, or ``None`` for an in-memory database."""
    database = url.database or ""
    if not database or database == ":memory:" or database.startswith("file:") or "mode=memory" in str(url):
        return None
    return os.path.abspath(database)


class Database:
    """Connections to the prefkit database; thread-safe, meant to be used from worker threads."""

    def __init__(self, url: str | sa.URL, *, durable_commits: bool = True) -> None:
        """``durable_commits=False`` (SQLite): a commit returns before the disk has it (``synchronous=NORMAL``
        in WAL mode: a power cut may lose this process's last commits, never corrupt the file, and the next
        durable commit of any process on the file makes them durable too). For a process whose records may
        be lost that way: the webhook dispatcher's leases and outcomes (a lost one means an event is sent
        again, which at-least-once delivery allows), not the shoppers' decisions."""
        self.url = sa.make_url(url)
        self.sqlite = is_sqlite(self.url)
        if self.sqlite:
            synchronous = "FULL" if durable_commits else "NORMAL"
            self.engine = _sqlite_engine(self.url, begin="BEGIN", synchronous=synchronous)
            self.write_engine = _sqlite_engine(self.url, begin="BEGIN IMMEDIATE", synchronous=synchronous)
        else:
            # A server that accepts connections but never answers must not hang requests (or `migrate`) forever.
            timeout = {} if "connect_timeout" in self.url.query else {"connect_timeout": PG_CONNECT_TIMEOUT_S}
            self.engine = sa.create_engine(self.url, pool_size=10, max_overflow=22, pool_pre_ping=True,
                                           hide_parameters=True,
                                           connect_args=timeout)
            self.write_engine = self.engine
        # Point reads (one SELECT: atomic without a transaction) on PostgreSQL: autocommit connections with no
        # pre-ping and no reset on return. Through the main pool a read was four round trips (ping, BEGIN,
        # SELECT, ROLLBACK), and PostgreSQL's backends spent as much CPU on them as the BFF did (bench/
        # workers.py). A dead connection is noticed by the SELECT itself and the read retried once
        # (:meth:`fetch_all`).
        self._point_engine: Engine | None = None if self.sqlite else sa.create_engine(
            self.url, pool_size=PG_POINT_POOL, max_overflow=0, isolation_level="AUTOCOMMIT", pool_reset_on_return=None,
            hide_parameters=True, connect_args=timeout,
        )
        # SQLite has one writer at a time anyway. Queueing this process's writers on a lock, rather than
        # letting them all poll SQLite's busy handler (which sleeps up to 100 ms between tries), keeps
        # write latency flat under concurrency. Other processes are still serialized by BEGIN IMMEDIATE.
        self._write_lock: threading.Lock | None = threading.Lock() if self.sqlite else None
        sqlite_file = _sqlite_file(self.url) if self.sqlite else None
        self._turn: _WriterTurn | None = _WriterTurn(sqlite_file) if sqlite_file else None
        self._fetch_sql: dict[str, str] = {}
        self.offload = Offloader()
        """Runs this database's blocking calls off the event loop (see :mod:`bff.storage.offload`)."""
        self._inline = threading.local()
        self._inline_connections: list[Any] = []
        self._inline_lock = threading.Lock()
        self._writer = GroupCommitWriter(self.write) if self.sqlite else None

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection in a (read) transaction, rolled back at the end."""
        with self.engine.connect() as connection:
            yield connection

    @contextmanager
    def write(self, subjects: Iterable[str] = ()) -> Iterator[Connection]:
        """One transaction holding the write locks of ``subjects``; commits on success, rolls back on
        error."""
        with self._write_lock or nullcontext(), self._turn or nullcontext(), self.write_engine.begin() as connection:
            if not self.sqlite:
                for subject in sorted(set(subjects)):
                    connection.execute(
                        sa.text("SELECT pg_advisory_xact_lock(hashtext(:subject))"), {"subject": subject}
                    )
            yield connection

    def fetch_all(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        """Rows of one read-only statement, on a raw driver connection (the hot read path: no ORM,
        no explicit transaction; a single SELECT is atomic). ``sql`` uses ``?`` placeholders. Blocks:
        call it from a worker thread."""
        statement = self._fetch_sql.get(sql)
        if statement is None:
            statement = self._fetch_sql[sql] = sql if self.sqlite else sql.replace("?", "%s")
        engine = self._point_engine or self.engine
        dbapi_error = engine.dialect.loaded_dbapi.Error
        # PostgreSQL: a connection that died while pooled (a server restart, an idle timeout) fails its first
        # statement; after such a disconnect the pool's other connections are suspect too, so the pool is
        # replaced and the read (idempotent) tried once more on a fresh connection.
        for last_try in (engine is self.engine, True):
            try:
                connection = engine.raw_connection()
            except dbapi_error as exc:  # cannot connect: raise like SQLAlchemy's own paths (-> 503)
                raise sa.exc.DBAPIError.instance(
                    statement, params, exc, dbapi_error, hide_parameters=True
                ) from exc
            try:
                return driver_execute(connection, dbapi_error, statement, params, fetch=True)
            except sa.exc.DBAPIError as exc:
                if last_try or not engine.dialect.is_disconnect(exc.orig, connection.dbapi_connection, None):
                    raise
                connection.invalidate()
                engine.dispose(close=False)
            finally:
                connection.close()  # back to the pool (SQLite's pool rolls back whatever the driver began)
        raise AssertionError("unreachable")  # the last try returns or raises

    async def fetch_point(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        """:meth:`fetch_all` for a short indexed read, from async code (see the module doc)."""
        if self.sqlite:
            connection = self._inline_connection()
            try:
                return connection.execute(sql, params).fetchall()  # sqlite3: no cursor bookkeeping of ours
            except sqlite3.Error as exc:
                if not _is_busy(exc):
                    raise sa.exc.DBAPIError.instance(
                        sql, params, exc, sqlite3.Error, hide_parameters=True
                    ) from exc
        return await self.offload.call(self.fetch_all, sql, params)

    def _inline_connection(self) -> Any:
        """This thread's own SQLite connection for inline reads: read-only, never waits for a lock.

        Opened directly rather than from the pool: the pool's connect hook sets pragmas under a 30 s
        busy timeout, which must not run on an event loop. WAL mode is a property of the file, set by
        the pooled connections."""
        connection = getattr(self._inline, "connection", None)
        if connection is None:
            args, kwargs = self.engine.dialect.create_connect_args(self.url)
            try:
                connection = sqlite3.connect(
                    *args, **{**kwargs, "timeout": 0, "isolation_level": None, "check_same_thread": False}
                )
                connection.execute("PRAGMA query_only=ON")
            except sqlite3.Error as exc:
                raise sa.exc.DBAPIError.instance(None, None, exc, sqlite3.Error) from exc
            with self._inline_lock:
                self._inline_connections.append(connection)
            self._inline.connection = connection
        return connection

    def run_write(
        self, subjects: Iterable[str], work: Callable[[Connection], T], *, on_commit: OnCommit | None = None
    ) -> T:
        """``work(connection)`` in a write transaction holding ``subjects``' locks; returns its result once
        committed (durably), after calling ``on_commit(result)`` (on this thread, or SQLite's writer
        thread). Blocks: call it from a worker thread (async code: :meth:`run_write_async`)."""
        if self._writer is not None:
            return self._writer.run_sync(work, on_commit=on_commit)
        with self.write(subjects) as connection:
            result = work(connection)
        run_on_commit(on_commit, result)
        return result

    async def run_write_async(
        self, subjects: Iterable[str], work: Callable[[Connection], T], *, on_commit: OnCommit | None = None
    ) -> T:
        """:meth:`run_write` from async code. On SQLite, concurrent writes are group-committed by one
        writer thread (:mod:`bff.storage.group_commit`).

        ``on_commit(result)`` runs once on this event loop after the COMMIT, before this call returns, and
        even when the caller is cancelled meanwhile (the work commits all the same); never for work that
        raised or was rolled back. What it announces is therefore exactly what is durable."""
        if self._writer is not None:
            return await self._writer.run(work, on_commit=on_commit)
        if on_commit is None:
            return await self.offload.call(self.run_write, list(subjects), work)
        loop = asyncio.get_running_loop()

        def announce(result: T) -> None:
            # Scheduled from the worker thread before it hands the result back, so the hook runs on the
            # loop ahead of the caller's continuation; a closed loop has nobody left to tell.
            try:
                loop.call_soon_threadsafe(run_on_commit, on_commit, result)
            except RuntimeError:
                pass

        return await self.offload.call(self._run_write_announcing, list(subjects), work, announce)

    def _run_write_announcing(
        self, subjects: list[str], work: Callable[[Connection], T], announce: Callable[[T], None]
    ) -> T:
        with self.write(subjects) as connection:
            result = work(connection)
        announce(result)
        return result

    def migrate(self) -> str | None:
        """Apply pending Alembic migrations; returns the revision the database is at."""
        from .migrate import upgrade

        return upgrade(self.write_engine)

    def ping(self) -> None:
        """Raise when the database cannot be reached."""
        with self.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))

    def dispose(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self.offload.close()
        with self._inline_lock:
            connections, self._inline_connections = self._inline_connections, []
            self._inline = threading.local()
        for connection in connections:
            connection.close()
        self.engine.dispose()
        if self.write_engine is not self.engine:
            self.write_engine.dispose()
        if self._turn is not None:
            with self._write_lock or nullcontext():
                self._turn.close()
        if self._point_engine is not None:
            self._point_engine.dispose()
