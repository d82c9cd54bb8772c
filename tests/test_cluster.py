"""Several real ``prefkit serve`` processes on one database act as one (bff/cluster.py): a widget on process B
shows a change made through process A (Chromium), an admin upload and a registry file edit reach every
process and the admin view says so, concurrent writes of one subject through two processes lose nothing and
keep one valid chain. Two processes on one SQLite file, two or three on one PostgreSQL. A change whose
notification a process never heard reaches its open sockets once its listener reconnects."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from _bff_app import REGISTRY_TOML, WRITE, wait_for
from _browser import CHROMIUM_ARGS
from _live_server import ADMIN_KEY, LiveServer, server_env
from playwright.sync_api import expect, sync_playwright
from test_components_browser import StaticHost, mount, wait_loaded

from bff.cluster import HEARTBEAT_S

ADMIN = {"X-Admin-Key": ADMIN_KEY}
CONVERGED_WITHIN_S = 2 * HEARTBEAT_S + 1  # documented: one notification, else the next heartbeat or two


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    path = tmp_path / "registry.toml"
    path.write_text(REGISTRY_TOML, encoding="utf-8")
    return path


def _servers(registry: Path, url: str, count: int, tmp_path: Path, **env: str) -> Iterator[list[LiveServer]]:
    with ExitStack() as stack:
        servers = []
        for index in range(count):
            server = LiveServer(registry, url, log_path=tmp_path / f"serve-{index}.log", **env)
            stack.callback(server.stop)
            servers.append(server.start())
        yield servers


def _version(server: LiveServer) -> str:
    return httpx.get(server.url + "/api/v1/readyz", timeout=5).json()["registry_version"]


def _deployment(server: LiveServer) -> dict:
    response = httpx.get(server.url + "/api/v1/admin/registry", headers=ADMIN, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()["deployment"]


@pytest.mark.browser
def test_a_widget_on_b_updates_live_after_a_put_on_a(
    database_url: str, registry: Path, tmp_path: Path, chromium_path: str
) -> None:
    host = StaticHost(tmp_path)
    try:
        servers = _servers(registry, database_url, 2, tmp_path, PREFKIT_ALLOWED_ORIGINS=host.origin)
        a, b = next(servers)
        page_file = tmp_path / "shop.html"
        page_file.write_text(
            f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title>
<script type="module" src="{b.url}/_prefkit/prefkit.js"></script></head>
<body><main><h1>Shop</h1>{mount("consent-toggle", key="newsletter", locale="en")}</main></body></html>""",
            encoding="utf-8",
        )
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
            try:
                context = browser.new_context()
                # The subject cookie is per host (not per port): the one B sets is sent to A as well.
                assert context.request.get(f"{b.url}/api/v1/preferences").ok
                page = context.new_page()
                page.goto(f"{host.origin}/shop.html")
                wait_loaded(page)
                switch = page.get_by_role("switch")
                expect(switch).to_have_attribute("aria-checked", "false")
                response = context.request.put(
                    f"{a.url}/api/v1/preferences/newsletter", data={"value": True}, headers=WRITE
                )
                assert response.ok, response.text()
                expect(switch).to_have_attribute("aria-checked", "true")  # pushed to B, re-rendered there
                response = context.request.put(
                    f"{a.url}/api/v1/preferences/newsletter", data={"value": False}, headers=WRITE
                )
                assert response.ok
                expect(switch).to_have_attribute("aria-checked", "false")
            finally:
                browser.close()
        servers.close()
    finally:
        host.stop()


@pytest.mark.parametrize("count", [2, 3])
def test_an_upload_and_a_file_edit_reach_every_process(
    database_url: str, registry: Path, tmp_path: Path, count: int
) -> None:
    if count == 3 and database_url.startswith("sqlite"):
        pytest.skip("three processes: PostgreSQL (two on one SQLite file are the SQLite case)")
    servers = _servers(registry, database_url, count, tmp_path)
    processes = next(servers)
    start = _version(processes[0])
    assert {_version(server) for server in processes} == {start}
    wait_for(lambda: len(_deployment(processes[-1])["processes"]) == count, timeout=CONVERGED_WITHIN_S,
             message="every process announced itself")

    uploaded = REGISTRY_TOML.replace('name = "Test Shop"', 'name = "Uploaded Shop"')
    response = httpx.put(processes[0].url + "/api/v1/admin/registry?format=toml", content=uploaded.encode(),
                         headers=ADMIN, timeout=10)
    assert response.status_code == 200, response.text
    version = response.json()["version"]
    assert version != start
    wait_for(lambda: {_version(server) for server in processes} == {version}, timeout=CONVERGED_WITHIN_S,
             message="the upload active everywhere")
    for server in processes:
        status = wait_for(lambda server=server: (d := _deployment(server))["converged"] and d,
                          timeout=CONVERGED_WITHIN_S, message="the admin view converged")
        assert status["active_version"] == version
        assert len(status["processes"]) == count
        assert {p["registry_version"] for p in status["processes"]} == {version}

    # Now the file changes (after the upload): every process watches it, the newest activation wins.
    registry.write_text(REGISTRY_TOML.replace('name = "Test Shop"', 'name = "Edited Shop"'), encoding="utf-8")
    edited = wait_for(lambda: (v := _version(processes[0])) not in (start, version) and v,
                      timeout=CONVERGED_WITHIN_S + 5, message="the file edit picked up")
    wait_for(lambda: {_version(server) for server in processes} == {edited}, timeout=CONVERGED_WITHIN_S,
             message="the file edit active everywhere")

    # A process started now starts with the newest activation (the file's), and so does one started after
    # an upload newer than its file.
    response = httpx.put(processes[0].url + "/api/v1/admin/registry?format=toml", content=uploaded.encode(),
                         headers=ADMIN, timeout=10)
    assert response.status_code == 200
    wait_for(lambda: {_version(server) for server in processes} == {version}, timeout=CONVERGED_WITHIN_S,
             message="the upload active everywhere again")
    late = LiveServer(registry, database_url, log_path=tmp_path / "late.log").start()
    try:
        assert _version(late) == version
    finally:
        late.stop()
    servers.close()


def test_two_processes_writing_one_subject_lose_nothing_and_keep_one_chain(
    database_url: str, registry: Path, tmp_path: Path
) -> None:
    servers = _servers(registry, database_url, 2, tmp_path)
    a, b = next(servers)
    first = httpx.get(a.url + "/api/v1/preferences", timeout=5)
    cookies = dict(first.cookies)
    rounds = 25
    results: dict[str, list[int]] = {"a": [], "b": []}

    def hammer(name: str, server: LiveServer, key: str, values: list[object]) -> None:
        with httpx.Client(base_url=server.url, cookies=cookies, timeout=30) as client:
            for index in range(rounds):
                response = client.patch("/api/v1/preferences", json={key: values[index % 2]}, headers=WRITE)
                results[name].append(response.status_code)

    threads = [
        threading.Thread(target=hammer, args=("a", a, "balance", [0.0, 1.0])),
        threading.Thread(target=hammer, args=("b", b, "colors", [["red"], ["blue"]])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert results == {"a": [200] * rounds, "b": [200] * rounds}
    with httpx.Client(base_url=b.url, cookies=cookies, timeout=10) as client:
        exported = client.get("/api/v1/me/export").json()
        values = client.get("/api/v1/preferences").json()["preferences"]
    last = (rounds - 1) % 2
    assert values["balance"]["value"] == [0.0, 1.0][last] and values["colors"]["value"] == [["red"], ["blue"]][last]
    servers.close()
    ledger = [event for event in exported["history"] if event["key"] in ("balance", "colors")]
    assert len(ledger) == 2 * rounds  # every write changed its key: one event each, none lost
    verified = subprocess.run(
        [sys.executable, "-m", "bff.cli", "verify-ledger", "--database-url", database_url],
        capture_output=True, text=True, env=server_env(), timeout=60,
    )
    assert verified.returncode == 0, verified.stderr
    assert "1 of 1 chain(s) verify" in verified.stdout


def test_the_write_limit_is_per_process_as_documented(database_url: str, registry: Path, tmp_path: Path) -> None:
    """docs: each process counts a client's writes on its own, so N processes allow up to N x the limit per
    client and window (the operator sets PREFKIT_WRITE_RATE_LIMIT to the deployment's limit / N)."""
    servers = _servers(registry, database_url, 2, tmp_path, PREFKIT_WRITE_RATE_LIMIT="3")
    a, b = next(servers)
    cookies = dict(httpx.get(a.url + "/api/v1/preferences", timeout=5).cookies)
    for server in (a, b):
        with httpx.Client(base_url=server.url, cookies=cookies, timeout=10) as client:
            statuses = [
                client.put("/api/v1/preferences/newsletter", json={"value": bool(i % 2)}, headers=WRITE).status_code
                for i in range(4)
            ]
        assert statuses == [200, 200, 200, 429], (server.url, statuses)
    servers.close()


def test_a_file_edit_is_never_rolled_back_by_a_heartbeat_that_runs_before_it_is_stored(
    tmp_path: Path, sqlite_url: str
) -> None:
    """A file edit is activated in this process first and stored right after; a heartbeat (``adopt``) that
    runs in that window sees the previous version as the newest stored one. It must keep the edit: a race the
    suite once lost on PostgreSQL (the edit was undone by the process's own heartbeat)."""
    from litestar.testing import TestClient

    from _bff_app import make_settings, write_registry
    from bff.app import create_app
    from bff.service import PreferenceService
    from bff.storage import Database
    from preference_registry import RegistryService

    path = write_registry(tmp_path)
    registry = RegistryService.from_file(path)
    adopted: list[bool] = []
    holder: dict[str, object] = {}
    # Subscribed before the app's own listener (which stores the version): called in that very window.
    registry.subscribe(lambda snapshot: adopted.append(holder["cluster"].adopt()) if "cluster" in holder else None)
    database = Database(sqlite_url)
    app = create_app(make_settings(path, sqlite_url), service=PreferenceService(registry, database), watch=False)
    try:
        with TestClient(app):
            holder["cluster"] = app.state["prefkit_cluster"]
            path.write_text(REGISTRY_TOML.replace("Newsletter EN", "Weekly newsletter"), encoding="utf-8")
            edited = registry.reload()
            assert edited is not None
            assert adopted == [False]
            assert registry.current.version == edited.version
            assert holder["cluster"].adopt() is False  # stored now: nothing newer to adopt
            assert registry.current.version == edited.version
    finally:
        database.dispose()


def test_a_process_alone_on_its_database_writes_no_change_notices(tmp_path: Path, sqlite_url: str) -> None:
    """A single-process shop pays nothing for cross-process updates: its durable writes add no notice rows
    (only its own hello/registry beats, which carry no subject)."""
    import sqlalchemy as sa

    from _bff_app import running_app, write_registry

    with running_app(write_registry(tmp_path), sqlite_url) as (client, service):
        for value in (True, False, True):
            assert client.put("/api/v1/preferences/newsletter", json={"value": value}, headers=WRITE).is_success
        with service.database.read() as connection:
            payloads = connection.execute(sa.text("SELECT payload FROM cluster_notice")).scalars().all()
    assert not [p for p in payloads if '"change"' in p or '"ref"' in p], payloads


def test_a_change_missed_while_not_listening_reaches_open_sockets_after_the_reconnect(
    fresh_postgres_url: str, registry: Path, tmp_path: Path
) -> None:
    """A change another process committed whose notification this one never got (sent while its listener was
    disconnected; here: committed by a service that announces nothing) is pushed to the open change socket
    once the listener is cut and reconnects."""
    import asyncio
    import json

    import psycopg
    from websockets.sync.client import connect

    from bff.service import PreferenceService
    from bff.storage import Database
    from preference_registry import RegistryService

    with LiveServer(registry, fresh_postgres_url, log_path=tmp_path / "serve.log") as server:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            assert client.get("/_prefkit/session").status_code in (200, 204)
            subject = client.get("/api/v1/me/export").json()["subject"]
            cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
        socket_url = server.url.replace("http://", "ws://") + "/_prefkit/changes"
        with connect(socket_url, additional_headers={"Cookie": cookie}, open_timeout=10) as socket:
            first = json.loads(socket.recv(timeout=10))
            assert first["source"] == "initial" and first["values"]["newsletter"]["value"] is False

            database = Database(fresh_postgres_url)
            try:
                silent = PreferenceService(RegistryService.from_file(registry), database)
                asyncio.run(silent.set_values(subject, {"newsletter": True}, method="api"))
            finally:
                database.dispose()
            conninfo = fresh_postgres_url.replace("postgresql+psycopg://", "postgresql://")
            with psycopg.connect(conninfo, autocommit=True) as admin:
                cut = admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                    "WHERE datname = current_database() AND query LIKE 'LISTEN%'").fetchone()
            assert cut is not None and cut[0] >= 1  # the server's listener was cut
            pushed = json.loads(socket.recv(timeout=20))  # after the reconnect (0.2 s back-off)
            assert pushed["values"]["newsletter"]["value"] is True
        assert "listening to the other processes again" in (tmp_path / "serve.log").read_text()
