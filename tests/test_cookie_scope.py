"""Only responses that use the shopper's subject carry the subject cookie (real ``prefkit serve``, real HTTP).

A fresh anonymous subject is created for every request without a cookie, but it is only issued (and so only
exists) when a handler asked for it. Static and public responses (the widget script, ReactPy's immutable
chunks, theme CSS, the kit's strings, API docs, health) carry no ``Set-Cookie``: a shared cache storing one
would otherwise hand the same subject to every visitor, and each asset fetch would mint a subject.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator

import httpx
import pytest
from _bff_app import REGISTRY_TOML
from _live_server import LiveServer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    directory = tmp_path_factory.mktemp("cookie-scope")
    registry = directory / "registry.toml"
    registry.write_text(REGISTRY_TOML, encoding="utf-8")
    with LiveServer(registry, f"sqlite:///{directory / 'cookies.db'}", log_path=directory / "log") as live:
        yield live


def _fresh_get(server: LiveServer, path: str) -> httpx.Response:
    """``path`` fetched like a first-time visitor: no cookie sent, none kept."""
    return httpx.get(server.url + path, timeout=30)


def _chunk_of(server: LiveServer) -> str:
    """A content-hashed chunk ReactPy's client imports (named by its entry module)."""
    entry = _fresh_get(server, "/_prefkit/static/index.js")
    assert entry.status_code == 200, entry.text[:200]
    names = re.findall(r"\./(index-[0-9a-z]+\.js)", entry.text)
    assert names, entry.text[:500]
    return f"/_prefkit/static/{names[0]}"


def test_static_and_public_responses_carry_no_cookie_and_stay_cacheable(server: LiveServer) -> None:
    paths = ["/_prefkit/prefkit.js", "/_prefkit/static/index.js", _chunk_of(server),
             "/_prefkit/themes/default.css", "/_prefkit/kit/messages.json", "/api/v1/healthz",
             "/api/v1/readyz", "/schema", "/schema/openapi.json", "/", "/.well-known/gpc.json",
             "/api/v1/registry", "/no/such/page"]
    for path in paths:
        response = _fresh_get(server, path)
        assert response.status_code in (200, 404), (path, response.status_code)
        assert "set-cookie" not in response.headers, (path, response.headers.get_list("set-cookie"))
        assert "no-store" not in response.headers.get("cache-control", ""), (path, response.headers)
    assert "immutable" in _fresh_get(server, _chunk_of(server)).headers["cache-control"]


def test_the_first_use_of_the_subject_issues_the_cookie_once(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        client.get("/_prefkit/prefkit.js")
        first = client.get("/api/v1/preferences")
        assert first.status_code == 200 and len(first.headers.get_list("set-cookie")) == 1
        assert first.headers["set-cookie"].startswith("prefkit_sid=")
        assert "no-store" in first.headers["cache-control"]
        again = client.get("/api/v1/preferences")  # the cookie came back: nothing new to issue
        assert again.status_code == 200 and "set-cookie" not in again.headers
        assert again.json() == first.json()
    with httpx.Client(base_url=server.url, timeout=30) as client:
        warm = client.get("/_prefkit/session")  # what prefkit.js asks before any widget socket opens
        assert warm.status_code == 204 and warm.headers["set-cookie"].startswith("prefkit_sid=")


def test_a_first_widget_socket_still_gets_its_cookie(server: LiveServer) -> None:
    from websockets.asyncio.client import connect

    async def handshake() -> list[str]:
        url = server.url.replace("http://", "ws://") + "/_prefkit/ws/consent-toggle?key=newsletter&locale=en"
        async with connect(url, open_timeout=30) as websocket:
            first = json.loads(await asyncio.wait_for(websocket.recv(), timeout=30))
            assert first["type"] == "layout-update"
            return websocket.response.headers.get_all("Set-Cookie")

    cookies = asyncio.run(handshake())
    assert len(cookies) == 1 and cookies[0].startswith("prefkit_sid="), cookies


def test_a_refused_cookie_is_replaced_only_where_the_subject_is_used(server: LiveServer) -> None:
    garbage = {"cookie": "prefkit_sid=not-a-cookie-this-server-issued"}
    assert "set-cookie" not in httpx.get(f"{server.url}/_prefkit/prefkit.js", headers=garbage).headers
    replaced = httpx.get(f"{server.url}/api/v1/preferences", headers=garbage)
    assert replaced.status_code == 200 and replaced.headers["set-cookie"].startswith("prefkit_sid=")


def test_a_response_that_sets_the_subject_cookie_itself_carries_that_one_only(server: LiveServer) -> None:
    # First-time visitors (no cookie): login, logout and erasure set the cookie they mean (the customer's,
    # a fresh anonymous one, the clearing one); the fresh subject of the request must not add a second.
    from _live_server import SHOP_SECRET

    from bff.identity import issue_customer_token

    write = {"X-Prefkit-CSRF": "1"}
    token = issue_customer_token("c-cookie-scope", SHOP_SECRET)
    for method, path, body, starts in (
        ("POST", "/api/v1/session/login", {"token": token}, "prefkit_sid="),
        ("POST", "/api/v1/session/logout", None, "prefkit_sid="),
        ("DELETE", "/api/v1/me", None, "prefkit_sid=;"),
    ):
        response = httpx.request(method, server.url + path, json=body, headers=write, timeout=30)
        assert response.status_code == 200, (path, response.text)
        cookies = response.headers.get_list("set-cookie")
        assert len(cookies) == 1 and cookies[0].startswith(starts), (path, cookies)
