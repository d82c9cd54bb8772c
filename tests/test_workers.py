"""``prefkit serve --workers N``: N real worker processes on one port, and a graceful stop (SIGTERM): the write
in flight finishes and is stored, component websockets close with 1012 (service restart: reconnect)."""

from __future__ import annotations

import json
import signal
import socket
import time
from pathlib import Path

import pytest
from _bff_app import REGISTRY_TOML, wait_for
from _live_server import LiveServer
from _raw_websocket import RawWebSocket

from bff.storage import Database


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def _worker_pids(pid: int) -> set[int]:
    """The supervisor's worker processes (uvicorn spawns them with multiprocessing)."""
    return {
        child
        for child in _children(pid)
        if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()
    }


def _read_head(sock: socket.socket, deadline: float) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {data!r}")
        data += chunk
    return data


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    path = tmp_path / "registry.toml"
    path.write_text(REGISTRY_TOML, encoding="utf-8")
    return path


def test_workers_share_one_port_and_stop_gracefully(registry: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'workers.db'}"
    server = LiveServer(registry, url, args=("--workers", "2"), log_path=tmp_path / "serve.log")
    server.start()
    try:
        assert server.process is not None
        workers = wait_for(lambda: len(_worker_pids(server.process.pid)) == 2 and _worker_pids(server.process.pid),
                           message="two worker processes")
        assert len(workers) == 2

        # A widget's websocket, open when the stop comes.
        widget = RawWebSocket("127.0.0.1", server.port, "/_prefkit/ws/consent-toggle?key=newsletter")
        assert widget.status == 101

        # A write in flight: the handler is waiting for the body (it asked for it: 100 Continue) when
        # SIGTERM arrives; the body comes after, and the write is answered and stored all the same.
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        body = json.dumps({"value": True}).encode()
        sock.sendall(
            b"PUT /api/v1/preferences/newsletter HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nX-Prefkit-CSRF: 1\r\nExpect: 100-continue\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
        )
        deadline = time.monotonic() + 10
        assert _read_head(sock, deadline).startswith(b"HTTP/1.1 100")
        server.process.send_signal(signal.SIGTERM)
        assert widget.close_code(timeout=10) == 1012  # service restart: the client reconnects
        sock.sendall(body)
        response = _read_head(sock, deadline)
        assert response.startswith(b"HTTP/1.1 200"), response
        subject_cookie = next(
            line for line in response.split(b"\r\n") if line.lower().startswith(b"set-cookie:")
        )
        assert subject_cookie
        sock.close()
        widget.close()
        assert server.process.wait(timeout=30) == 0
    finally:
        server.stop()

    database = Database(url)
    try:
        with database.read() as connection:
            rows = connection.exec_driver_sql(
                "SELECT key, value FROM preference_state WHERE key = 'newsletter'"
            ).all()
        assert len(rows) == 1 and json.loads(rows[0][1]) is True
    finally:
        database.dispose()


def test_workers_option_refuses_zero(registry: Path, tmp_path: Path) -> None:
    server = LiveServer(registry, f"sqlite:///{tmp_path / 'w.db'}", args=("--workers", "0"))
    with pytest.raises(RuntimeError, match="exited with 2"):
        server.start(timeout=30)
