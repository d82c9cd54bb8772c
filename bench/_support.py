"""What the benchmark scripts share: percentiles, a free loopback port, waiting for a started server.

Imported as ``bench._support`` (the scripts put the repository, not ``bench/``, on ``sys.path``: a script's
own folder first on the path would let ``bench/http.py`` shadow the standard library's ``http``).
"""

from __future__ import annotations

import socket
import subprocess
import time

__all__ = ["free_port", "percentile", "wait_ready"]


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
