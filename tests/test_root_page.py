"""``/`` for a newcomer (issue 11 item 19): the demo shop in demo mode, a short page or JSON under ``serve``,
and every address ``prefkit demo`` / ``prefkit serve`` prints answers."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
from _bff_app import REGISTRY_TOML, running_app, write_registry
from _live_server import LiveServer, free_port

from e2e.server import stop_process, wait_until_ready

SHOP_WITH_MARKUP = REGISTRY_TOML.replace('name = "Test Shop"', 'name = "<b>Shop</b> & \\"Co\\""')


def test_root_in_demo_mode_leads_to_the_shop(tmp_path: Path, sqlite_url: str) -> None:
    with running_app(write_registry(tmp_path), sqlite_url, demo=True) as (client, _service):
        response = client.get("/", follow_redirects=False)
        assert response.status_code in (302, 303, 307) and response.headers["location"] == "/demo/"
        assert client.get(response.headers["location"]).status_code == 200


def test_root_under_serve_links_the_docs_health_and_widget_script(tmp_path: Path, sqlite_url: str) -> None:
    with running_app(write_registry(tmp_path, SHOP_WITH_MARKUP), sqlite_url) as (client, _service):
        page = client.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "Accept" in page.headers["vary"]
        # Merchant text is escaped (the shop's name comes from the registry).
        assert "<b>Shop</b>" not in page.text and "&lt;b&gt;Shop&lt;/b&gt; &amp; &quot;Co&quot;" in page.text
        hrefs = re.findall(r'href="([^"]+)"', page.text)
        for wanted in ("/schema", "/api/v1/healthz", "/_prefkit/prefkit.js"):
            assert wanted in hrefs, (wanted, hrefs)
        for href in hrefs:
            assert client.get(href).status_code == 200, href

        as_json = client.get("/", headers={"Accept": "application/json"})
        assert as_json.status_code == 200 and as_json.headers["content-type"].startswith("application/json")
        body = as_json.json()
        assert body["service"] == "prefkit" and body["shop"] == '<b>Shop</b> & "Co"'
        assert body["links"]["api_docs"] == "/schema" and body["links"]["health"] == "/api/v1/healthz"
        assert body["links"]["widget_script"] == "/_prefkit/prefkit.js"
        assert sorted(body["links"].values()) == sorted(set(hrefs))
        assert client.get("/", headers={"Accept": "*/*"}).headers["content-type"].startswith("text/html")


def _printed_addresses(output: str) -> list[str]:
    return sorted(set(re.findall(r"http://[^\s,()]+", output)))


def _answers_200(url: str) -> None:
    response = httpx.get(url, follow_redirects=True, timeout=10)
    assert response.status_code == 200, (url, response.status_code, response.text[:300])


def test_every_address_prefkit_demo_prints_answers(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFKIT_")}
    log = tmp_path / "demo.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "bff.cli", "demo", "--port", str(port),
             "--database-url", f"sqlite:///{tmp_path / 'demo.db'}"],
            cwd=tmp_path, env={**env, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(Path.cwd())},
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
    try:
        wait_until_ready(f"http://127.0.0.1:{port}", timeout_s=60, process=process, log_path=log)
        addresses = _printed_addresses(log.read_text())
        assert f"http://127.0.0.1:{port}/" in addresses and f"http://127.0.0.1:{port}/demo/" in addresses
        for url in addresses:
            _answers_200(url)
    finally:
        stop_process(process)


def test_every_address_prefkit_serve_prints_answers(tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    registry = write_registry(tmp_path)
    with LiveServer(registry, f"sqlite:///{tmp_path / 'serve.db'}", log_path=log) as server:
        addresses = _printed_addresses(log.read_text())
        assert f"{server.url}/" in addresses
        for url in addresses:
            _answers_200(url)
