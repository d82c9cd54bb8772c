"""The prefkit server the flows run against: one already running (``--prefkit-base-url``) or one the
plugin starts itself (``prefkit serve`` in a subprocess, throwaway SQLite, a private copy of the registry).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

__all__ = [
    "PrefkitServer",
    "SelfStartedServerConfig",
    "ServerStartError",
    "default_registry_path",
    "free_port",
    "log_tail",
    "prefkit_command",
    "start_prefkit_server",
    "stop_process",
    "wait_until_ready",
]

_POLL_INTERVAL_S = 0.1
READINESS_PATHS: tuple[str, ...] = ("/api/v1/readyz", "/readyz")
"""Where readiness is asked (the BFF serves it under the API prefix; a proxy may expose it at the root)."""


class ServerStartError(RuntimeError):
    """The server did not become ready; the message carries the reason and the tail of its log."""


@dataclass(frozen=True, kw_only=True)
class PrefkitServer:
    """What the flows know about the server under test."""

    base_url: str
    """Root URL without a trailing slash, e.g. ``http://127.0.0.1:8123``."""
    self_started: bool
    """True when the plugin started (and will stop) the server itself."""
    registry_path: Path | None = None
    """The registry file the server watches, when known (self-started: a private copy in a tmp dir)."""
    registry_writable: bool = False
    """Whether flows may edit ``registry_path`` for hot-reload checks (only the plugin's private copy)."""
    shop_secret: str | None = None
    """Secret signing customer tokens (``PREFKIT_SHOP_SECRET``); None: logged-in flows are skipped."""
    admin_key: str | None = None
    """``PREFKIT_ADMIN_KEY`` when known; lets flows read ``/api/v1/admin/registry`` (rejected edits)."""
    embed_origin: str | None = None
    """A second local origin (``http://127.0.0.1:PORT``) the server allowlists, for cross-origin embedding."""
    log_path: Path | None = None
    """The self-started server's combined stdout/stderr."""

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` (``/api/v1/...``) on this server."""
        return self.base_url + (path if path.startswith("/") else "/" + path)


@dataclass(frozen=True, kw_only=True)
class SelfStartedServerConfig:
    """How the plugin starts its own server."""

    registry_source: Path
    """Registry file to serve; copied into ``workdir`` so hot-reload flows never touch the original."""
    workdir: Path
    """Throwaway directory for the registry copy and the SQLite database."""
    log_path: Path
    """Where the server's output goes (shown on test failures)."""
    start_timeout_s: float = 60.0
    """Deadline for ``/readyz`` to answer 200."""
    embed_port: int | None = None
    """Port of the second local origin to allowlist (``PREFKIT_ALLOWED_ORIGINS``); None picks a free one."""
    extra_env: Mapping[str, str] = field(default_factory=dict)
    """More ``PREFKIT_*`` variables for the server process."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def default_registry_path() -> Path:
    """The demo shop registry that ships with prefkit (the one ``prefkit demo`` serves)."""
    from bff.cli import demo_registry_path

    return demo_registry_path()


def log_tail(path: Path | None, lines: int = 60) -> str:
    """The last ``lines`` lines of a log file ('' when there is none)."""
    if path is None or not path.is_file():
        return ""
    content = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(content[-lines:])


def wait_until_ready(
    base_url: str,
    *,
    timeout_s: float,
    process: subprocess.Popen[bytes] | None = None,
    log_path: Path | None = None,
) -> dict[str, object]:
    """Poll the readiness endpoint until it answers 200 (returns its JSON body) or the deadline passes."""
    deadline = time.monotonic() + timeout_s
    last_problem = "no answer yet"
    with httpx.Client(timeout=2.0) as client:
        while True:
            if process is not None and process.poll() is not None:
                raise ServerStartError(
                    f"prefkit server exited with code {process.returncode} before it was ready\n"
                    f"--- server log ({log_path}) ---\n{log_tail(log_path)}"
                )
            for path in READINESS_PATHS:
                try:
                    response = client.get(base_url + path)
                except httpx.HTTPError as exc:
                    last_problem = f"{type(exc).__name__}: {exc}"
                    break  # nothing listens yet: no use trying the other path
                if response.status_code == 200:
                    try:
                        return dict(response.json())
                    except ValueError:
                        return {}
                last_problem = f"{path} answered {response.status_code}: {response.text[:300]}"
            if time.monotonic() >= deadline:
                raise ServerStartError(
                    f"{base_url}{READINESS_PATHS[0]} not ready within {timeout_s:.0f}s ({last_problem})\n"
                    f"--- server log ({log_path}) ---\n{log_tail(log_path)}"
                )
            time.sleep(_POLL_INTERVAL_S)  # polling interval of a readiness probe, not a synchronization sleep


def prefkit_command(*args: str) -> list[str]:
    """Argv running ``prefkit ARGS`` with the interpreter running pytest (so the prefkit installed next to
    the plugin is the one started, whatever is first on PATH)."""
    launcher = "import sys; from bff.cli import main; sys.argv[0] = 'prefkit'; sys.exit(main())"
    return [sys.executable, "-c", launcher, *args]


def _server_command(registry: Path, port: int, database_url: str) -> list[str]:
    return prefkit_command(
        "serve",
        "--registry",
        str(registry),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--database-url",
        database_url,
    )


@contextlib.contextmanager
def start_prefkit_server(config: SelfStartedServerConfig) -> Iterator[PrefkitServer]:
    """Start ``prefkit serve`` on a free port, wait for ``/readyz``, yield it, stop it."""
    config.workdir.mkdir(parents=True, exist_ok=True)
    registry = config.workdir / f"registry{config.registry_source.suffix}"
    shutil.copyfile(config.registry_source, registry)
    database_url = f"sqlite:///{config.workdir / 'prefkit-e2e.db'}"
    port = free_port()
    embed_port = config.embed_port or free_port()
    embed_origin = f"http://127.0.0.1:{embed_port}"
    shop_secret = secrets.token_urlsafe(32)
    admin_key = secrets.token_urlsafe(32)
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFKIT_")}
    env.update(
        PREFKIT_SECRET=secrets.token_urlsafe(32),
        PREFKIT_SHOP_SECRET=shop_secret,
        PREFKIT_ADMIN_KEY=admin_key,
        PREFKIT_ALLOWED_ORIGINS=embed_origin,
        # One browser from one IP runs every flow: a per-IP write limit sized for shoppers would trip.
        PREFKIT_WRITE_RATE_LIMIT="1000000",
        PYTHONUNBUFFERED="1",
    )
    env.update(config.extra_env)
    config.log_path.parent.mkdir(parents=True, exist_ok=True)
    base_url = f"http://127.0.0.1:{port}"
    with config.log_path.open("wb") as log:
        process = subprocess.Popen(
            _server_command(registry, port, database_url),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=config.workdir,
            start_new_session=True,
        )
        try:
            wait_until_ready(
                base_url, timeout_s=config.start_timeout_s, process=process, log_path=config.log_path
            )
            yield PrefkitServer(
                base_url=base_url,
                self_started=True,
                registry_path=registry,
                registry_writable=True,
                shop_secret=shop_secret,
                admin_key=admin_key,
                embed_origin=embed_origin,
                log_path=config.log_path,
            )
        finally:
            stop_process(process)


def stop_process(process: subprocess.Popen[bytes], *, timeout_s: float = 15.0) -> None:
    """SIGTERM (graceful shutdown), then SIGKILL after ``timeout_s``: to the process group when the process
    leads one of its own (started with ``start_new_session=True``: its workers go too), else to it alone.
    Only ever the process we started."""

    def deliver(sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            if os.getpgid(process.pid) == process.pid:
                os.killpg(process.pid, sig)
            else:
                process.send_signal(sig)

    if process.poll() is not None:
        return
    deliver(signal.SIGTERM)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        deliver(signal.SIGKILL)
        process.wait(timeout=timeout_s)
