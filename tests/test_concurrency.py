"""Concurrent writes for one subject through two real BFF processes on one database (SQLite file, and
PostgreSQL): parallel PATCHes to different keys and to one key lose no acknowledged update, and the ledger
holds exactly one event per acknowledged change, in a chain that verifies.

Every submitted value is chosen to differ from the state it can meet (see each test), so every
acknowledged request is a change and must leave exactly one ledger event.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from _bff_app import WRITE, write_registry
from _live_server import LiveServer

from bff.identity import SUBJECT_COOKIE
from bff.storage import ConsentEvent, Database, verify_chain

ROUNDS = 5
_events = ConsentEvent.__table__  # type: ignore[attr-defined]
COLORS = ["red", "green", "blue"]
ALL_COLOR_SETS = [list(c) for n in range(4) for c in itertools.combinations(COLORS, n)]  # 8, in option order


@pytest.fixture
def servers(tmp_path: Path, database_url: str) -> Iterator[tuple[list[LiveServer], str]]:
    registry = write_registry(tmp_path)
    first = LiveServer(registry, database_url, log_path=tmp_path / "a.log").start()
    second = LiveServer(registry, database_url, log_path=tmp_path / "b.log").start()
    try:
        yield [first, second], database_url
    finally:
        first.stop()
        second.stop()


def _cookie(server: LiveServer) -> str:
    return httpx.get(server.url + "/api/v1/preferences", timeout=10).cookies[SUBJECT_COOKIE]


def _parallel(servers: list[LiveServer], cookie: str, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    """PATCH every body at once (a barrier releases them together), alternating between the servers."""
    barrier = threading.Barrier(len(bodies))

    def send(index: int) -> httpx.Response:
        server = servers[index % len(servers)]
        with httpx.Client(
            base_url=server.url, headers=WRITE, cookies={SUBJECT_COOKIE: cookie}, timeout=60
        ) as client:
            barrier.wait(timeout=30)
            return client.patch("/api/v1/preferences", json=bodies[index])

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(send, range(len(bodies))))


def _current(server: LiveServer, cookie: str) -> dict[str, Any]:
    response = httpx.get(server.url + "/api/v1/preferences", cookies={SUBJECT_COOKIE: cookie}, timeout=10)
    return {key: item["value"] for key, item in response.json()["preferences"].items()}


def _subject(server: LiveServer, cookie: str) -> str:
    return httpx.get(server.url + "/api/v1/me/export", cookies={SUBJECT_COOKIE: cookie}, timeout=10).json()[
        "subject"
    ]


def _ledger(database_url: str, subject: str) -> list[Any]:
    database = Database(database_url)
    try:
        with database.read() as connection:
            assert verify_chain(connection, subject) is None
            return connection.execute(
                sa.select(_events.c.seq, _events.c.key, _events.c.old_value, _events.c.new_value)
                .where(_events.c.subject == subject)
                .order_by(_events.c.seq)
            ).all()
    finally:
        database.dispose()


def _different(key: str, current: Any) -> Any:
    """A valid value of ``key`` that differs from ``current``."""
    choices: dict[str, list[Any]] = {
        "newsletter": [True, False],
        "recommendations": [True, False],
        "service_quality": [True, False],
        "level": [0, 2, 4, 6, 8, 10],
        "balance": [0.0, 0.25, 0.5, 0.75, 1.0],
        "colors": ALL_COLOR_SETS,
        "size": ["s", "m"],
    }
    return next(value for value in choices[key] if value != current)


@pytest.mark.slow
def test_parallel_patches_to_different_keys_lose_nothing(servers: tuple[list[LiveServer], str]) -> None:
    live, database_url = servers
    cookie = _cookie(live[0])
    subject = _subject(live[0], cookie)
    keys = ["newsletter", "recommendations", "service_quality", "level", "balance", "colors", "size"]
    acknowledged = 0
    for _ in range(ROUNDS):
        before = _current(live[0], cookie)
        wanted = {key: _different(key, before[key]) for key in keys}
        responses = _parallel(live, cookie, [{key: value} for key, value in wanted.items()])
        assert [r.status_code for r in responses] == [200] * len(keys), [r.text for r in responses]
        acknowledged += len(keys)
        after = _current(live[1], cookie)
        assert {key: after[key] for key in keys} == wanted  # no update lost, no key reset by another
    events = _ledger(database_url, subject)
    assert len(events) == acknowledged
    assert Counter(event.key for event in events) == dict.fromkeys(keys, ROUNDS)


@pytest.mark.slow
def test_parallel_patches_to_one_key_lose_nothing(servers: tuple[list[LiveServer], str]) -> None:
    live, database_url = servers
    cookie = _cookie(live[0])
    subject = _subject(live[0], cookie)
    submitted_rounds: list[list[list[str]]] = []
    for _ in range(ROUNDS):
        current = _current(live[0], cookie)["colors"]
        # Every set but the current one: whatever order they run in, each meets a different value.
        values = [colors for colors in ALL_COLOR_SETS if colors != current]
        responses = _parallel(live, cookie, [{"colors": colors} for colors in values])
        assert [r.status_code for r in responses] == [200] * len(values), [r.text for r in responses]
        submitted_rounds.append(values)
    events = _ledger(database_url, subject)
    acknowledged = sum(len(values) for values in submitted_rounds)
    assert len(events) == acknowledged
    assert all(event.key == "colors" for event in events)
    # Each event continues from the one before (no write saw stale state)...
    previous: Any = []
    for event in events:
        assert event.old_value == previous, event
        previous = event.new_value
    # ...and each round's events are exactly that round's acknowledged values.
    start = 0
    for values in submitted_rounds:
        chunk = events[start : start + len(values)]
        assert sorted(map(tuple, (e.new_value for e in chunk))) == sorted(map(tuple, values))
        start += len(values)
    assert _current(live[1], cookie)["colors"] == previous
