"""What the webhooks outbox costs durable writes, and how fast a change reaches a subscriber.

    python bench/webhooks.py                    # 10 s of writes per server, SQLite, 100 writes/s for the lag
    python bench/webhooks.py --duration 20 --rate 200 --lag-seconds 20
    python bench/webhooks.py --database-url postgresql+psycopg://user@127.0.0.1:5432/empty_db \\
                             --database-url-2 postgresql+psycopg://user@127.0.0.1:5432/empty_db2

What it does, in one run:

1. Starts a receiver process on 127.0.0.1 (an asyncio HTTP server answering 204, recording for each event the
   time from its ``data.at`` — taken when the write began, just before its transaction — to its arrival) and
   two ``prefkit serve`` processes on fresh databases: one without webhooks, one with one subscriber (the
   receiver), delivered as a shop gets it by default: by the dispatcher process ``serve`` runs beside its
   worker. ``--in-worker`` delivers from the worker's event loop instead (``process = false``, woken by each
   commit), ``--dispatch-process`` from a separately started ``prefkit dispatch``, ``--outbox-only`` not at
   all (the cost of staging the outbox rows alone).
2. Throughput: ``PUT /api/v1/preferences/marketing_email`` (alternating true/false: every request a real,
   durable write) driven by wrk (bench/_wrk.py) with ``--concurrency`` connections rotating over
   ``--subjects`` shoppers (each change is one outbox event; a subject's events go out one after the other),
   in interleaved rounds on the two servers. The figure is req/s with one subscriber vs none (target: the
   outbox costs writes at most 15%).
3. Lag: a steady ``--rate`` writes/s for ``--lag-seconds`` on the subscribed server (a paced Python client,
   not a saturating one), then p50/p99 of commit-to-arrival for those events (target: p99 under 1 s).

Both servers run during the throughput rounds (the idle one costs nothing but memory); each round measures
one server while the other waits.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse
import asyncio
import base64
import json
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench._support import free_port, percentile, wait_ready  # noqa: E402
from bench._wrk import WrkResult, ensure_wrk, run_wrk  # noqa: E402
from bff.identity import SUBJECT_COOKIE  # noqa: E402

BENCH_SECRET = "bench-cookie-secret-0123456789abcdefghijkl"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"bench-webhook-secret-0123456789ab").decode()
PUT_PATH = "/api/v1/preferences/marketing_email"


# -- the receiver: `python bench/webhooks.py --receiver PORT FILE` ----------------------------------
def receiver(port: int, out: Path) -> None:
    """Answer every POST with 204; append ``lag_seconds type`` per event to ``out`` (flushed per line)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length)
                arrived = time.time()
                event = json.loads(body)
                at = event.get("data", {}).get("at")
                if at:
                    lag = arrived - datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()
                    sink.write(f"{lag:.6f} {event['type']}\n")
                    sink.flush()
                writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        server = await asyncio.start_server(handle, "127.0.0.1", port)
        async with server:
            await stop.wait()

    with open(out, "a", encoding="utf-8") as sink:
        asyncio.run(main())


def _lags(out: Path, skip: int = 0) -> list[float]:
    lines = out.read_text(encoding="utf-8").splitlines()[skip:]
    return [float(line.split()[0]) for line in lines if line.split()[1].startswith("preference.")]


def _drain(out: Path, quiet: float = 0.5) -> float:
    """Wait until the receiver has had nothing new for ``quiet`` seconds; returns how long that took."""
    started = time.monotonic()
    while True:
        before = _lines(out)
        time.sleep(quiet)  # sampling interval of a progress check, not synchronization of a result
        if _lines(out) == before:
            return time.monotonic() - started - quiet


def _lines(out: Path) -> int:
    return len(out.read_text(encoding="utf-8").splitlines()) if out.exists() else 0


# -- servers -----------------------------------------------------------------------------------------
def _serve(registry: Path, database_url: str, port: int, extra_env: dict[str, str]) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFKIT_")}
    env.update(PREFKIT_SECRET=BENCH_SECRET, PREFKIT_WRITE_RATE_LIMIT="0", PYTHONPATH=str(REPO), **extra_env)
    return subprocess.Popen(
        [sys.executable, "-m", "bff.cli", "serve", "--registry", str(registry), "--host", "127.0.0.1",
         "--port", str(port), "--database-url", database_url],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def _stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def _cookies(count: int, tag: str, run: int = 0) -> list[str]:
    """Signed cookies of ``count`` subjects of their own per ``tag`` (one hex digit) and ``run``: each wrk run
    starts on fresh subjects, whose first write (``true`` over the default ``false``) and every later
    alternation is a real change, however few turns a slow run gets through."""
    from bff.identity import Identity

    identity = Identity(secret=BENCH_SECRET)
    # anon: + 32 hex digits: a cookie the server accepts, not a new subject per request.
    return [f"{SUBJECT_COOKIE}={identity.sign_subject(f'anon:{tag}{run:03x}{index:028x}')}" for index in range(count)]


def _steady_writes(port: int, cookies: list[str], rate: float, seconds: float) -> int:
    """``rate`` writes per second, paced, over the cookies; returns how many were acknowledged."""
    import httpx

    acknowledged = 0
    lock = threading.Lock()
    start = time.monotonic()
    total = int(rate * seconds)
    threads = 8

    def work(offset: int) -> None:
        nonlocal acknowledged
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            for n in range(offset, total, threads):
                due = start + n / rate
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)  # pacing the load, not waiting for a result
                cookie = cookies[n % len(cookies)]
                value = (n // len(cookies)) % 2 == 0
                try:
                    response = client.put(PUT_PATH, json={"value": value},
                                          headers={"Cookie": cookie, "X-Prefkit-CSRF": "1"})
                except httpx.HTTPError:
                    continue  # not acknowledged; the lag covers acknowledged writes only
                if response.status_code == 200:
                    with lock:
                        acknowledged += 1

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return acknowledged


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--receiver":
        receiver(int(sys.argv[2]), Path(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds of writes per server")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each round")
    parser.add_argument("--concurrency", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--subjects", type=int, default=4096,
                        help="shoppers the requests rotate over (default 4096; a shopper does not change a consent "
                        "dozens of times a second, and a subject's deliveries are sequential)")
    parser.add_argument("--rate", type=float, default=100.0, help="steady writes/s for the lag (default 100)")
    parser.add_argument("--lag-seconds", type=float, default=10.0, help="seconds of steady writes (default 10)")
    parser.add_argument("--dispatch-process", action="store_true",
                        help="deliver from a separately started `prefkit dispatch` (in_bff = false)")
    parser.add_argument("--in-worker", action="store_true",
                        help="deliver from the worker's event loop (process = false) instead of serve's "
                        "dispatcher process")
    parser.add_argument("--outbox-only", action="store_true",
                        help="the subscribed server stages outbox rows but does not deliver (in_bff = false): "
                        "the cost of the outbox writes alone")
    parser.add_argument("--database-url", default=None, help="empty database for the server without webhooks")
    parser.add_argument("--database-url-2", default=None, help="empty database for the subscribed server")
    args = parser.parse_args()

    ensure_wrk()
    workdir = Path(tempfile.mkdtemp(prefix="prefkit-bench-webhooks-"))
    registry = REPO / "examples" / "demo-shop.toml"
    plain_url = args.database_url or f"sqlite:///{workdir / 'plain.db'}"
    hooked_url = args.database_url_2 or f"sqlite:///{workdir / 'hooked.db'}"
    events = workdir / "events.txt"
    receiver_port = free_port()
    webhooks = workdir / "webhooks.toml"
    webhooks.write_text(
        f'[[subscribers]]\nname = "bench"\nurl = "http://127.0.0.1:{receiver_port}/hooks"\n'
        'secret_env = "PREFKIT_BENCH_WEBHOOK_SECRET"\nevents = ["preference.*"]\n'
        + ("[dispatch]\nin_bff = false\n" if args.outbox_only or args.dispatch_process else "")
        + ("[dispatch]\nprocess = false\n" if args.in_worker else ""),
        encoding="utf-8",
    )
    processes: list[subprocess.Popen] = []
    try:
        processes.append(subprocess.Popen([sys.executable, __file__, "--receiver", str(receiver_port), str(events)],
                                          cwd=REPO))
        ports = {"none": free_port(), "one subscriber": free_port()}
        servers = {
            "none": _serve(registry, plain_url, ports["none"], {}),
            "one subscriber": _serve(registry, hooked_url, ports["one subscriber"],
                                     {"PREFKIT_WEBHOOKS": str(webhooks),
                                      "PREFKIT_BENCH_WEBHOOK_SECRET": WEBHOOK_SECRET}),
        }
        processes += servers.values()
        for name, server in servers.items():
            wait_ready(ports[name], server)
        if args.dispatch_process:
            env = {k: v for k, v in os.environ.items() if not k.startswith("PREFKIT_")}
            env.update(PREFKIT_BENCH_WEBHOOK_SECRET=WEBHOOK_SECRET, PYTHONPATH=str(REPO))
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "bff.cli", "dispatch", "--database-url", hooked_url, "--webhooks",
                 str(webhooks)], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        backend = plain_url.split(":", 1)[0]
        where = ("a separately started prefkit dispatch" if args.dispatch_process
                 else "the worker's event loop (process = false)" if args.in_worker
                 else "serve's dispatcher process (the default)")
        print(f"delivery: {'none (outbox rows only)' if args.outbox_only else where}")
        print(f"servers: prefkit serve x2 (1 uvicorn worker each), database {backend}, "
              f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs", flush=True)

        tags = {"none": "a", "one subscriber": "b"}
        bodies = [b'{"value": true}', b'{"value": false}']
        rounds: dict[str, list[WrkResult]] = {name: [] for name in servers}
        delivered_under_load = 0
        subscribed_writes = 0
        drains: list[float] = []
        runs = iter(range(1, 4096))
        for _ in range(args.rounds):
            for name, port in ports.items():
                def load() -> dict:
                    return dict(method="PUT", headers={"X-Prefkit-CSRF": "1"},
                                cookies=_cookies(args.subjects, tags[name], next(runs)), bodies=bodies,
                                connections=args.concurrency)
                if args.warmup > 0:
                    warm = run_wrk(f"http://127.0.0.1:{port}{PUT_PATH}", seconds=args.warmup, **load())
                    if name == "one subscriber":
                        subscribed_writes += warm.requests - warm.errors
                if not args.outbox_only:
                    # Every round starts with nothing left to deliver: a backlog drained during the next
                    # round would take its CPU from that round's server (whichever it is).
                    drains.append(_drain(events))
                before = _lines(events)
                rounds[name].append(run_wrk(f"http://127.0.0.1:{port}{PUT_PATH}",
                                            seconds=args.duration / args.rounds, **load()))
                if name == "one subscriber":
                    delivered_under_load += _lines(events) - before
                    subscribed_writes += rounds[name][-1].requests - rounds[name][-1].errors
        print(f"\n== durable writes (wrk: {args.concurrency} connections over {args.subjects:,} subjects, "
              f"{args.duration:g} s per server "
              f"in {args.rounds} interleaved rounds) ==")
        print(f"{'webhook subscribers':<22}{'requests':>10}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
        rps = {}
        for name, results in rounds.items():
            requests = sum(r.requests - r.errors for r in results)
            seconds = sum(r.seconds for r in results)
            rps[name] = requests / seconds
            p50 = sorted(r.p50_ms for r in results)[len(results) // 2]
            p99 = sorted(r.p99_ms for r in results)[len(results) // 2]
            print(f"{name:<22}{requests:>10,}{rps[name]:>10.0f}{p50:>9.2f}{p99:>9.2f}"
                  f"{sum(r.errors for r in results):>8}")
        cost = 1 - rps["one subscriber"] / rps["none"]
        print(f"outbox cost: {cost:.1%} of write throughput (target <= 15%)"
              + (" [outbox rows only, no delivery]" if args.outbox_only else ""))
        if args.outbox_only:
            return
        loaded_seconds = sum(r.seconds for r in rounds["one subscriber"])
        print(f"delivered while the subscribed server was saturated: {delivered_under_load / loaded_seconds:,.0f} "
              f"events/s for {rps['one subscriber']:,.0f} writes/s; the rest after each round "
              f"(longest drain before a round: {max(drains, default=0):.1f} s)")

        # Nothing left from the saturated rounds before measuring the lag under a steady load.
        drained = _drain(events)
        print(f"backlog of the throughput rounds delivered: {_lines(events):,} events (drained {drained:.1f} s "
              f"after the load) for {subscribed_writes:,} acknowledged writes"
              + (" (each a real change: ok)" if _lines(events) >= subscribed_writes else
                 " (FEWER: some writes were no changes, or events are missing)"))

        skip = _lines(events)
        sent = _steady_writes(ports["one subscriber"], _cookies(args.subjects, "c", 0), args.rate, args.lag_seconds)
        deadline = time.monotonic() + 30
        while _lines(events) - skip < sent and time.monotonic() < deadline:
            time.sleep(0.1)  # polling for the receiver's count, bounded
        lags = _lags(events, skip)
        print(f"\n== delivery lag under {args.rate:g} writes/s for {args.lag_seconds:g} s (commit -> receiver 2xx) ==")
        print(f"acknowledged writes: {sent:,}; events received: {len(lags):,}")
        print(f"lag p50 {percentile(lags, 0.5) * 1000:.1f} ms, p99 {percentile(lags, 0.99) * 1000:.1f} ms, "
              f"max {max(lags, default=float('nan')) * 1000:.1f} ms (target: p99 < 1000 ms)")
    finally:
        for process in reversed(processes):
            _stop(process)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
