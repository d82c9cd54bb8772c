"""Component sessions at scale: server memory per preference-center session and toggle round trips.

    python bench/components.py                 # N = 50, 200, 500
    python bench/components.py --sessions 200 --toggles 400

For every N, twice — once for a trivial baseline widget (a button with a counter) and once for the full
``preference-center`` widget — on a freshly started server (uvicorn, 1 worker, SQLite file, demo
registry; a fresh process each time so freed memory of one run cannot hide the next one's). The server
is configured as ``prefkit serve`` runs it: its websocket frame limit (``server_ws_max_size()``), per-message
deflate off unless ``--ws-compression`` (its zlib state is ~45 KB per open session, in both widgets):

1. warm up: one session opened, used and closed (imports, caches, first-render paths);
2. read the server's RSS (``/proc/<pid>/status``), open N websocket sessions (ReactPy's wire protocol,
   no browser: ``layout-update`` / ``layout-event`` JSON frames), each its own shopper (own signed
   cookie), wait until every session rendered its loaded state, read RSS again:
   memory per session = RSS delta / N;
3. round trips with all N sessions open: ``--toggles`` times, one at a time, a random session sends the
   click event of its "Marketing e-mails" switch (baseline: of its button) and the clock stops at the
   ``layout-update`` that confirms it (switch ``aria-checked`` flipped and no longer ``saving``, i.e. the
   value is stored: state row + ledger event committed; baseline: counter incremented);
4. a burst: every session toggles at the same moment; the time until all N are confirmed.

Printed per N: KB/session, p50/p95 round trip, burst time, and the ratios center/baseline. Targets
(issue 4): < 250 KB per session and p95 < 100 ms at 200 sessions on this machine.
"""

from __future__ import annotations

import os
import sys

# Run as `python bench/components.py`, this file's folder is sys.path[0], where bench/http.py would shadow
# the standard library's http package (used by httpx and websockets): drop that folder first.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse
import asyncio
import json
import random
import shutil
import subprocess
import tempfile
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench._support import (  # noqa: E402
    BENCH_SECRET,
    free_port,
    percentile,
    stop_server,
    uvicorn_factory_command,
    wait_ready,
)
from bff.reactpy_bridge import apply_layout_update, walk_model  # noqa: E402

BASELINE_WIDGET = "bench-counter"
CENTER_WIDGET = "preference-center"
TOGGLE_KEY = "marketing_email"


# -- the server side: `uvicorn bench.components:bench_app --factory` ----------------------------------
def bench_app():  # noqa: ANN201 - Litestar
    """The BFF from PREFKIT_* env, plus the baseline widget: a button counting its clicks."""
    from reactpy import component, html, use_state

    from bff.app import create_app, default_plugins
    from bff.plugins import PluginSetup, PrefkitPlugin
    from bff.settings import Settings

    @component
    def Counter() -> Any:
        count, set_count = use_state(0)
        return html.button(
            {
                "type": "button",
                "data-count": str(count),
                "onClick": lambda _event: set_count(lambda c: c + 1),
            },
            f"clicked {count}",
        )

    class BaselinePlugin(PrefkitPlugin):
        def on_prefkit_init(self, setup: PluginSetup) -> None:
            setup.add_widget(BASELINE_WIDGET, lambda _request: Counter())

    settings = Settings.from_env()
    return create_app(settings, plugins=[*default_plugins(settings), BaselinePlugin()], migrate=False, watch=False)


# -- a minimal ReactPy client ---------------------------------------------------------------------------
def _find(model: dict[str, Any], predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
    return next((node for node in walk_model(model) if predicate(node.get("attributes", {}))), None)


@dataclass
class Session:
    """One widget session over a websocket, keeping the current VDOM model."""

    widget: str
    websocket: Any = None
    model: dict[str, Any] = field(default_factory=dict)

    async def receive_until(self, condition: Callable[[dict[str, Any]], bool], timeout: float = 30) -> None:
        async with asyncio.timeout(timeout):
            while not condition(self.model):
                message = json.loads(await self.websocket.recv())
                if message.get("type") == "layout-update":
                    self.model = apply_layout_update(self.model, message["path"], message["model"])

    def target(self) -> tuple[str, Callable[[dict[str, Any]], bool]]:
        """The click handler to fire, and the condition that confirms the click was processed."""
        if self.widget == BASELINE_WIDGET:
            button = _find(self.model, lambda a: "data-count" in a)
            assert button is not None
            expected = str(int(button["attributes"]["data-count"]) + 1)
            return (
                button["eventHandlers"]["onClick"]["target"],
                lambda m: _find(m, lambda a: a.get("data-count") == expected) is not None,
            )
        switch = _switch(self.model)
        assert switch is not None
        expected = "false" if switch["attributes"]["aria-checked"] == "true" else "true"

        def confirmed(model: dict[str, Any]) -> bool:
            current = _switch(model)
            attrs = current["attributes"] if current else {}
            return attrs.get("aria-checked") == expected and "saving" not in attrs.get("data-state", "")

        return switch["eventHandlers"]["onClick"]["target"], confirmed

    async def click(self, timeout: float = 30) -> float:
        """Send the click; seconds until the confirming update arrived."""
        target, confirmed = self.target()
        started = time.perf_counter()
        await self.websocket.send(json.dumps({"type": "layout-event", "target": target, "data": [{}]}))
        await self.receive_until(confirmed, timeout=timeout)
        return time.perf_counter() - started


def _switch(model: dict[str, Any]) -> dict[str, Any] | None:
    consent = _find(model, lambda a: a.get("data-part") == "consent" and a.get("data-key") == TOGGLE_KEY)
    return _find(consent, lambda a: a.get("role") == "switch") if consent else None


def _loaded(widget: str) -> Callable[[dict[str, Any]], bool]:
    if widget == BASELINE_WIDGET:
        return lambda m: _find(m, lambda a: "data-count" in a) is not None
    return lambda m: (
        _find(m, lambda a: "data-prefkit-root" in a and "loading" not in a.get("data-state", "")) is not None
        and _switch(m) is not None
    )


async def open_session(port: int, widget: str, cookie: str) -> Session:
    from websockets.asyncio.client import connect

    session = Session(widget)
    session.websocket = await connect(
        f"ws://127.0.0.1:{port}/_prefkit/ws/{widget}?locale=en",
        additional_headers={"Cookie": f"prefkit_sid={cookie}"},
        max_size=None,
        open_timeout=60,
        ping_interval=None,
    )
    await session.receive_until(_loaded(widget), timeout=120)
    return session


# -- one measurement --------------------------------------------------------------------------------------
def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


@dataclass
class Measurement:
    widget: str
    sessions: int
    kb_per_session: float
    p50_ms: float
    p95_ms: float
    burst_ms: float
    open_seconds: float


async def measure(port: int, pid: int, widget: str, n: int, toggles: int, rng: random.Random) -> Measurement:
    from bff.identity import Identity

    identity = Identity(secret=BENCH_SECRET)
    # anon: + 32 hex digits, or the server would refuse the cookie and make every session a new subject.
    tag = zlib.crc32(widget.encode())
    cookies = [identity.sign_subject(f"anon:{tag:08x}{n:06x}{index:018x}") for index in range(n + 1)]

    warm = await open_session(port, widget, cookies[-1])
    await warm.click()
    await warm.websocket.close()

    rss_before = _rss_kb(pid)
    started = time.perf_counter()
    sessions: list[Session] = []
    for offset in range(0, n, 50):  # open in waves, like page loads arriving, not one SYN flood
        sessions += await asyncio.gather(
            *(open_session(port, widget, c) for c in cookies[offset : min(offset + 50, n)])
        )
    open_seconds = time.perf_counter() - started
    rss_after = _rss_kb(pid)

    latencies = [await rng.choice(sessions).click() for _ in range(toggles)]

    burst_started = time.perf_counter()
    await asyncio.gather(*(session.click(timeout=600) for session in sessions))
    burst = time.perf_counter() - burst_started

    await asyncio.gather(*(session.websocket.close() for session in sessions))
    return Measurement(
        widget=widget,
        sessions=n,
        kb_per_session=(rss_after - rss_before) / n,
        p50_ms=1000 * percentile(latencies, 0.50),
        p95_ms=1000 * percentile(latencies, 0.95),
        burst_ms=burst * 1000,
        open_seconds=open_seconds,
    )


# -- orchestration ----------------------------------------------------------------------------------------
def run_one(widget: str, n: int, toggles: int, seed: int, ws_compression: bool = False) -> Measurement:
    """A fresh database and server process for one (widget, N) measurement."""
    from bff.storage import Database

    workdir = Path(tempfile.mkdtemp(prefix="prefkit-bench-components-"))
    database_url = f"sqlite:///{workdir / 'bench.db'}"
    database = Database(database_url)
    database.migrate()
    database.dispose()
    port = free_port()
    env = {
        **os.environ,
        "PREFKIT_REGISTRY": str(REPO / "examples" / "demo-shop.toml"),
        "PREFKIT_DATABASE_URL": database_url,
        "PREFKIT_SECRET": BENCH_SECRET,
        "PREFKIT_WRITE_RATE_LIMIT": "0",
        # Every session comes from 127.0.0.1: the per-client socket limit (32) would refuse the rest.
        "PREFKIT_MAX_SOCKETS_PER_CLIENT": "0",
        "PYTHONPATH": str(REPO),
    }
    server = subprocess.Popen(
        uvicorn_factory_command(
            "bench.components:bench_app",
            port,
            options=("--ws-per-message-deflate", "true" if ws_compression else "false"),
        ),
        cwd=REPO,
        env=env,
    )
    try:
        wait_ready(port, server)
        return asyncio.run(measure(port, server.pid, widget, n, toggles, random.Random(seed)))
    finally:
        stop_server(server)
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sessions", type=int, nargs="+", default=[50, 200, 500], help="N values (default 50 200 500)"
    )
    parser.add_argument(
        "--toggles", type=int, default=200, help="sequential round trips measured per N (default 200)"
    )
    parser.add_argument("--seed", type=int, default=4, help="random seed for the session choice")
    parser.add_argument(
        "--ws-compression",
        action="store_true",
        help="websocket per-message deflate on (prefkit serve --ws-compression); default off, as shipped",
    )
    args = parser.parse_args()

    compression = "on" if args.ws_compression else "off (as prefkit serve ships)"
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, uvicorn 1 worker, SQLite, demo registry, "
        f"websocket per-message deflate {compression}",
        flush=True,
    )
    header = (
        f"{'N':>5} {'widget':<18}{'KB/session':>11}{'p50 ms':>9}{'p95 ms':>9}{'burst ms':>10}{'open s':>8}"
    )
    rows: list[tuple[Measurement, Measurement]] = []
    for n in args.sessions:
        baseline = run_one(BASELINE_WIDGET, n, args.toggles, args.seed, args.ws_compression)
        center = run_one(CENTER_WIDGET, n, args.toggles, args.seed, args.ws_compression)
        rows.append((baseline, center))
        load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
        print(f"\n{header}   (load average {load}: other work on this machine inflates latencies)")
        for m in (baseline, center):
            print(
                f"{m.sessions:>5} {m.widget:<18}{m.kb_per_session:>11.1f}{m.p50_ms:>9.2f}{m.p95_ms:>9.2f}"
                f"{m.burst_ms:>10.0f}{m.open_seconds:>8.1f}"
            )
        print(
            f"      center/baseline: memory {center.kb_per_session / max(baseline.kb_per_session, 0.1):.1f}x,"
            " "
            f"p50 {center.p50_ms / baseline.p50_ms:.1f}x, p95 {center.p95_ms / baseline.p95_ms:.1f}x",
            flush=True,
        )
    print("\ntargets at N=200: < 250 KB per session, p95 < 100 ms")
    for baseline, center in rows:
        if center.sessions == 200:
            memory_ok = center.kb_per_session < 250
            latency_ok = center.p95_ms < 100
            print(
                f"N=200 preference-center: {center.kb_per_session:.0f} KB/session "
                f"({'met' if memory_ok else 'MISSED'}), p95 {center.p95_ms:.1f} ms "
                f"({'met' if latency_ok else 'MISSED'})"
            )


if __name__ == "__main__":
    main()
