"""Kill the BFF with SIGKILL repeatedly during a write load; check that nothing acknowledged was lost.

    python tests/scripts/kill_durability.py --database-url sqlite:////tmp/kill.db --cycles 5

Each cycle starts ``prefkit serve`` (a real uvicorn process), lets several writer threads — one subject
each, one request in flight per subject — write until the cycle's quota of acknowledged writes is
reached, then SIGKILLs the server mid-load. Every write is a real change (its value differs from the
subject's current value for that key), so each one committed must leave exactly one ledger event.

After the last cycle a fresh server is started and, straight from the database:

* every subject's ledger hash chain verifies;
* each subject's ledger is exactly its acknowledged writes, in order, plus possibly the one write that
  was in flight at each kill (committed or not: the client never heard) — nothing acknowledged is missing,
  nothing appears that was never sent;
* each key's stored value is that of its last ledger event.

Exit status 0 when all of that holds; the report is printed either way.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/: the live-server helper

from _live_server import LiveServer  # noqa: E402

from bff.identity import SUBJECT_COOKIE  # noqa: E402
from bff.storage import ConsentEvent, Database, PreferenceState, verify_chain  # noqa: E402

__all__ = ["KillReport", "main", "run"]

WRITE_HEADERS = {"X-Prefkit-CSRF": "1"}
VALUES: dict[str, list[Any]] = {
    "newsletter": [True, False],
    "balance": [0.0, 0.25, 0.5, 0.75, 1.0],
    "colors": [[], ["red"], ["green"], ["red", "blue"], ["red", "green", "blue"]],
    "size": ["s", "m"],
}
REGISTRY = """
[shop]
name = "Durability Shop"
default_locale = "en"
locales = ["en"]

[[preferences]]
key = "newsletter"
kind = "consent"
purpose = "marketing"
title = "Newsletter"

[[preferences]]
key = "balance"
kind = "slider"
min = 0.0
max = 1.0
step = 0.25
default = 0.5
title = "Balance"

[[preferences]]
key = "colors"
kind = "filter"
multiple = true
title = "Colors"
options = [
  { key = "red", label = "Red" },
  { key = "green", label = "Green" },
  { key = "blue", label = "Blue" },
]

[[preferences]]
key = "size"
kind = "filter"
title = "Size"
options = [{ key = "s", label = "S" }, { key = "m", label = "M" }]
"""

_events = ConsentEvent.__table__  # type: ignore[attr-defined]
_state = PreferenceState.__table__  # type: ignore[attr-defined]


@dataclass
class _Write:
    key: str
    value: Any
    acknowledged: bool = False


@dataclass
class _Writer:
    cookie: str
    subject: str
    known: dict[str, Any] = field(default_factory=dict)
    """The subject's stored value per key as this writer last knew it for certain."""
    writes: list[_Write] = field(default_factory=list)
    turn: int = 0


@dataclass
class KillReport:
    """What one run did and found."""

    cycles: int = 0
    kills_mid_request: int = 0
    acknowledged: int = 0
    in_flight_at_kill: int = 0
    in_flight_committed: int = 0
    subjects: int = 0
    ledger_events: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.acknowledged > 0

    def __str__(self) -> str:
        lines = [
            f"cycles: {self.cycles} (SIGKILL with a write in flight: {self.kills_mid_request})",
            f"acknowledged writes: {self.acknowledged}; in flight at a kill: {self.in_flight_at_kill} "
            f"({self.in_flight_committed} of them committed)",
            f"subjects: {self.subjects}; ledger events: {self.ledger_events}",
            "result: OK — every acknowledged write survived and every chain verifies"
            if self.ok
            else "result: FAILED",
        ]
        lines += [f"  - {problem}" for problem in self.problems[:50]]
        return "\n".join(lines)


def _stored(server: LiveServer, cookie: str) -> dict[str, Any]:
    document = httpx.get(
        server.url + "/api/v1/me/export", cookies={SUBJECT_COOKIE: cookie}, timeout=30
    ).json()
    return {item["key"]: item["stored"]["value"] for item in document["preferences"] if item["stored"]}


def _next_write(writer: _Writer) -> _Write:
    key = list(VALUES)[writer.turn % len(VALUES)]
    writer.turn += 1
    current = writer.known.get(key, "unset")
    options = [value for value in VALUES[key] if value != current]
    return _Write(key=key, value=options[writer.turn % len(options)])


def _load(server: LiveServer, writers: list[_Writer], quota: int, report: KillReport) -> int:
    """Write until ``quota`` acknowledgements, SIGKILL the server, return how many writes were in flight."""
    acknowledged = 0
    lock = threading.Lock()
    reached = threading.Event()
    in_flight = 0

    def work(writer: _Writer) -> None:
        nonlocal acknowledged, in_flight
        with httpx.Client(
            base_url=server.url, headers=WRITE_HEADERS, cookies={SUBJECT_COOKIE: writer.cookie}, timeout=30
        ) as client:
            while True:
                write = _next_write(writer)
                writer.writes.append(write)
                try:
                    response = client.put(f"/api/v1/preferences/{write.key}", json={"value": write.value})
                except httpx.TransportError:
                    with lock:
                        in_flight += 1
                    return  # killed: this write's fate is unknown to the client
                if response.status_code != 200:
                    report.problems.append(f"write answered {response.status_code}: {response.text[:200]}")
                    return
                write.acknowledged = True
                writer.known[write.key] = write.value
                with lock:
                    acknowledged += 1
                    if acknowledged >= quota:
                        reached.set()

    threads = [threading.Thread(target=work, args=(writer,)) for writer in writers]
    for thread in threads:
        thread.start()
    if not reached.wait(timeout=120):
        report.problems.append("the write quota was not reached within 120 s")
    server.kill()
    for thread in threads:
        thread.join(timeout=60)
    report.acknowledged += acknowledged
    return in_flight


def _verify(database_url: str, writers: list[_Writer], report: KillReport) -> None:
    database = Database(database_url)
    try:
        with database.read() as connection:
            subjects = list(connection.execute(sa.select(_events.c.subject).distinct()).scalars())
            for subject in subjects:
                broken = verify_chain(connection, subject)
                if broken is not None:
                    report.problems.append(f"{subject}: chain broken at {broken.seq}: {broken.reason}")
            report.subjects = len(subjects)
            report.ledger_events = connection.execute(
                sa.select(sa.func.count()).select_from(_events)
            ).scalar_one()
            for writer in writers:
                events = connection.execute(
                    sa.select(_events.c.key, _events.c.new_value)
                    .where(_events.c.subject == writer.subject)
                    .order_by(_events.c.seq)
                ).all()
                position = 0
                for write in writer.writes:
                    matches = position < len(events) and (
                        events[position].key,
                        events[position].new_value,
                    ) == (write.key, write.value)
                    if matches:
                        position += 1
                        report.in_flight_committed += 0 if write.acknowledged else 1
                    elif write.acknowledged:
                        report.problems.append(
                            f"{writer.subject}: acknowledged write {write.key}={write.value!r} "
                            f"is missing from the ledger (at event {position + 1})"
                        )
                        return
                if position != len(events):
                    report.problems.append(
                        f"{writer.subject}: {len(events) - position} ledger event(s) no client sent"
                    )
                stored = {
                    row.key: row.value
                    for row in connection.execute(
                        sa.select(_state.c.key, _state.c.value).where(_state.c.subject == writer.subject)
                    )
                }
                last = {event.key: event.new_value for event in events}
                if stored != last:
                    report.problems.append(
                        f"{writer.subject}: stored state {stored} is not the ledger's {last}"
                    )
    finally:
        database.dispose()


def run(
    database_url: str,
    *,
    cycles: int = 5,
    writers: int = 8,
    quota: int = 40,
    workdir: Path | None = None,
    log: Any = None,
) -> KillReport:
    """Run the kill test against ``database_url`` (an empty database, or one this function used before)."""
    workdir = workdir or Path(tempfile.mkdtemp(prefix="prefkit-kill-"))
    registry = workdir / "registry.toml"
    registry.write_text(REGISTRY, encoding="utf-8")
    report = KillReport()
    server = LiveServer(registry, database_url, log_path=workdir / "server.log")
    server.start()
    clients: list[_Writer] = []
    for _ in range(writers):
        response = httpx.get(server.url + "/api/v1/me/export", timeout=30)
        clients.append(_Writer(cookie=response.cookies[SUBJECT_COOKIE], subject=response.json()["subject"]))
    for cycle in range(cycles):
        if cycle:
            server.start()
        for writer in clients:  # learn what the last kill left, so the next writes are real changes again
            writer.known = _stored(server, writer.cookie)
        in_flight = _load(server, clients, quota, report)
        report.in_flight_at_kill += in_flight
        report.kills_mid_request += 1 if in_flight else 0
        report.cycles += 1
        if log:
            log(
                f"cycle {cycle + 1}: killed with {in_flight} write(s) in flight; "
                f"{report.acknowledged} acknowledged"
            )
    server.start()  # recovery after the last kill: the database opens and the API answers
    try:
        for writer in clients:
            _stored(server, writer.cookie)
    finally:
        server.stop()
    _verify(database_url, clients, report)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None, help="default: a new SQLite file in a temp dir")
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--quota", type=int, default=40, help="acknowledged writes per cycle before the kill")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="prefkit-kill-"))
    url = args.database_url or f"sqlite:///{workdir / 'kill.db'}"
    started = time.monotonic()
    report = run(url, cycles=args.cycles, writers=args.writers, quota=args.quota, workdir=workdir, log=print)
    print(report)
    print(f"took {time.monotonic() - started:.1f} s; server log: {workdir / 'server.log'}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
