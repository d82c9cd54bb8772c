"""Webhooks under crashes, against real processes: ``prefkit serve`` (delivering itself, from its dispatcher
process or from its worker's event loop) SIGKILLed during a burst of writes with deliveries in flight, and
separately a ``prefkit dispatch`` process SIGKILLed; after restarts every acknowledged write's event
reaches the receiver at least once, in ledger order per subject, on SQLite and PostgreSQL. ``serve``
restarts its dispatcher process when it dies, and the dispatcher stops by itself when ``serve`` is
SIGKILLed. And two dispatchers on one PostgreSQL database never send an event twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from _bff_app import wait_for
from _live_server import LiveServer, server_env
from _webhook_receiver import Receiver, make_secret

from bff.storage import Database

pytestmark = pytest.mark.slow

SECRET_ENV = "TEST_WEBHOOK_SECRET"
WRITE = {"X-Prefkit-CSRF": "1"}
REGISTRY = """
[shop]
name = "Webhook Shop"
default_locale = "en"
locales = ["en"]

[[preferences]]
key = "balance"
kind = "slider"
min = 0
max = 100
step = 1
default = 50
title = "Balance"
"""


def _webhooks_file(tmp_path: Path, url: str, *, in_bff: bool, process: bool = True) -> Path:
    path = tmp_path / "webhooks.toml"
    path.write_text(
        f"""
[dispatch]
timeout_seconds = 1
lease_seconds = 3
first_retry_seconds = 0.2
max_retry_interval_seconds = 1
in_bff = {"true" if in_bff else "false"}
process = {"true" if process else "false"}

[[subscribers]]
name = "crm"
url = "{url}"
secret_env = "{SECRET_ENV}"
events = ["preference.*"]
""",
        encoding="utf-8",
    )
    return path


class _Writers:
    """Threads writing real changes (one subject each, one request in flight), counting acknowledgements."""

    def __init__(self, count: int) -> None:
        self.clients = [httpx.Client(timeout=10) for _ in range(count)]
        self.acknowledged = [0] * count
        self.url = ""
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self, url: str) -> None:
        self.url, self._stop = url, threading.Event()
        self._threads = [threading.Thread(target=self._write, args=(i,), daemon=True) for i in range(len(self.clients))]
        for thread in self._threads:
            thread.start()

    def _write(self, index: int) -> None:
        client = self.clients[index]
        while not self._stop.is_set():
            value = (self.acknowledged[index] + 1) % 100  # differs from the stored value: a real change
            try:
                response = client.put(f"{self.url}/api/v1/preferences/balance", json={"value": value}, headers=WRITE)
            except httpx.HTTPError:
                return  # the server died with this write in flight (committed or not: never acknowledged)
            if response.status_code != 200:
                return
            self.acknowledged[index] += 1
            # A shopper-like pace (still ~50 changes/s per subject): without it, PostgreSQL takes thousands
            # of writes per subject in the burst, and the test would measure draining a backlog one
            # subject-ordered delivery at a time rather than what a kill does.
            self._stop.wait(0.02)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def total(self) -> int:
        return sum(self.acknowledged)


def _ledger(database_url: str) -> dict[str, int]:
    database = Database(database_url)
    try:
        with database.read() as connection:
            rows = connection.execute(sa.text("SELECT subject, max(seq) FROM consent_event GROUP BY subject")).all()
        return {subject: seq for subject, seq in rows}
    finally:
        database.dispose()


def _check_delivered(receiver: Receiver, ledger: dict[str, int], acknowledged: list[int]) -> None:
    """Every ledger event delivered at least once, first arrivals in ledger order per subject."""
    seen: dict[str, list[int]] = {}
    for event in receiver.events("preference."):
        for change in event["data"]["changes"]:
            order = seen.setdefault(event["data"]["subject"], [])
            if change["ledger_seq"] not in order:
                order.append(change["ledger_seq"])
    assert receiver.rejected == []
    assert {subject: order for subject, order in seen.items()} == {
        subject: list(range(1, last + 1)) for subject, last in ledger.items()
    }
    # The ledger holds every acknowledged write (each a real change: one event), so each was delivered.
    assert len(ledger) == len(acknowledged) and sum(ledger.values()) >= sum(acknowledged) > 0


def _queue(database_url: str) -> Counter[tuple[str, bool, int]]:
    """Deliveries by (status, leased, attempts): what the assertion messages show when delivery stalls."""
    database = Database(database_url)
    try:
        with database.read() as connection:
            rows = connection.execute(sa.text("SELECT status, lease_owner, attempts FROM webhook_delivery")).all()
        return Counter((status, owner is not None, attempts) for status, owner, attempts in rows)
    finally:
        database.dispose()


def _wait_all_delivered(receiver: Receiver, database_url: str, timeout: float) -> None:
    try:
        receiver.wait_for(_all_delivered(lambda: _ledger(database_url)), timeout=timeout,
                          message="every ledger event delivered")
    except AssertionError as exc:
        raise AssertionError(f"{str(exc)[:300]}; queue: {_queue(database_url)}; "
                             f"incomplete requests: {receiver.incomplete}") from None


def _all_delivered(ledger_of: Any) -> Any:
    def condition(receiver: Receiver) -> bool:
        ledger = ledger_of()
        got = Counter()
        for event in receiver.unique().values():
            got[event["data"]["subject"]] += len(event["data"]["changes"])
        return bool(ledger) and all(got[s] >= n for s, n in ledger.items())

    return condition


@pytest.mark.parametrize("process", [True, False], ids=["dispatcher process", "dispatcher in the worker"])
def test_sigkill_of_the_server_during_a_burst_loses_no_event(database_url: str, tmp_path: Path, process: bool) -> None:
    registry = tmp_path / "registry.toml"
    registry.write_text(REGISTRY, encoding="utf-8")
    with Receiver(make_secret()) as receiver:
        receiver.delay = 0.005
        webhooks = _webhooks_file(tmp_path, receiver.url, in_bff=True, process=process)
        env = {"PREFKIT_WEBHOOKS": str(webhooks), SECRET_ENV: receiver.secret}
        writers = _Writers(4)
        kills_with_deliveries_pending = 0
        for cycle in range(3):
            server = LiveServer(registry, database_url, log_path=tmp_path / "server.log", **env).start()
            before = writers.total()
            writers.start(server.url)
            deadline = time.monotonic() + 60
            while writers.total() < before + 40 and time.monotonic() < deadline:
                time.sleep(0.01)
            delivered = len(receiver.unique())
            server.kill()  # SIGKILL: mid-burst, deliveries in flight
            writers.stop()
            ledger_events = sum(_ledger(database_url).values())
            kills_with_deliveries_pending += delivered < ledger_events
            assert writers.total() >= before + 40, f"cycle {cycle}: the burst did not get going"
        assert kills_with_deliveries_pending >= 2  # the kills really left deliveries undone
        with LiveServer(registry, database_url, log_path=tmp_path / "server.log", **env):
            _wait_all_delivered(receiver, database_url, 60)
        _check_delivered(receiver, _ledger(database_url), writers.acknowledged)


def _dispatch_children(pid: int) -> list[int]:
    """Live (not zombie) ``prefkit dispatch`` processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # gone meanwhile
        state, parent = stat.rsplit(")", 1)[1].split()[:2]
        if int(parent) == pid and state != "Z" and b"dispatch" in command:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_serve_restarts_its_dispatcher_process_which_stops_when_serve_is_killed(sqlite_url: str, tmp_path: Path) -> None:
    registry = tmp_path / "registry.toml"
    registry.write_text(REGISTRY, encoding="utf-8")
    with Receiver(make_secret()) as receiver:
        webhooks = _webhooks_file(tmp_path, receiver.url, in_bff=True)
        env = {"PREFKIT_WEBHOOKS": str(webhooks), SECRET_ENV: receiver.secret}
        server = LiveServer(registry, sqlite_url, log_path=tmp_path / "server.log", **env).start()
        try:
            assert server.process is not None
            [first] = wait_for(lambda: _dispatch_children(server.process.pid), message="serve's dispatcher process")
            with httpx.Client(base_url=server.url, headers=WRITE, timeout=10) as client:
                assert client.put("/api/v1/preferences/balance", json={"value": 1}).status_code == 200
                receiver.wait_for(lambda r: len(r.unique()) == 1, message="the first change")

                os.kill(first, signal.SIGKILL)
                [second] = wait_for(lambda: [p for p in _dispatch_children(server.process.pid) if p != first],
                                    timeout=20, message="a restarted dispatcher process")
                assert client.put("/api/v1/preferences/balance", json={"value": 2}).status_code == 200
                receiver.wait_for(lambda r: len(r.unique()) == 2, message="a change after the restart")
            assert "webhook dispatcher process exited" in (tmp_path / "server.log").read_text()

            server.kill()  # SIGKILL: serve cannot stop its dispatcher, which must notice by itself
            wait_for(lambda: not _alive(second), timeout=10, message="the orphaned dispatcher to stop")
        finally:
            server.kill()
    events = sorted(receiver.unique().values(), key=lambda e: e["sequence"])  # a kill may cause a re-send
    assert [e["data"]["changes"][0]["new_value"] for e in events] == [1, 2]


class _Dispatcher:
    """``prefkit dispatch`` as a process."""

    def __init__(self, database_url: str, env: dict[str, str], log: Path) -> None:
        self.command = [sys.executable, "-m", "bff.cli", "dispatch", "--database-url", database_url]
        self.env = server_env(**env)
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> _Dispatcher:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
        return self

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def test_sigkill_of_the_dispatcher_process_loses_no_event(database_url: str, tmp_path: Path) -> None:
    registry = tmp_path / "registry.toml"
    registry.write_text(REGISTRY, encoding="utf-8")
    with Receiver(make_secret()) as receiver:
        receiver.delay = 0.01
        webhooks = _webhooks_file(tmp_path, receiver.url, in_bff=False)
        env = {"PREFKIT_WEBHOOKS": str(webhooks), SECRET_ENV: receiver.secret}
        writers = _Writers(4)
        with LiveServer(registry, database_url, log_path=tmp_path / "server.log", **env) as server:
            writers.start(server.url)
            for _cycle in range(2):
                dispatcher = _Dispatcher(database_url, env, tmp_path / "dispatch.log").start()
                seen = len(receiver.received)
                try:
                    receiver.wait_for(lambda r, seen=seen: len(r.received) >= seen + 20, timeout=60,
                                      message="deliveries under way")
                except AssertionError:
                    raise AssertionError(f"stalled: {_queue(database_url)}; {receiver.incomplete}; "
                                         f"{(tmp_path / 'dispatch.log').read_text()[-3000:]}") from None
                dispatcher.kill()  # mid-delivery: its leased rows must come back
            writers.stop()
            assert writers.total() >= 40
            dispatcher = _Dispatcher(database_url, env, tmp_path / "dispatch.log").start()
            try:
                _wait_all_delivered(receiver, database_url, 90)
            finally:
                dispatcher.stop()
        _check_delivered(receiver, _ledger(database_url), writers.acknowledged)


@pytest.mark.postgres
def test_two_dispatchers_on_one_postgres_never_send_an_event_twice(fresh_postgres_url: str, tmp_path: Path) -> None:
    registry = tmp_path / "registry.toml"
    registry.write_text(REGISTRY, encoding="utf-8")
    with Receiver(make_secret()) as receiver:
        receiver.delay = 0.002
        webhooks = _webhooks_file(tmp_path, receiver.url, in_bff=False)
        env = {"PREFKIT_WEBHOOKS": str(webhooks), SECRET_ENV: receiver.secret}
        dispatchers = [_Dispatcher(fresh_postgres_url, env, tmp_path / f"dispatch{i}.log") for i in range(2)]
        writers = _Writers(8)
        with LiveServer(registry, fresh_postgres_url, log_path=tmp_path / "server.log", **env) as server:
            for dispatcher in dispatchers:
                dispatcher.start()
            try:
                writers.start(server.url)
                deadline = time.monotonic() + 60
                while writers.total() < 300 and time.monotonic() < deadline:
                    time.sleep(0.02)
                writers.stop()
                _wait_all_delivered(receiver, fresh_postgres_url, 90)
                for dispatcher in dispatchers:
                    assert dispatcher.process is not None and dispatcher.process.poll() is None  # both alive
            finally:
                for dispatcher in dispatchers:
                    dispatcher.stop()
        ids = Counter(event["_id"] for event in receiver.received)
        assert writers.total() >= 300
        assert [webhook_id for webhook_id, count in ids.items() if count > 1] == []
        _check_delivered(receiver, _ledger(fresh_postgres_url), writers.acknowledged)
        # Both took part (each logs its lease name when it starts; deliveries are split by the leases).
        assert all("delivering to: crm" in (tmp_path / f"dispatch{i}.log").read_text() for i in range(2))
