"""The storage hot paths: group-committed writes (a failing job is rolled back alone, every caller gets
its own outcome, sync and async callers share one queue) and SQLite point reads on the event loop (a
locked database makes them wait in a worker thread, never on the loop)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bff.storage import Database
from bff.storage.hot import hot_sql

SELECT_STATE = "SELECT key, value FROM preference_state WHERE subject = ? ORDER BY key"


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    db.migrate()
    yield db
    db.dispose()


def _save(subject: str, key: str, value: object):  # noqa: ANN202 - a write job
    def work(connection: Connection) -> str:
        hot_sql(connection).save_state(
            connection,
            subject,
            key,
            value=value,
            decided_at=datetime.now(UTC),
            text_hash="h",
            registry_version="v",
            made_under_gpc=False,
            expiry_logged=False,
            gpc_logged=False,
            exists=False,
        )
        return f"{subject}/{key}"

    return work


class Refused(Exception):
    pass


def _save_then_fail(subject: str) -> object:
    def work(connection: Connection) -> None:
        _save(subject, "half_written", True)(connection)
        raise Refused(subject)

    return work


def _keys(database: Database, subject: str) -> list[str]:
    return [key for key, _ in database.fetch_all(SELECT_STATE, (subject,))]


def test_a_failing_write_is_rolled_back_alone_and_every_caller_gets_its_own_outcome(database: Database) -> None:
    subjects = [f"anon:{i:032x}" for i in range(12)]

    async def many() -> list[object]:
        jobs = [
            database.run_write_async([s], _save_then_fail(s) if i == 5 else _save(s, "marketing", i % 2 == 0))
            for i, s in enumerate(subjects)
        ]
        return await asyncio.gather(*jobs, return_exceptions=True)

    outcomes = asyncio.run(many())
    for i, (subject, outcome) in enumerate(zip(subjects, outcomes, strict=True)):
        if i == 5:
            assert isinstance(outcome, Refused) and str(outcome) == subject
            assert _keys(database, subject) == []  # its own first statement was rolled back too
        else:
            assert outcome == f"{subject}/marketing"
            assert _keys(database, subject) == ["marketing"]


def test_a_constraint_violation_reaches_the_caller_as_sqlalchemy_integrity_error(database: Database) -> None:
    subject = "anon:" + "a" * 32
    assert database.run_write([subject], _save(subject, "marketing", True)) == f"{subject}/marketing"
    with pytest.raises(sa.exc.IntegrityError):  # the same (subject, key) inserted twice
        database.run_write([subject], _save(subject, "marketing", False))
    [(key, value)] = database.fetch_all(SELECT_STATE, (subject,))
    # The first value stands (SQLite returns JSON text, PostgreSQL a decoded value).
    assert key == "marketing" and (json.loads(value) if isinstance(value, (str, bytes)) else value) is True


def test_sync_and_async_writers_share_one_order(database: Database) -> None:
    """Sync callers (worker threads, the CLI) and async callers go through the same queue: nothing is
    lost and nothing deadlocks when both write at once."""
    subject = "anon:" + "b" * 32

    async def mixed() -> list[str]:
        loop = asyncio.get_running_loop()
        sync = [loop.run_in_executor(None, database.run_write, [subject], _save(subject, f"s{i}", i)) for i in range(5)]
        asynchronous = [database.run_write_async([subject], _save(subject, f"a{i}", i)) for i in range(5)]
        return await asyncio.wait_for(asyncio.gather(*sync, *asynchronous), timeout=30)

    assert sorted(asyncio.run(mixed())) == sorted(
        [f"{subject}/s{i}" for i in range(5)] + [f"{subject}/a{i}" for i in range(5)]
    )
    assert _keys(database, subject) == sorted([f"s{i}" for i in range(5)] + [f"a{i}" for i in range(5)])


def test_point_read_on_a_locked_sqlite_database_waits_off_the_event_loop(sqlite_url: str) -> None:
    setup = Database(sqlite_url)
    setup.migrate()
    subject = "anon:" + "c" * 32
    setup.run_write([subject], _save(subject, "marketing", True))
    setup.dispose()  # no connection of ours left open: the holder below can take the database
    path = sa.make_url(sqlite_url).database
    assert path
    # Another process's connection holding the database exclusively: every other reader gets "busy".
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("COMMIT")
    database = Database(sqlite_url)

    async def scenario() -> tuple[list[int], bool, list[tuple[object, ...]]]:
        read = asyncio.create_task(database.fetch_point(SELECT_STATE, (subject,)))
        await asyncio.sleep(0)  # the read starts and meets the lock
        # Other work the loop is given meanwhile runs to its end while the read still waits: a read
        # blocking the loop would hand control back only once it had finished (or failed on the lock).
        other_work = [await asyncio.wait_for(asyncio.to_thread(pow, 2, n), timeout=30) for n in range(3)]
        waiting = not read.done()
        holder.close()  # lock released: the waiting read completes
        return other_work, waiting, await asyncio.wait_for(read, timeout=30)

    try:
        other_work, read_was_waiting, rows = asyncio.run(scenario())
    finally:
        holder.close()
        database.dispose()
    assert other_work == [1, 2, 4]
    assert read_was_waiting, "the read finished before the lock was released"
    assert [key for key, _ in rows] == ["marketing"]  # and then it read what was there
