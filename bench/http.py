"""HTTP throughput and latency of the BFF, as ratios to a hello-world route on the same server.

    python bench/http.py                       # 5 s per scenario, SQLite, then 100k subjects / 1M events
    python bench/http.py --duration 20 --seed-subjects 100000 --seed-events 1000000
    python bench/http.py --database-url postgresql+psycopg://user@127.0.0.1:5432/empty_db

What it does:

1. Starts ``uvicorn`` (1 worker, 127.0.0.1, a free port) serving ``create_app`` for the demo registry plus
   a trivial ``GET /hello`` route, on a fresh database (SQLite file in a temp dir by default; a
   PostgreSQL URL must point at an empty database).
2. Drives each scenario with a bounded load: ``--concurrency`` (32) wrk connections, each sending its next
   request as soon as the previous answer arrived, for ``--duration`` seconds (split into ``--rounds``
   interleaved rounds, each after a ``--warmup``):
   ``GET /hello``; ``GET /api/v1/preferences``; ``PUT /api/v1/preferences/marketing_email`` (alternating
   true/false, so every request is a real, durable write: state + ledger event, one transaction).
   Requests rotate over ``--concurrency`` subjects (their signed cookies); each subject's PUTs alternate.
3. Bulk-inserts ``--seed-subjects`` subjects with state rows and ``--seed-events`` hash-chained ledger
   events, then runs the same scenarios again, the connections now being seeded subjects.

Printed: requests, req/s, p50 and p99 latency per scenario, throughput as a ratio to hello-world in the
same phase, and the seeded/empty latency ratio of the reads. Targets (issue 3): reads >= 50% of
hello-world throughput with p99 < 20 ms; consent writes >= 20%; seeded reads within 1.5x of empty.

The load comes from ``wrk`` (Debian's C client, installed on first use by bench/_wrk.py): on this 2-core
machine client and server share the CPU, and a Python client would mostly measure itself. Each round is one
wrk run after an unmeasured warm-up run; requests rotate over the load subjects' cookies.
"""

from __future__ import annotations

import os
import sys

# Run as `python bench/http.py`, this file's folder is sys.path[0] and "http" would shadow the standard
# library's http package (used by uvicorn, httpx and http.cookies): drop that folder first.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench._support import (  # noqa: E402
    BENCH_SECRET,
    free_port,
    stop_server,
    uvicorn_factory_command,
    wait_ready,
)
from bench._wrk import WrkResult, ensure_wrk, run_wrk  # noqa: E402
from bff.identity import SUBJECT_COOKIE  # noqa: E402

ORIGIN_PORT_PLACEHOLDER = "{port}"


# -- the server side: `uvicorn bench.http:bench_app --factory` --------------------------------------
def bench_app():  # noqa: ANN201 - Litestar
    """The BFF from PREFKIT_* env plus ``GET /hello`` (the baseline)."""
    from litestar import get

    from bff.app import create_app
    from bff.settings import Settings

    @get("/hello", sync_to_thread=False, include_in_schema=False)
    def hello() -> str:
        return "hello, world"

    settings = Settings.from_env()
    plugins = None
    if os.environ.get("PREFKIT_BENCH_PLUGINS") == "core":  # --plugins core: the four plugins of issue 12 only
        from bff.app import default_plugins

        plugins = [p for p in default_plugins(settings)
                   if type(p).__name__ in {"DemoPlugin", "CatalogPlugin", "RightsPlugin", "WidgetsPlugin"}]
    app = create_app(settings, plugins=plugins, migrate=False, watch=False)
    app.register(hello)
    return app


# -- the load: wrk (bench/_wrk.py) -------------------------------------------------------------------
@dataclass
class Result:
    """A scenario over all its rounds: requests and seconds add up; latency percentiles are the median of the
    rounds' percentiles (wrk reports percentiles per run, and they cannot be merged exactly)."""

    name: str
    rounds: list[WrkResult] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(r.requests - r.errors for r in self.rounds)

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.rounds)

    @property
    def rps(self) -> float:
        seconds = sum(r.seconds for r in self.rounds)
        return self.requests / seconds if seconds else 0.0

    def pct(self, q: float) -> float:
        values = sorted(r.p50_ms if q == 0.5 else r.p99_ms for r in self.rounds)
        return values[len(values) // 2] if values else float("nan")


# -- seeding ----------------------------------------------------------------------------------------
def seed(database_url: str, names: list[str], per_subject: int, registry_path: Path) -> None:
    """Bulk-insert, for every subject in ``names``, a state row per switchable consent and ``per_subject``
    chained ledger events."""
    import sqlalchemy as sa

    from bff.storage import ConsentEvent, Database, PreferenceState
    from bff.storage.ledger import GENESIS_HASH, event_hash
    from preference_registry import load_file

    snapshot = load_file(str(registry_path))
    consents = [c.key for c in snapshot.consents() if c.switchable]
    database = Database(database_url)
    state_table, event_table = PreferenceState.__table__, ConsentEvent.__table__  # type: ignore[attr-defined]
    base = datetime.now(UTC) - timedelta(days=30)
    started = time.perf_counter()
    chunk = 2000
    for offset in range(0, len(names), chunk):
        state_rows, event_rows = [], []
        for index, subject in enumerate(names[offset : offset + chunk], start=offset):
            prev = GENESIS_HASH
            value = False
            for seq in range(1, per_subject + 1):
                key = consents[seq % len(consents)]
                moment = base + timedelta(seconds=index, microseconds=seq)
                fields = dict(
                    subject=subject,
                    seq=seq,
                    key=key,
                    old_value=value,
                    new_value=not value,
                    method="api",
                    registry_version=snapshot.version,
                    text_hash=snapshot.text_hash(key),
                    made_under_gpc=False,
                    created_at=moment,
                )
                digest = event_hash(prev_hash=prev, **fields)
                event_rows.append({**fields, "prev_hash": prev, "hash": digest})
                prev, value = digest, not value
            for key in consents:
                state_rows.append(
                    dict(
                        subject=subject,
                        key=key,
                        value=True,
                        decided_at=base,
                        text_hash=snapshot.text_hash(key),
                        registry_version=snapshot.version,
                        made_under_gpc=False,
                        expiry_logged=False,
                        gpc_logged=False,
                    )
                )
        with database.write() as connection:
            connection.execute(sa.insert(state_table), state_rows)
            connection.execute(sa.insert(event_table), event_rows)
    with database.read() as connection:
        total = connection.execute(sa.select(sa.func.count()).select_from(event_table)).scalar_one()
    # Leave the database as a long-running deployment would have it: WAL folded back, statistics fresh.
    if database.sqlite:
        raw = database.engine.raw_connection()  # autocommit: a checkpoint cannot run inside a transaction
        try:
            raw.cursor().execute("ANALYZE")
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
    else:
        with database.write_engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    database.dispose()
    print(
        f"seeded {len(names):,} subjects ({total:,} ledger events in the database) in "
        f"{time.perf_counter() - started:.1f} s",
        flush=True,
    )


def _event_count(database_url: str) -> int:
    import sqlalchemy as sa

    from bff.storage import Database

    database = Database(database_url)
    try:
        with database.read() as connection:
            return connection.execute(sa.text("SELECT count(*) FROM consent_event")).scalar_one()
    finally:
        database.dispose()


def _report_writes(database_url: str, before: int, results: dict[str, Result]) -> None:
    """Say how many ledger events the phase wrote: at least one per measured PUT, or the writes were not real."""
    written = _event_count(database_url) - before
    puts = results["PUT consent (durable)"].requests
    verdict = "ok" if written >= puts else "FEWER THAN THE MEASURED PUTS: not every PUT was a real change"
    print(f"ledger events written in this phase: {written:,} (measured PUTs: {puts:,}, warm-ups add more): "
          f"{verdict}")


# -- orchestration ----------------------------------------------------------------------------------
def _cookies(subjects: list[str]) -> list[str]:
    from bff.identity import Identity

    identity = Identity(secret=BENCH_SECRET)
    return [identity.sign_subject(subject) for subject in subjects]


def run_phase(label: str, port: int, cookies: list[str], args: argparse.Namespace) -> dict[str, Result]:
    base = f"http://127.0.0.1:{port}"
    headers = {"Origin": base}
    cookie_headers = [f"{SUBJECT_COOKIE}={cookie}" for cookie in cookies]
    put_bodies = [b'{"value": true}', b'{"value": false}']
    scenarios = (
        ("hello-world", "GET", "/hello", []),
        ("GET /api/v1/preferences", "GET", "/api/v1/preferences", []),
        ("PUT consent (durable)", "PUT", "/api/v1/preferences/marketing_email", put_bodies),
    )
    # Interleaved rounds: background load on a shared machine then hits every scenario alike, which keeps
    # the ratios to hello-world meaningful even when the absolute figures move.
    results = {name: Result(name) for name, *_ in scenarios}
    for _ in range(args.rounds):
        for name, method, path, bodies in scenarios:
            load = dict(method=method, headers=headers, cookies=cookie_headers, bodies=bodies,
                        connections=args.concurrency, threads=args.wrk_threads)
            if args.warmup > 0:
                run_wrk(base + path, seconds=args.warmup, **load)
            results[name].rounds.append(run_wrk(base + path, seconds=args.duration / args.rounds, **load))
    hello = results["hello-world"]
    print(
        f"\n== {label} (wrk: {args.concurrency} connections, {args.wrk_threads} thread(s), "
        f"{args.duration:g} s per scenario in {args.rounds} interleaved rounds) =="
    )
    print(
        f"{'scenario':<28}{'requests':>10}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
        f"{'vs hello':>10}"
    )
    for result in results.values():
        ratio = result.rps / hello.rps if hello.rps else float("nan")
        print(
            f"{result.name:<28}{result.requests:>10,}{result.rps:>10.0f}{result.pct(0.50):>9.2f}"
            f"{result.pct(0.99):>9.2f}{result.errors:>8}{ratio:>9.0%}"
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--duration", type=float, default=5.0, help="measured seconds per scenario (default 5)"
    )
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each round")
    parser.add_argument(
        "--rounds", type=int, default=5, help="interleaved rounds the duration is split into (default 5)"
    )
    parser.add_argument("--concurrency", type=int, default=32, help="concurrent connections (default 32)")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk threads (default 1: one core stays "
                        "the server's)")
    parser.add_argument(
        "--seed-subjects", type=int, default=100_000, help="subjects to pre-seed (0: skip phase)"
    )
    parser.add_argument("--seed-events", type=int, default=1_000_000, help="ledger events to pre-seed")
    parser.add_argument(
        "--database-url", default=None, help="empty database to use (default: temp SQLite file)"
    )
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default 1; "
                        "several share the database as `prefkit serve --workers N` does)")
    args = parser.parse_args()

    ensure_wrk()
    workdir = Path(tempfile.mkdtemp(prefix="prefkit-bench-"))
    registry = REPO / "examples" / "demo-shop.toml"
    database_url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    from bff.storage import Database

    database = Database(database_url)
    database.migrate()
    import sqlalchemy as sa

    with database.read() as connection:
        if connection.execute(sa.text("SELECT count(*) FROM consent_event")).scalar_one():
            raise SystemExit(f"{database_url} is not empty; the bench needs an empty database")
    database.dispose()

    port = free_port()
    env = {
        **os.environ,
        "PREFKIT_REGISTRY": str(registry),
        "PREFKIT_DATABASE_URL": database_url,
        "PREFKIT_SECRET": BENCH_SECRET,
        "PREFKIT_WRITE_RATE_LIMIT": "0",
        "PYTHONPATH": str(REPO),
    }
    server = subprocess.Popen(
        uvicorn_factory_command("bench.http:bench_app", port, workers=args.workers),  # HTTP only here
        cwd=REPO,
        env=env,
    )
    try:
        wait_ready(port, server)
        print(
            f"server: uvicorn, {args.workers} worker(s), 127.0.0.1:{port}, "
            f"database {Database(database_url).url.get_backend_name()}"
            f", python {sys.version.split()[0]}, {os.cpu_count()} CPUs",
            flush=True,
        )
        # The load's own subjects have the same shape in both phases (a state row per consent, the same
        # number of events), so the comparison isolates the effect of the database's size.
        per_subject = max(1, args.seed_events // args.seed_subjects) if args.seed_subjects > 0 else 10
        own = [f"anon:{'e' * 24}{index:08x}" for index in range(args.concurrency)]
        seed(database_url, own, per_subject, registry)
        before = _event_count(database_url)
        empty = run_phase(f"empty database (only the {len(own)} load subjects)", port, _cookies(own), args)
        _report_writes(database_url, before, empty)
        if args.seed_subjects > 0:
            subjects = [f"anon:{index:032x}" for index in range(1, args.seed_subjects + 1)]
            seed(database_url, subjects, per_subject, registry)
            step = max(1, len(subjects) // args.concurrency)
            seeded_cookies = _cookies(subjects[::step][: args.concurrency])
            before = _event_count(database_url)
            seeded = run_phase(
                f"{args.seed_subjects:,} subjects, {args.seed_events:,} events", port, seeded_cookies, args
            )
            _report_writes(database_url, before, seeded)
            name = "GET /api/v1/preferences"
            print(
                f"\nseeded/empty read latency: p50 {seeded[name].pct(0.5) / empty[name].pct(0.5):.2f}x, "
                f"p99 {seeded[name].pct(0.99) / empty[name].pct(0.99):.2f}x (target <= 1.5x)"
            )
            # The same ratio with each phase's read latency taken relative to its own hello-world latency:
            # on a shared machine this removes what the background load did between the two phases.
            hello = "hello-world"
            for q, label in ((0.5, "p50"), (0.99, "p99")):
                relative = (seeded[name].pct(q) / seeded[hello].pct(q)) / (
                    empty[name].pct(q) / empty[hello].pct(q)
                )
                print(f"seeded/empty read latency relative to hello-world, {label}: {relative:.2f}x")
    finally:
        stop_server(server, timeout=20)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
