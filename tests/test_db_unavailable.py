"""Database unavailable: the API answers 503 application/problem+json promptly (never a 500, never a hang)
and recovers by itself when the database is back.

* PostgreSQL: a real ``prefkit serve`` on its own throwaway cluster, which the test stops (fast shutdown:
  every connection is cut) and starts again on the same port.
* SQLite: another process holds the database's write lock (a stuck backup, a crashed tool); writes give up
  after the busy timeout and answer 503 while reads keep working (WAL), and writes work again once the lock
  is released.

Hangs are caught by the HTTP client's timeout, not by timing assertions.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from _bff_app import WRITE, make_settings, wait_for, write_registry
from _live_server import LiveServer, free_port
from conftest import PG_SCRIPT, _pg_binaries_present, _unavailable

from bff.app import create_app
from bff.service import PreferenceService
from bff.storage import Database
from bff.storage import engine as storage_engine
from preference_registry import RegistryService

PROBLEM = "application/problem+json"


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == 503 and body["title"] == "Service unavailable"
    assert body["type"] in ("urn:prefkit:problem:database-unavailable", "urn:prefkit:problem:not-ready")
    assert "database" in body["detail"]


class _Cluster:
    """A throwaway PostgreSQL cluster of this test only, on a fixed port so it can come back."""

    def __init__(self) -> None:
        self.directory = tempfile.mkdtemp(prefix="prefkit-pg-outage-")
        self.port = free_port()

    def _run(self, command: str) -> str:
        result = subprocess.run(
            ["bash", str(PG_SCRIPT), command, self.directory],
            capture_output=True,
            text=True,
            timeout=180,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PREFKIT_PG_PORT": str(self.port)},
        )
        assert result.returncode == 0, result.stderr + result.stdout
        return result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""

    def start(self) -> str:
        return self._run("start")

    def stop(self) -> None:
        self._run("stop")


@pytest.fixture
def cluster() -> Iterator[_Cluster]:
    if not _pg_binaries_present():
        _unavailable("PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb)")
    own = _Cluster()
    try:
        yield own
    finally:
        own.stop()
        shutil.rmtree(own.directory, ignore_errors=True)


@pytest.mark.postgres
def test_postgres_down_answers_503_and_recovers(cluster: _Cluster, tmp_path: Path) -> None:
    url = cluster.start()
    registry = write_registry(tmp_path)
    with (
        LiveServer(registry, url, log_path=tmp_path / "server.log") as server,
        httpx.Client(base_url=server.url, headers=WRITE, timeout=20) as client,
    ):
        assert client.put("/api/v1/preferences/newsletter", json={"value": True}).status_code == 200
        assert client.get("/api/v1/readyz").status_code == 200

        cluster.stop()
        for _ in range(3):  # the pool's stale connections and fresh connects both end in 503
            _assert_unavailable(client.get("/api/v1/preferences"))
            _assert_unavailable(client.put("/api/v1/preferences/newsletter", json={"value": False}))
            _assert_unavailable(client.post("/api/v1/consents/reject-all"))
            _assert_unavailable(client.get("/api/v1/me/export"))
            _assert_unavailable(client.get("/api/v1/readyz"))
        assert client.get("/api/v1/healthz").status_code == 200  # the process itself is fine
        assert "retry-after" in client.get("/api/v1/preferences").headers

        assert cluster.start() == url
        wait_for(
            lambda: client.get("/api/v1/readyz").status_code == 200,
            timeout=30,
            message="readyz after restart",
        )
        document = client.get("/api/v1/preferences").json()
        assert document["preferences"]["newsletter"]["value"] is True  # nothing lost, nothing half-written
        assert client.put("/api/v1/preferences/newsletter", json={"value": False}).status_code == 200
        history = client.get("/api/v1/consents/history").json()
        assert [e["new_value"] for e in history["events"]] == [False, True] and history["chain"][
            "valid"
        ] is True
    # Every failure was mapped to 503 (the pool may still log its own failed resets of dead connections).
    assert "unhandled error" not in (tmp_path / "server.log").read_text()


@pytest.fixture
def sqlite_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Path]]:
    from litestar.testing import TestClient

    # How long a statement waits for another process's lock (30 s in production): shortened so the test
    # reaches the give-up path in a second; the code path is the same.
    monkeypatch.setattr(storage_engine, "SQLITE_BUSY_TIMEOUT_MS", 1000)
    path = tmp_path / "prefkit.db"
    registry = write_registry(tmp_path)
    url = f"sqlite:///{path}"
    database = Database(url)
    service = PreferenceService(RegistryService.from_file(registry), database)
    app = create_app(make_settings(registry, url), service=service)
    try:
        with TestClient(app, timeout=20) as client:
            yield client, path
    finally:
        database.dispose()


def test_sqlite_locked_by_another_process_answers_503_and_recovers(sqlite_app: tuple[Any, Path]) -> None:
    client, path = sqlite_app
    assert (
        client.put("/api/v1/preferences/newsletter", json={"value": True}, headers=WRITE).status_code == 200
    )
    blocker = sqlite3.connect(path, isolation_level=None, timeout=5)
    try:
        blocker.execute("BEGIN IMMEDIATE")  # holds the one write lock, like a stuck backup
        _assert_unavailable(
            client.put("/api/v1/preferences/newsletter", json={"value": False}, headers=WRITE)
        )
        _assert_unavailable(client.patch("/api/v1/preferences", json={"colors": ["red"]}, headers=WRITE))
        _assert_unavailable(client.delete("/api/v1/me", headers=WRITE))
        reads = client.get("/api/v1/preferences")
        assert reads.status_code == 200  # WAL: readers are not blocked by a writer
        assert reads.json()["preferences"]["newsletter"]["value"] is True
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert (
        client.put("/api/v1/preferences/newsletter", json={"value": False}, headers=WRITE).status_code == 200
    )
    events = client.get("/api/v1/consents/history").json()
    assert [e["new_value"] for e in events["events"]] == [False, True]  # the refused writes left nothing
    assert events["chain"]["valid"] is True


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port whose server accepts connections and never says a word (a hung database host)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)  # the kernel completes handshakes into the backlog; nobody ever answers
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


@pytest.mark.postgres
def test_serve_against_a_hung_postgres_gives_up_with_a_message(silent_server: int, tmp_path: Path) -> None:
    registry = write_registry(tmp_path)
    server = LiveServer(registry, f"postgresql+psycopg://prefkit@127.0.0.1:{silent_server}/prefkit")
    # Without a connect timeout this would wait forever; subprocess.run's timeout turns that into a failure.
    result = subprocess.run(
        server.command(), env=server.env, capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "cannot migrate" in result.stderr and "timeout" in result.stderr.lower(), result.stderr
