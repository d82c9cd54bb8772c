"""The ``prefkit`` command line, run as a real process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from _bff_app import wait_for
from _raw_websocket import RawWebSocket

from bff.storage.migrate import head_revision

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "examples" / "demo-shop.toml"


def prefkit(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PREFKIT_")}
    return subprocess.run(
        [sys.executable, "-m", "bff.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**clean, **(env or {})},
        stdin=subprocess.DEVNULL,
    )


def test_validate_good_file_prints_summary() -> None:
    result = prefkit("validate", str(DEMO))
    assert result.returncode == 0, result.stderr
    assert f"{DEMO}: valid" in result.stdout
    assert "preferences: 11 (4 consent, 3 filter, 1 priorities, 3 slider)" in result.stdout
    assert "locales:     pl, en (default pl)" in result.stdout
    assert "version:" in result.stdout and "warnings:    0" in result.stdout


def test_validate_broken_file_prints_every_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text(
        DEMO.read_text(encoding="utf-8")
        .replace("max = 10", "max = -1")
        .replace(
            'mechanism = "opt_in"\ngpc = true\nexpires_after_days = 365\nsection = "communication"',
            'mechanism = "opt-in"\ngpc = true\nexpires_after_days = 365\nsection = "communication"',
        ),
        encoding="utf-8",
    )
    result = prefkit("validate", str(broken))
    assert result.returncode == 1
    assert "error(s)" in result.stderr
    assert (
        "preferences[0].mechanism" in result.stderr
        and "expected:" in result.stderr
        and "got:" in result.stderr
    )
    assert str(broken) in result.stderr


def test_validate_missing_file(tmp_path: Path) -> None:
    result = prefkit("validate", str(tmp_path / "nope.toml"))
    assert result.returncode == 1 and "cannot read" in result.stderr


@pytest.mark.parametrize("command", [[], ["validate"], ["serve"], ["demo"], ["migrate"], ["verify-ledger"]])
def test_help(command: list[str]) -> None:
    result = prefkit(*command, "--help")
    assert result.returncode == 0 and "Usage:" in result.stdout


def test_serve_refuses_to_start_without_secret(tmp_path: Path) -> None:
    result = prefkit("serve", "--registry", str(DEMO), "--database-url", f"sqlite:///{tmp_path / 'x.db'}")
    assert result.returncode == 1
    assert "PREFKIT_SECRET is not set" in result.stderr and "at least 32" in result.stderr


def test_migrate_and_verify_ledger(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    result = prefkit("migrate", "--database-url", url)
    assert result.returncode == 0 and f"schema revision {head_revision()}" in result.stdout
    tables = set(sa.inspect(sa.create_engine(url)).get_table_names())
    assert {"preference_state", "consent_event", "registry_version", "subject_link"} <= tables
    result = prefkit("verify-ledger", "--database-url", url)
    assert result.returncode == 0 and "0 of 0 chain(s) verify" in result.stdout


def test_packaged_demo_registry_matches_the_example() -> None:
    assert (REPO / "bff" / "data" / "demo-shop.toml").read_text(encoding="utf-8") == DEMO.read_text(
        encoding="utf-8"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def demo_server(cwd: Path, *options: str) -> Iterator[str]:
    port = _free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PREFKIT_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "bff.cli", "demo", "--port", str(port), *options],
        cwd=cwd,
        env=clean,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"demo exited early:\n{process.stdout.read() if process.stdout else ''}")
        try:
            return httpx.get(f"{base}/api/v1/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(ready, timeout=60, interval=0.1, message="the demo server to be ready")
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        try:
            output, _ = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        assert f"http://127.0.0.1:{port}/" in output  # the URL was printed


def test_demo_creates_database_then_reuses_it(tmp_path: Path) -> None:
    with demo_server(tmp_path) as base, httpx.Client(base_url=base) as client:
        assert (tmp_path / "prefkit-demo.db").is_file()
        response = client.put(
            "/api/v1/preferences/eco_only", json={"value": ["eco"]}, headers={"Origin": base}
        )
        assert response.status_code == 200, response.text
        cookie = client.cookies["prefkit_sid"]
    with (
        demo_server(tmp_path) as base,
        httpx.Client(base_url=base, cookies={"prefkit_sid": cookie}) as client,
    ):
        body = client.get("/api/v1/preferences").json()
        assert body["preferences"]["eco_only"]["value"] == ["eco"]  # same database, same cookie secret
        history = client.get("/api/v1/consents/history").json()
        assert len(history["events"]) == 1 and history["chain"]["valid"] is True


def test_serve_refuses_a_broken_registry_with_its_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text(DEMO.read_text(encoding="utf-8").replace("max = 10", "max = -1"), encoding="utf-8")
    result = prefkit(
        "serve",
        "--registry",
        str(broken),
        "--database-url",
        f"sqlite:///{tmp_path / 'x.db'}",
        env={"PREFKIT_SECRET": "k3y-0123456789abcdefghijklmnopqrstuvwx"},
    )
    assert result.returncode == 1
    assert "error(s)" in result.stderr and "preferences[3]" in result.stderr


def _negotiated_extensions(base: str) -> str | None:
    """Open a widget websocket offering permessage-deflate (as browsers do); the extensions the server
    accepted, after the widget rendered."""
    import asyncio
    import json

    from websockets.asyncio.client import connect

    async def handshake() -> str | None:
        url = base.replace("http://", "ws://") + "/_prefkit/ws/consent-toggle?key=marketing_email&locale=en"
        async with connect(url, compression="deflate", open_timeout=30) as websocket:
            first = json.loads(await asyncio.wait_for(websocket.recv(), timeout=30))
            assert first["type"] == "layout-update"  # the session is live either way
            return websocket.response.headers.get("Sec-WebSocket-Extensions")

    return asyncio.run(handshake())


def test_component_websockets_are_uncompressed_unless_asked(tmp_path: Path) -> None:
    """Per-message deflate keeps ~45 KB of zlib state per open widget; off by default, on by option."""
    with demo_server(tmp_path) as base:
        assert _negotiated_extensions(base) is None
    with demo_server(tmp_path, "--ws-compression") as base:
        assert "permessage-deflate" in (_negotiated_extensions(base) or "")


def test_demo_refuses_an_oversized_websocket_frame_from_its_header(tmp_path: Path) -> None:
    """uvicorn's default would buffer 16 MiB per socket before the bridge's 64 KiB check; the server's own
    limit (``ws_max_size``) refuses the frame as soon as its header announces more (1009)."""
    with demo_server(tmp_path) as base:
        port = int(base.rsplit(":", 1)[1])
        raw = RawWebSocket("127.0.0.1", port, "/_prefkit/ws/consent-toggle?key=marketing_email")
        try:
            assert raw.status == 101
            raw.send_frame_start(15 * 1024 * 1024, b"x" * 1024)  # announces 15 MiB, sends 1 KiB
            assert raw.close_code(timeout=20) == 1009
        finally:
            raw.close()
        # Just over the documented 64 KiB is still the bridge's own, documented refusal (1008).
        raw = RawWebSocket("127.0.0.1", port, "/_prefkit/ws/consent-toggle?key=marketing_email")
        try:
            payload = b'{"type": "layout-event", "target": "x", "data": ["' + b"y" * (64 * 1024) + b'"]}'
            raw.send_frame_start(len(payload), payload)
            assert raw.close_code(timeout=20) == 1008
        finally:
            raw.close()
