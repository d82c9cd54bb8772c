"""Reads and durable writes through the real ``prefkit serve --workers N``, 1 worker against 2, in one run.

    python bench/workers.py                     # SQLite and a throwaway PostgreSQL cluster, 9 s per cell
    python bench/workers.py --duration 15 --rounds 5 --wrk-threads 2
    python bench/workers.py --postgres-url postgresql+psycopg://user@127.0.0.1:5432/postgres
    python bench/workers.py --no-postgres

What it does:

1. Starts four ``prefkit serve`` processes at once (the command a shop runs: ``--workers 1`` and
   ``--workers 2``, on SQLite and on PostgreSQL), each on a database of its own (a SQLite file; a database
   the bench creates on the PostgreSQL server), so the two deployments of one database never see each
   other's processes or rows. PostgreSQL is a throwaway cluster started by ``scripts/pg-throwaway.sh`` as
   the tests start theirs, or ``--postgres-url`` (a server where the bench may ``CREATE DATABASE``);
   without either the PostgreSQL half is skipped with the reason. A server counts as started when
   ``GET /api/v1/admin/registry`` lists all its N processes (``/readyz`` alone answers from whichever
   worker is up first, and a worker still starting would leave the whole load to the other).
2. Seeds each database with the load subjects as bench/http.py does (a state row per consent and ledger
   events), then drives each server with wrk (bench/_wrk.py; ``--concurrency`` keep-alive connections,
   ``--wrk-threads`` threads): ``GET /api/v1/preferences`` and ``PUT /api/v1/preferences/marketing_email``
   (alternating values, so every PUT is a real, durable change: state + ledger event, one transaction),
   requests rotating over the subjects' signed cookies.
3. Interleaves: ``--duration`` seconds per cell are split into ``--rounds`` rounds; every round runs every
   scenario on every database for both worker counts (in alternating order), each after an unmeasured
   ``--warmup``, so drift on a shared machine falls on 1 and 2 workers alike. Idle servers stay up
   meanwhile (a SQLite change poll, a heartbeat every 2 s: their cost shows in the "rest" CPU column).

Printed per database x scenario x workers: req/s, p50, p99, errors, and where the CPU went during the
measured runs (in cores, from /proc): the server's processes (and, for 2 workers, each worker's share),
PostgreSQL's backends, wrk itself, and the rest of the machine (other work on a shared machine). Then the
ratio 2 workers / 1 worker per scenario and database. Target (issue 15): reads with 2 workers >= 1.5x one.

What bounds the 2-worker figure on a 2-core machine: the load generator shares the cores (wrk's epoll
thread costs a fraction of a core, more at a higher request rate), PostgreSQL's backends take their share
of the same cores, and the workers share one listening socket, so the keep-alive connections may not split
evenly between them (the per-worker share shows it). The wrk CPU column says what the client took.
"""

from __future__ import annotations

import os
import sys

# Run as `python bench/workers.py`, this file's folder is sys.path[0], where bench/http.py would shadow the
# standard library's http package (used by httpx): drop that folder first.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse
import glob
import resource
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench._support import free_port  # noqa: E402
from bench._wrk import WrkResult, ensure_wrk, run_wrk  # noqa: E402
from bench.http import BENCH_SECRET, Result, _cookies, _event_count, _report_writes, seed  # noqa: E402
from bff.identity import SUBJECT_COOKIE  # noqa: E402
from e2e.server import log_tail, prefkit_command, stop_process  # noqa: E402

ADMIN_KEY = "bench-admin-key-0123456789abcdef"
SHOP_SECRET = "bench-shop-secret-0123456789abcdefghijkl"
PG_SCRIPT = REPO / "scripts" / "pg-throwaway.sh"
READS, WRITES = "GET /api/v1/preferences", "PUT consent (durable)"
_CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- CPU accounting from /proc (cheap: one read per process per measured run) ----------------------------
def _proc_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and of its children it has reaped (a process that exits between two readings
    moves from its own figure into its parent's, so a tree's total stays whole)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(value) for value in fields[11:15]) / _CLK_TCK  # utime stime cutime cstime


def _descendants(root: int) -> list[int]:
    """``root`` and every process under it (one pass over /proc: this kernel has no task children file)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            parents.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(parents.get(pid, []))
    return tree


def _machine_busy() -> float:
    """CPU seconds the whole machine was busy (all cores), from /proc/stat."""
    with open("/proc/stat") as handle:
        values = [int(value) for value in handle.readline().split()[1:9]]
    return (sum(values) - values[3] - values[4]) / _CLK_TCK  # minus idle and iowait


@dataclass
class Cpu:
    """Cores used during the measured runs of one cell (CPU seconds / wall seconds, summed over rounds)."""

    wall: float = 0.0
    server: float = 0.0
    workers: list[float] = field(default_factory=list)
    database: float = 0.0
    wrk: float = 0.0
    machine: float = 0.0

    def cores(self, seconds: float) -> float:
        return seconds / self.wall if self.wall else float("nan")


# -- servers ------------------------------------------------------------------------------------------
@dataclass
class Server:
    """One ``prefkit serve --workers N`` deployment on its own database."""

    database: str
    workers: int
    url: str
    database_url: str
    postgres_pid: int | None
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def label(self) -> str:
        return f"{self.database}, {self.workers} worker{'s' if self.workers > 1 else ''}"

    def worker_pids(self) -> list[int]:
        """The worker processes of a ``--workers N`` supervisor (multiprocessing's spawn children; not its
        resource tracker); none for one worker, where the command's own process serves."""
        assert self.process is not None
        found = []
        for pid in _descendants(self.process.pid):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as handle:
                    if b"spawn_main" in handle.read():
                        found.append(pid)
            except OSError:
                continue
        return found


def start_server(server: Server, registry: Path, workdir: Path) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    server.log_path = workdir / f"serve-{server.database}-{server.workers}.log"
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFKIT_")}
    env.update(
        PREFKIT_SECRET=BENCH_SECRET,
        PREFKIT_SHOP_SECRET=SHOP_SECRET,
        PREFKIT_ADMIN_KEY=ADMIN_KEY,
        PREFKIT_WRITE_RATE_LIMIT="0",  # one client address sends every request here
        PYTHONUNBUFFERED="1",
    )
    command = prefkit_command(
        "serve", "--registry", str(registry), "--host", "127.0.0.1", "--port", str(port),
        "--database-url", server.database_url, "--workers", str(server.workers),
    )
    with server.log_path.open("wb") as log:
        server.process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=workdir,
            start_new_session=True,  # its own process group: stop_process() stops the workers with it
        )


def wait_all_workers(server: Server, timeout: float = 120.0) -> None:
    """Until ``GET /api/v1/admin/registry`` lists the server's N processes (each announces itself every
    2 s once its app has started; the database is this server's own, so no other deployment is listed)."""
    import httpx

    assert server.process is not None
    deadline = time.monotonic() + timeout
    seen = 0
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SystemExit(f"{server.label}: prefkit serve exited with {server.process.returncode}\n"
                             f"{log_tail(server.log_path)}")
        try:
            answer = httpx.get(server.url + "/api/v1/admin/registry", headers={"X-Admin-Key": ADMIN_KEY},
                               timeout=2)
            if answer.status_code == 200:
                seen = len((answer.json().get("deployment") or {}).get("processes") or [])
                if seen >= server.workers:
                    return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)  # polling interval; the listed processes decide
    raise SystemExit(f"{server.label}: {seen} of {server.workers} processes up after {timeout:.0f} s\n"
                     f"{log_tail(server.log_path)}")


# -- PostgreSQL ---------------------------------------------------------------------------------------
@contextmanager
def postgres_server(url: str | None, workdir: Path) -> Iterator[tuple[str | None, int | None, str]]:
    """(server URL or None, postmaster pid or None, how it was obtained or why it is skipped)."""
    if url:
        yield url, None, f"--postgres-url {url.rsplit('@', 1)[-1]} (its backends' CPU is not attributed)"
        return
    if not (os.environ.get("PREFKIT_PG_BINDIR") or glob.glob("/usr/lib/postgresql/*/bin/initdb")):
        yield None, None, ("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb): run "
                           "scripts/install-system-deps.sh or pass --postgres-url")
        return
    # A folder of its own under /tmp: as root the server runs as an unprivileged user that must reach it.
    cluster = tempfile.mkdtemp(prefix="prefkit-bench-pg-")
    try:
        started = subprocess.run(["bash", str(PG_SCRIPT), "start", cluster], capture_output=True, text=True,
                                 timeout=180, stdin=subprocess.DEVNULL)
        if started.returncode != 0:
            yield None, None, (f"scripts/pg-throwaway.sh could not start a cluster (exit "
                               f"{started.returncode}): {(started.stderr or started.stdout).strip()[-500:]}")
            return
        pid_file = Path(cluster) / "data" / "postmaster.pid"
        postmaster = int(pid_file.read_text().split()[0]) if pid_file.is_file() else None
        url = started.stdout.strip().splitlines()[-1]
        yield url, postmaster, f"throwaway cluster (scripts/pg-throwaway.sh) in {cluster}"
    finally:
        subprocess.run(["bash", str(PG_SCRIPT), "stop", cluster], capture_output=True, timeout=120,
                       stdin=subprocess.DEVNULL)
        shutil.rmtree(cluster, ignore_errors=True)


@contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    """A new, empty database on ``server_url``, dropped afterwards."""
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    server = make_url(server_url)
    admin = server.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"prefkit_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield server.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")  # FORCE: a leftover connection
            connection.execute(drop.format(sql.Identifier(name)))


# -- the load -----------------------------------------------------------------------------------------
@dataclass
class Cell:
    server: Server
    scenario: str
    result: Result
    cpu: Cpu = field(default_factory=Cpu)


def measure(cell: Cell, cookies: list[str], args: argparse.Namespace) -> None:
    """One round of ``cell``: an unmeasured warm-up, then a measured wrk run with CPU readings around it."""
    server = cell.server
    if cell.scenario == READS:
        path, method, bodies = "/api/v1/preferences", "GET", []
    else:
        path, method = "/api/v1/preferences/marketing_email", "PUT"
        bodies = [b'{"value": true}', b'{"value": false}']
    load = dict(method=method, headers={"Origin": server.url}, bodies=bodies, connections=args.concurrency,
                cookies=[f"{SUBJECT_COOKIE}={c}" for c in cookies], threads=args.wrk_threads)
    if args.warmup > 0:
        run_wrk(server.url + path, seconds=args.warmup, **load)
    workers = server.worker_pids()
    assert server.process is not None
    supervisor = server.process.pid

    def tree_cpu(root: int | None) -> float:
        # The tree anew at each reading: a process started during the run counts from zero.
        return sum(_proc_cpu(pid) for pid in _descendants(root)) if root else 0.0

    def reading() -> tuple[float, list[float], float, float, float, float]:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk: the only child reaped during the run
        return (time.monotonic(), [_proc_cpu(pid) for pid in workers], tree_cpu(supervisor),
                tree_cpu(server.postgres_pid), children.ru_utime + children.ru_stime, _machine_busy())

    before = reading()
    measured: WrkResult = run_wrk(server.url + path, seconds=args.duration / args.rounds, **load)
    after = reading()
    cell.result.rounds.append(measured)
    cpu = cell.cpu
    cpu.wall += after[0] - before[0]
    shares = [b - a for a, b in zip(before[1], after[1], strict=True)]
    cpu.workers = [x + y for x, y in zip(cpu.workers, shares, strict=True)] if cpu.workers else shares
    cpu.server += after[2] - before[2]
    cpu.database += after[3] - before[3]
    cpu.wrk += after[4] - before[4]
    cpu.machine += after[5] - before[5]


def print_table(cells: list[Cell], args: argparse.Namespace) -> None:
    print(f"\n== prefkit serve --workers N (wrk: {args.concurrency} connections, {args.wrk_threads} "
          f"thread(s), {args.duration:g} s per cell in {args.rounds} interleaved rounds, "
          f"{os.cpu_count()} CPUs) ==")
    print("CPU columns: cores used during the measured runs (server = all its processes; per worker; "
          "pg = PostgreSQL backends; rest = the machine minus these, i.e. other work; idle = cores unused); "
          "req/core = req/s per server core")
    print(f"{'database':<11}{'scenario':<25}{'workers':>7}{'req/s':>9}{'p50 ms':>8}{'p99 ms':>8}{'errors':>7}"
          f"{'server':>8}{'per worker':>12}{'pg':>6}{'wrk':>6}{'rest':>6}{'idle':>6}{'req/core':>9}")
    for cell in cells:
        r, cpu = cell.result, cell.cpu
        own = cpu.server + cpu.database + cpu.wrk
        split = "/".join(f"{cpu.cores(w):.2f}" for w in cpu.workers) if cell.server.workers > 1 else ""
        pg = f"{cpu.cores(cpu.database):.2f}" if cell.server.postgres_pid else "-"
        print(f"{cell.server.database:<11}{cell.scenario:<25}{cell.server.workers:>7}{r.rps:>9.0f}"
              f"{r.pct(0.5):>8.2f}{r.pct(0.99):>8.2f}{r.errors:>7}{cpu.cores(cpu.server):>8.2f} {split:>11}"
              f"{pg:>6}{cpu.cores(cpu.wrk):>6.2f}{max(0.0, cpu.cores(cpu.machine - own)):>6.2f}"
              f"{max(0.0, (os.cpu_count() or 1) - cpu.cores(cpu.machine)):>6.2f}"
              f"{r.rps / cpu.cores(cpu.server) if cpu.server else float('nan'):>9.0f}")
    busy = max(max(0.0, c.cpu.cores(c.cpu.machine - c.cpu.server - c.cpu.database - c.cpu.wrk))
               for c in cells)
    if busy > 0.25:
        # Other work took cores the 2 workers would have used: the ratio then understates them, and req/core
        # (each deployment's throughput per core it got) is the fairer comparison.
        print(f"\nNOTE: other work on this machine took up to {busy:.2f} cores during a measured run (rest): "
              "the 2-worker figures are bounded by the cores left, compare req/core too")
    print("\n2 workers / 1 worker (req/s):")
    by_key = {(c.server.database, c.scenario, c.server.workers): c for c in cells}
    for (database, scenario, workers), cell in by_key.items():
        one = by_key.get((database, scenario, 1))
        if workers == 2 and one is not None and one.result.rps:
            ratio = cell.result.rps / one.result.rps
            met = "met" if ratio >= 1.5 else "NOT met"
            target = f"  (target >= 1.5x: {met})" if scenario == READS else ""
            print(f"  {database:<11}{scenario:<25}{ratio:>6.2f}x{target}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=9.0, help="measured seconds per cell (default 9)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per cell (default 3)")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each round")
    parser.add_argument("--concurrency", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--subjects", type=int, default=0, help="load subjects the requests rotate over "
                        "(default 4 x --concurrency)")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk threads (default 1: wrk takes as "
                        "little of the 2 cores as it can)")
    parser.add_argument("--postgres-url", default=None, help="a PostgreSQL server to create the bench's two "
                        "databases on (default: start a throwaway cluster)")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args()

    ensure_wrk()
    registry = REPO / "examples" / "demo-shop.toml"
    workdir = Path(tempfile.mkdtemp(prefix="prefkit-bench-workers-"))
    # More subjects than connections: a subject's next PUT is issued only after at least three times as many
    # requests as can be in flight, so its two values never race (with one subject per connection's worth of
    # turns, a later `false` could overtake an earlier `true` across two connections and repeat a value).
    subjects = [f"anon:{'f' * 24}{index:08x}" for index in range(args.subjects or 4 * args.concurrency)]
    cookies = _cookies(subjects)
    servers: list[Server] = []
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, workdir, True)
        for workers in (1, 2):
            servers.append(Server("sqlite", workers, f"http://127.0.0.1:{free_port()}",
                                  f"sqlite:///{workdir / f'bench-{workers}.db'}", None))
        if args.no_postgres:
            print("PostgreSQL: skipped (--no-postgres)")
        else:
            pg_url, postmaster, how = stack.enter_context(postgres_server(args.postgres_url, workdir))
            if pg_url is None:
                print(f"PostgreSQL: SKIPPED, {how}", flush=True)
            else:
                print(f"PostgreSQL: {how}", flush=True)
                for workers in (1, 2):
                    url = stack.enter_context(postgres_database(pg_url))
                    port = free_port()
                    servers.append(Server("postgresql", workers, f"http://127.0.0.1:{port}", url, postmaster))
        for server in servers:
            # The schema first (prefkit serve migrates too, but the seed must precede the load).
            from bff.storage import Database

            database = Database(server.database_url)
            database.migrate()
            database.dispose()
            seed(server.database_url, subjects, 10, registry)
        for server in servers:
            start_server(server, registry, workdir)
            stack.callback(stop_process, server.process, timeout_s=40)
        for server in servers:
            wait_all_workers(server)
            print(f"started: {server.label} ({len(server.worker_pids())} worker process(es)) on {server.url}",
                  flush=True)
        before = {server.label: _event_count(server.database_url) for server in servers}
        cells = [Cell(server, name, Result(name)) for server in servers for name in (READS, WRITES)]
        by_db: dict[tuple[str, str], list[Cell]] = {}
        for cell in cells:
            by_db.setdefault((cell.server.database, cell.scenario), []).append(cell)
        started = time.monotonic()
        for round_no in range(args.rounds):
            for scenario in (READS, WRITES):
                for database in dict.fromkeys(s.database for s in servers):
                    pair = by_db[(database, scenario)]
                    for cell in pair if round_no % 2 == 0 else reversed(pair):  # 1,2 then 2,1: drift cancels
                        measure(cell, cookies, args)
            print(f"round {round_no + 1}/{args.rounds} done ({time.monotonic() - started:.0f} s)", flush=True)
        print_table(cells, args)
        print()
        for cell in cells:
            if cell.scenario == WRITES:
                print(f"{cell.server.label}: ", end="")
                _report_writes(cell.server.database_url, before[cell.server.label], {WRITES: cell.result})


if __name__ == "__main__":
    main()
