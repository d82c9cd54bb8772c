"""Insights and experiments at scale.

1. The insights query (``GET /api/v1/admin/insights``'s work: the whole report and the experiment results, in
   one read transaction) over 100,000 subjects and 1,000,000 ledger events: p50 / p99 of ``--rounds`` runs.
2. What a running experiment costs writes: the same durable consent writes through the service, with and
   without an experiment running on the written type, alternating rounds in the same run; the ratio of
   their median latencies.

    python bench/insights.py [--subjects 100000] [--events-per-subject 10] [--rounds 20]
                             [--writes 400] [--database-url sqlite:///...] [--no-seed]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

_BENCH_DIR = Path(__file__).resolve().parent
# Running a script puts its folder first on sys.path, where bench/http.py would shadow the stdlib's http.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH_DIR]
sys.path.insert(0, str(_BENCH_DIR.parent))

import sqlalchemy as sa  # noqa: E402

from bench._support import percentile  # noqa: E402

REGISTRY = """
[shop]
name = "Bench shop"
default_locale = "en"
locales = ["en"]

[insights]
conversion_purpose = "analytics"

[[preferences]]
kind = "consent"
key = "personalization"
purpose = "recommendations"
title = "Personal recommendations"

[[preferences]]
kind = "consent"
key = "analytics"
purpose = "analytics"
mechanism = "opt_out"
title = "Analytics"

[[preferences]]
kind = "consent"
key = "marketing"
purpose = "marketing"
title = "Newsletter"

[[preferences]]
kind = "slider"
key = "price_focus"
title = "Price focus"
min = 0
max = 1
step = 0.25
default = 0.5

[[preferences]]
kind = "filter"
key = "colors"
multiple = true
default = []
title = "Colours"
options = [{ key = "red", label = "Red" }, { key = "blue", label = "Blue" }, { key = "green", label = "Green" }]
"""

EXPERIMENT = """
[[experiments]]
key = "recs_wording"
preference = "personalization"
start = {start}
end = {end}
sample_size = 20000
outcome = "grant"
variants = [
  {{ key = "control", weight = 1 }},
  {{ key = "benefit", weight = 1, title = "Products picked for you" }},
]
"""

METHODS = ("accept_all", "reject_all", "ui", "api", "ui", "api")


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def registry_text(with_experiment: bool, now: datetime) -> str:
    if not with_experiment:
        return REGISTRY
    return REGISTRY + EXPERIMENT.format(
        start=_iso(now - timedelta(days=60)), end=_iso(now + timedelta(days=60))
    )


def seed(database_url: str, subjects: int, per_subject: int, now: datetime) -> None:
    """Bulk-insert ``subjects`` with ``per_subject`` chained ledger events each (over 60 days, all methods,
    several wordings), their state rows and one conversion for every tenth."""
    from bff.storage import ConsentEvent, Database, PreferenceState
    from bff.storage.conversions import Conversion
    from bff.storage.ledger import GENESIS_HASH, event_hash
    from preference_registry import load_registry
    from preference_registry.experiments import assign, variant_hash

    snapshot = load_registry(registry_text(True, now), "toml")
    experiment = snapshot.document.experiments[0]
    pref = snapshot.get("personalization")
    arm_hash = {
        v.key: variant_hash(pref, experiment, v, snapshot.text_hash("personalization"))
        for v in experiment.variants
    }
    consents = ["personalization", "analytics", "marketing"]
    database = Database(database_url)
    database.migrate()
    tables = (PreferenceState.__table__, ConsentEvent.__table__, Conversion.__table__)  # type: ignore[attr-defined]
    base = now - timedelta(days=60)
    started = time.perf_counter()
    for offset in range(0, subjects, 2000):
        state_rows, event_rows, conversions = [], [], []
        for index in range(offset, min(subjects, offset + 2000)):
            subject = f"anon:{index:032x}"
            prev, values = GENESIS_HASH, {key: False for key in consents}
            arm = assign(experiment, subject).key
            for seq in range(1, per_subject + 1):
                key = consents[(index + seq) % len(consents)]
                method = METHODS[(index * 7 + seq) % len(METHODS)]
                new = (index + seq) % 3 != 0
                text_hash = arm_hash[arm] if key == "personalization" else snapshot.text_hash(key)
                if seq % 5 == 0:
                    text_hash = "0" * 16  # an older wording: later decisions count as re-consents
                fields = dict(
                    subject=subject,
                    seq=seq,
                    key=key,
                    old_value=values[key],
                    new_value=new,
                    method=method,
                    registry_version=snapshot.version,
                    text_hash=text_hash,
                    made_under_gpc=False,
                    created_at=base + timedelta(seconds=(index * 50 + seq * 3600) % (59 * 86400)),
                )
                digest = event_hash(prev_hash=prev, **fields)
                event_rows.append({**fields, "prev_hash": prev, "hash": digest})
                prev, values[key] = digest, new
            for key, value in values.items():
                state_rows.append(
                    dict(
                        subject=subject,
                        key=key,
                        value=value,
                        decided_at=base,
                        text_hash=snapshot.text_hash(key),
                        registry_version=snapshot.version,
                        made_under_gpc=False,
                        expiry_logged=False,
                        gpc_logged=False,
                    )
                )
            if index % 4 == 0:
                state_rows.append(
                    dict(
                        subject=subject,
                        key="price_focus",
                        value=[0, 0.25, 0.75, 1][index % 4 + 0],
                        decided_at=base,
                        text_hash=snapshot.text_hash("price_focus"),
                        registry_version=snapshot.version,
                        made_under_gpc=False,
                        expiry_logged=False,
                        gpc_logged=False,
                    )
                )
            if index % 3 == 0:
                state_rows.append(
                    dict(
                        subject=subject,
                        key="colors",
                        value=[["red"], ["blue", "green"]][index % 2],
                        decided_at=base,
                        text_hash=snapshot.text_hash("colors"),
                        registry_version=snapshot.version,
                        made_under_gpc=False,
                        expiry_logged=False,
                        gpc_logged=False,
                    )
                )
            if index % 10 == 0:
                conversions.append(
                    dict(
                        order_id=f"o{index}",
                        subject=subject if values["analytics"] else None,
                        value=float(20 + index % 200),
                        currency="EUR",
                        occurred_at=base + timedelta(days=index % 59),
                        recorded_at=now,
                    )
                )
        with database.write() as connection:
            connection.execute(sa.insert(tables[0]), state_rows)
            connection.execute(sa.insert(tables[1]), event_rows)
            connection.execute(sa.insert(tables[2]), conversions)
    if database.sqlite:
        raw = database.engine.raw_connection()
        try:
            raw.cursor().execute("ANALYZE")
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
    else:
        with database.write_engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    with database.read() as connection:
        total = connection.execute(sa.select(sa.func.count()).select_from(tables[1])).scalar_one()
    database.dispose()
    print(
        f"seeded {subjects:,} subjects, {total:,} ledger events in {time.perf_counter() - started:.0f} s",
        flush=True,
    )


def bench_query(database_url: str, rounds: int, now: datetime) -> list[float]:
    from bff.insights.aggregates import build_report
    from bff.insights.index import LedgerIndex
    from bff.insights.results import experiment_results
    from bff.storage import Database
    from preference_registry import load_registry

    snapshot = load_registry(registry_text(True, now), "toml")
    database = Database(database_url)
    index = LedgerIndex()
    samples = []
    try:
        started = time.perf_counter()
        with database.read() as connection:
            index.refresh(connection)  # a process's first report folds in the whole ledger once
        print(
            f"  first report of a process: the index folds in the ledger in {time.perf_counter() - started:.1f} s"
        )
        for _ in range(rounds):
            started = time.perf_counter()
            with database.read() as connection:
                report = build_report(connection, snapshot, index, now=now)
                experiment_results(connection, snapshot, index, now)
            samples.append(time.perf_counter() - started)
    finally:
        database.dispose()
    print(
        f"  (report: {len(report.consents)} consents, {report.suppressed_cells} suppressed cells, "
        f"{report.engagement.deciding} deciding subjects)"
    )
    return samples


def bench_writes(database_url: str, writes: int, now: datetime, rounds: int = 6) -> tuple[float, float]:
    """Median latency of durable consent writes without and with the experiment: the two services write in
    turns (which one goes first alternates), to the same database, in the same run, each write a real change
    of a fresh subject."""
    import secrets

    from bff.service import PreferenceService
    from bff.storage import Database
    from preference_registry import RegistryService

    directory = Path(tempfile.mkdtemp(prefix="prefkit-bench-insights-"))
    services = {}
    for label, with_experiment in (("plain", False), ("experiment", True)):
        path = directory / f"{label}.toml"
        path.write_text(registry_text(with_experiment, now), encoding="utf-8")
        services[label] = PreferenceService(RegistryService.from_file(path), Database(database_url))
    samples: dict[str, list[float]] = {"plain": [], "experiment": []}
    run_id = secrets.token_hex(4)

    async def run() -> None:
        for index in range(writes * rounds):
            order = ("plain", "experiment") if index % 2 == 0 else ("experiment", "plain")
            for label in order:
                subject = f"anon:{run_id}{'a' if label == 'plain' else 'b'}{index:023x}"
                started = time.perf_counter()
                await services[label].set_values(subject, {"personalization": True}, method="api")
                samples[label].append(time.perf_counter() - started)

    asyncio.run(run())
    for service in services.values():
        service.database.dispose()
    return statistics.median(samples["plain"]), statistics.median(samples["experiment"])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subjects", type=int, default=100_000)
    parser.add_argument("--events-per-subject", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--writes", type=int, default=400)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--no-seed", action="store_true", help="reuse a database this script seeded before")
    args = parser.parse_args()
    now = datetime.now(UTC)
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='prefkit-bench-')}/insights.db"
    if not args.no_seed:
        seed(url, args.subjects, args.events_per_subject, now)
    samples = bench_query(url, args.rounds, now)
    print(
        f"insights query ({args.subjects:,} subjects, {args.subjects * args.events_per_subject:,} events): "
        f"p50 {percentile(samples, 0.5) * 1000:.0f} ms, p99 {percentile(samples, 0.99) * 1000:.0f} ms "
        f"({args.rounds} rounds)"
    )
    plain, experiment = bench_writes(url, args.writes, now)
    print(
        f"durable consent write: median {plain * 1000:.2f} ms without an experiment, {experiment * 1000:.2f} ms "
        f"with one running on the written type: ratio {experiment / plain:.3f}"
    )


if __name__ == "__main__":
    main()
