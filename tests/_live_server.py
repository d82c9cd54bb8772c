"""A real BFF process for fault tests: ``prefkit serve`` (uvicorn) in a subprocess on a free port.

Used by the fuzz, durability, security and database-unavailable tests, and by ``bench/kill_durability.py``.
Readiness is a condition (``/api/v1/healthz`` answers), never a sleep.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from e2e.server import stop_process
from e2e.waiting import wait_until

__all__ = ["LiveServer", "free_port", "server_env"]

SECRET = "live-server-cookie-secret-0123456789abcdefghij"
SHOP_SECRET = "live-server-shop-secret-0123456789abcdefghij"
ADMIN_KEY = "live-server-admin-key-0123456789"
API_KEY = "live-server-api-key-0123456789abcdefgh"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(**overrides: str) -> dict[str, str]:
    """Environment for ``prefkit serve`` with test secrets (``overrides`` win; ``""`` removes a variable)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFKIT_")}
    env.update(
        PREFKIT_SECRET=SECRET,
        PREFKIT_SHOP_SECRET=SHOP_SECRET,
        PREFKIT_ADMIN_KEY=ADMIN_KEY,
        PREFKIT_API_KEY=API_KEY,
        PREFKIT_WRITE_RATE_LIMIT="0",
        PYTHONUNBUFFERED="1",
    )
    for key, value in overrides.items():
        if value == "":
            env.pop(key, None)
        else:
            env[key] = value
    return env


class LiveServer:
    """``prefkit serve`` on ``database_url``; ``kill()`` sends SIGKILL (a crash), ``stop()`` SIGTERM."""

    def __init__(
        self,
        registry: Path | str,
        database_url: str,
        *,
        log_path: Path | None = None,
        port: int | None = None,
        args: tuple[str, ...] = (),
        **env: str,
    ) -> None:
        self.registry = str(registry)
        self.database_url = database_url
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = server_env(**env)
        self.log_path = log_path
        self.args = tuple(args)
        """More ``prefkit serve`` options (e.g. ``("--workers", "2")``)."""
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "bff.cli",
            "serve",
            "--registry",
            self.registry,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--database-url",
            self.database_url,
            *self.args,
        ]

    def start(self, timeout: float = 60.0) -> LiveServer:
        log: Any = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            self.command(),
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        process = self.process

        def answers() -> bool:
            if process.poll() is not None:
                raise RuntimeError(
                    f"prefkit serve exited with {process.returncode} before answering"
                    + (f"; log: {self.log_path}" if self.log_path else "")
                )
            try:
                return httpx.get(self.url + "/api/v1/healthz", timeout=1.0).status_code == 200
            except httpx.TransportError:
                return False

        try:
            wait_until(answers, "prefkit serve to answer /api/v1/healthz", timeout_s=timeout)
        except AssertionError:
            self.kill()
            raise
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flushing — a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
