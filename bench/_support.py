"""What the benchmark scripts share: percentiles, a free loopback port, the server they start (its command,
waiting for it, stopping it).

Imported as ``bench._support`` (the scripts put the repository, not ``bench/``, on ``sys.path``: a script's
own folder first on the path would let ``bench/http.py`` shadow the standard library's ``http``).
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence

__all__ = [
    "BENCH_SECRET",
    "free_port",
    "percentile",
    "stop_server",
    "uvicorn_factory_command",
    "wait_ready",
]

BENCH_SECRET = "bench-cookie-secret-0123456789abcdefghijkl"
"""``PREFKIT_SECRET`` of the benches' servers (the cookies the load sends are signed with it)."""


def percentile(samples: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``samples``, nearest rank; NaN for no samples."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    """Poll the server's ``/api/v1/readyz`` until it answers 200; stop if the process exits or time runs out."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("server exited during start")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)  # polling interval; readiness decides
    raise SystemExit("server not ready in time")


def uvicorn_factory_command(
    factory: str, port: int, *, workers: int = 1, options: Sequence[str] = ()
) -> list[str]:
    """The command serving the app factory ``factory`` (``module:function``) on 127.0.0.1:``port`` the way
    ``prefkit serve`` runs the BFF: no access log, and its websocket frame limit (the documented 64 KiB
    message plus headroom; uvicorn applies it to what clients send). ``options``: more uvicorn options."""
    from bff.reactpy_bridge import server_ws_max_size

    return [
        sys.executable,
        "-m",
        "uvicorn",
        factory,
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
        *options,
        "--ws-max-size",
        str(server_ws_max_size()),
    ]


def stop_server(process: subprocess.Popen, timeout: float = 30) -> None:
    """SIGINT (uvicorn's graceful shutdown), then SIGKILL if it has not exited within ``timeout`` seconds."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
