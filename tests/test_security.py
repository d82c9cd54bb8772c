"""Security hardening over real HTTP: subject isolation (cookies, tokens, ids in requests, API and admin
keys), security headers, secrets at start, rate and size limits, no IPs/user agents stored, and websocket
message limits through the real app. Merchant-text escaping is in ``test_security_escaping.py``."""

from __future__ import annotations

import base64
import hmac
import json
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from _bff_app import (
    ADMIN_KEY,
    API_KEY,
    SECRET,
    SHOP_SECRET,
    WRITE,
    expect_problem,
    running_app,
    write_registry,
)
from _live_server import SHOP_SECRET as LIVE_SHOP_SECRET
from _live_server import LiveServer, server_env
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from bff.identity import SUBJECT_COOKIE, Identity, issue_customer_token
from bff.settings import MIN_SECRET_LENGTH
from bff.storage import Database



@pytest.fixture
def registry_file(tmp_path: Path) -> Path:
    return write_registry(tmp_path)


# -- subject isolation ------------------------------------------------------------------------------


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def test_tampered_forged_foreign_and_expired_cookies_never_reach_another_subject(
    registry_file: Path, database_url: str
) -> None:
    with running_app(registry_file, database_url) as (victim, _service):
        assert (
            victim.put("/api/v1/preferences/newsletter", json={"value": True}, headers=WRITE).status_code
            == 200
        )
        assert (
            victim.put("/api/v1/preferences/colors", json={"value": ["red"]}, headers=WRITE).status_code
            == 200
        )
        victim_cookie = victim.cookies[SUBJECT_COOKIE]
        victim_subject = victim.get("/api/v1/me/export").json()["subject"]
        body, _, signature = victim_cookie.rpartition(".")
        victim.cookies.clear()
        attacker_signature = victim.get("/api/v1/preferences").cookies[SUBJECT_COOKIE].rpartition(".")[2]
        flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
        attacker_identity = Identity(secret="attacker-secret-" + "x" * MIN_SECRET_LENGTH)
        real_identity = Identity(secret=SECRET)
        attacks = {
            "signature flipped": f"{body}.{flipped}",
            "signed by another deployment": attacker_identity.sign_subject(victim_subject),
            "victim id with attacker's own signature": f"{_b64(victim_subject)}.0.{attacker_signature}",
            "customer id forged": attacker_identity.sign_subject("cust:c-1"),
            "expired customer cookie replayed": real_identity.sign_subject(
                "cust:c-1", expires_at=int(time.time()) - 5
            ),
            "garbage": "not-a-cookie",
        }
        for name, value in attacks.items():
            victim.cookies.clear()
            victim.cookies.set(SUBJECT_COOKIE, value)
            response = victim.get("/api/v1/preferences")
            assert response.status_code == 200, name
            document = response.json()
            assert document["subject_kind"] == "anonymous", name
            assert document["preferences"]["newsletter"]["source"] == "default", name
            assert document["preferences"]["colors"]["value"] == [], name
            fresh = response.cookies.get(SUBJECT_COOKIE)
            assert fresh and fresh != victim_cookie, name
            # Writing with the refused cookie never touches the victim.
            victim.cookies.clear()
            victim.cookies.set(SUBJECT_COOKIE, value)
            victim.put("/api/v1/preferences/newsletter", json={"value": False}, headers=WRITE)
        victim.cookies.clear()
        victim.cookies.set(SUBJECT_COOKIE, victim_cookie)
        mine = victim.get("/api/v1/preferences").json()["preferences"]
        assert mine["newsletter"]["value"] is True and mine["colors"]["value"] == ["red"]


def test_customer_tokens_expired_forged_swapped_or_replayed_are_refused(
    registry_file: Path, database_url: str
) -> None:
    with running_app(registry_file, database_url) as (client, _service):
        own = issue_customer_token("c-1", SHOP_SECRET)
        bearer = {"Authorization": f"Bearer {own}", **WRITE}
        assert (
            client.put("/api/v1/preferences/newsletter", json={"value": True}, headers=bearer).status_code
            == 200
        )
        client.cookies.clear()

        other = issue_customer_token("c-2", SHOP_SECRET)
        other_payload, _, other_signature = other.partition(".")
        own_payload, _, _ = own.partition(".")
        attacks = {
            "expired": issue_customer_token("c-1", SHOP_SECRET, ttl=-1),
            "signed with a guessed secret": issue_customer_token("c-1", "guess-" + "y" * MIN_SECRET_LENGTH),
            "c-1 payload with c-2 signature": f"{own_payload}.{other_signature}",
            "payload edited to c-1": _b64(json.dumps({"sub": "c-1", "exp": int(time.time()) + 300}))
            + "."
            + other_signature,
            "no signature": own_payload,
        }
        for _name, token in attacks.items():
            headers = {"Authorization": f"Bearer {token}"}
            expect_problem(client.get("/api/v1/preferences", headers=headers), 401, "invalid-token")
            expect_problem(client.get("/api/v1/me/export", headers=headers), 401, "invalid-token")
            expect_problem(
                client.post("/api/v1/session/login", json={"token": token}, headers=WRITE),
                401,
                "invalid-token",
            )
            client.cookies.clear()
        # c-2's own valid token shows c-2's data, never c-1's.
        seen = client.get("/api/v1/preferences", headers={"Authorization": f"Bearer {other}"}).json()
        assert seen["subject_kind"] == "customer" and seen["preferences"]["newsletter"]["source"] == "default"
        assert other_payload != own_payload


def test_subject_is_never_taken_from_the_request_and_profile_needs_the_api_key(
    registry_file: Path, sqlite_url: str
) -> None:
    with running_app(registry_file, sqlite_url) as (victim, _service):
        victim.put("/api/v1/preferences/recommendations", json={"value": True}, headers=WRITE)
        victim_subject = victim.get("/api/v1/me/export").json()["subject"]
        victim.cookies.clear()  # from here on: the attacker, with a fresh subject
        for path in ("/api/v1/preferences", "/api/v1/me/export", "/api/v1/consents/history"):
            response = victim.get(path, params={"subject": victim_subject})
            if path == "/api/v1/preferences":
                assert response.json()["preferences"]["recommendations"]["source"] == "default"
            assert victim_subject not in response.text, path
        expect_problem(victim.get("/api/v1/profile", params={"subject": victim_subject}), 401, "api-key")
        expect_problem(
            victim.get(
                "/api/v1/profile",
                params={"subject": victim_subject},
                headers={"X-API-Key": API_KEY[:-1] + "X"},
            ),
            401,
            "api-key",
        )
        expect_problem(
            victim.get("/api/v1/profile", params={"subject": victim_subject}, headers={"X-API-Key": ""}),
            401,
            "api-key",
        )
        own_profile = victim.get("/api/v1/profile").json()
        assert own_profile["subject"] != victim_subject and "recommendations" not in own_profile["purposes"]
        server = victim.get(
            "/api/v1/profile", params={"subject": victim_subject}, headers={"X-API-Key": API_KEY}
        )
        assert server.status_code == 200 and "recommendations" in server.json()["purposes"]
        # Erasure acts on the caller only.
        victim.delete("/api/v1/me", params={"subject": victim_subject}, headers=WRITE)
        server = victim.get(
            "/api/v1/profile", params={"subject": victim_subject}, headers={"X-API-Key": API_KEY}
        )
        assert "recommendations" in server.json()["purposes"]


def test_admin_needs_the_key_compared_in_constant_time(registry_file: Path, sqlite_url: str) -> None:
    wrong_keys = (ADMIN_KEY[:-1] + "0", ADMIN_KEY[:5], ADMIN_KEY + "x", "", ADMIN_KEY.upper())
    # One app per method: together the attempts would exceed the failed-check limit (tested on its own in
    # test_hostile_identity.py).
    with running_app(registry_file, sqlite_url) as (client, _service):
        expect_problem(client.get("/api/v1/admin/registry"), 401, "admin-key")
        for wrong in wrong_keys:
            response = client.get("/api/v1/admin/registry", headers={"X-Admin-Key": wrong})
            expect_problem(response, 401, "admin-key")
        assert client.get("/api/v1/admin/registry", headers={"X-Admin-Key": ADMIN_KEY}).status_code == 200
    with running_app(registry_file, sqlite_url) as (client, _service):
        for wrong in wrong_keys:
            response = client.put("/api/v1/admin/registry", content=b"{}", headers={"X-Admin-Key": wrong})
            expect_problem(response, 401, "admin-key")
        assert client.get("/api/v1/admin/registry", headers={"X-Admin-Key": ADMIN_KEY}).status_code == 200
    with running_app(registry_file, sqlite_url, admin_key="") as (client, _service):
        response = client.get("/api/v1/admin/registry", headers={"X-Admin-Key": ""})
        expect_problem(response, 403, "admin-disabled")


def test_admin_and_api_keys_are_compared_in_constant_time(
    registry_file: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A timing test would be flaky. What makes a comparison constant-time is that it is hmac.compare_digest
    # that compares: every key check a request makes must reach it with the key expected, as bytes
    # (compare_digest raises on a str with non-ASCII characters: such a key is a 401, never a 500).
    compared: list[tuple[object, object]] = []
    compare_digest = hmac.compare_digest

    def recording(presented: bytes, expected: bytes) -> bool:
        compared.append((presented, expected))
        return compare_digest(presented, expected)

    monkeypatch.setattr(hmac, "compare_digest", recording)
    other = "anon:" + "0" * 32
    with running_app(registry_file, sqlite_url) as (client, _service):
        for header, key, request in (
            ("X-Admin-Key", ADMIN_KEY, lambda headers: client.get("/api/v1/admin/registry", headers=headers)),
            (
                "X-API-Key",
                API_KEY,
                lambda headers: client.get("/api/v1/profile", params={"subject": other}, headers=headers),
            ),
        ):
            for presented, status in ((key[:-1] + "0", 401), ("klucz-żółw", 401), (key, 200)):
                compared.clear()
                response = request({header: presented.encode("utf-8")})
                assert response.status_code == status, (header, presented, response.text)
                assert key.encode() in [expected for _, expected in compared], (header, presented, compared)


# -- headers ----------------------------------------------------------------------------------------


def test_security_headers_with_frame_ancestors_from_the_allowlist(
    registry_file: Path, sqlite_url: str
) -> None:
    with running_app(registry_file, sqlite_url, allowed_origins=("https://shop.example",)) as (client, _s):
        for path in (
            "/api/v1/preferences",
            "/api/v1/registry",
            "/api/v1/me/export",
            "/api/v1/preferences/nope",
        ):
            response = client.get(path)
            assert response.headers["x-content-type-options"] == "nosniff", path
            assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin", path
            csp = response.headers["content-security-policy"]
            assert "default-src 'none'" in csp, path
            assert "frame-ancestors 'self' https://shop.example" in csp, path
        script = client.get("/_prefkit/prefkit.js")
        assert script.status_code == 200 and script.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'self' https://shop.example" in script.headers["content-security-policy"]
        client.cookies.clear()
        cookie = client.get("/api/v1/preferences").headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


# -- secrets ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PREFKIT_SECRET": ""}, "PREFKIT_SECRET is not set"),
        ({"PREFKIT_SECRET": "changeme"}, "PREFKIT_SECRET has only 8 characters"),
        ({"PREFKIT_SECRET": "x" * (MIN_SECRET_LENGTH - 1)}, f"has only {MIN_SECRET_LENGTH - 1} characters"),
        ({"PREFKIT_SHOP_SECRET": "secret"}, "PREFKIT_SHOP_SECRET has only 6 characters"),
        ({"PREFKIT_SECRET": "changeme" * 5}, "PREFKIT_SECRET looks like a placeholder"),
        ({"PREFKIT_SHOP_SECRET": "x" * 64}, "PREFKIT_SHOP_SECRET looks like a placeholder"),
        ({"PREFKIT_API_KEY": "7"}, "PREFKIT_API_KEY has only 1 characters; use at least 32 random"),
        ({"PREFKIT_ADMIN_KEY": "x"}, "PREFKIT_ADMIN_KEY has only 1 characters; use at least 32 random"),
        ({"PREFKIT_ADMIN_KEY": "x" * (MIN_SECRET_LENGTH - 1)}, "(128 bits or more)"),
        ({"PREFKIT_API_KEY": "ab" * 40}, "PREFKIT_API_KEY looks like a placeholder"),
    ],
)
def test_serve_refuses_to_start_outside_demo_with_a_default_or_short_secret(
    registry_file: Path, tmp_path: Path, env: dict[str, str], message: str
) -> None:
    server = LiveServer(registry_file, f"sqlite:///{tmp_path / 'refused.db'}", **env)
    result = subprocess.run(
        server.command(), env=server.env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert message in result.stderr
    assert "prefkit listening" not in result.stdout
    assert not (tmp_path / "refused.db").exists()  # refused before touching the database


def test_secrets_come_only_from_the_environment() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bff.cli", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env=server_env(),
    )
    assert result.returncode == 0
    assert "--secret" not in result.stdout and "--admin-key" not in result.stdout
    assert "PREFKIT_" in result.stdout


# -- limits -----------------------------------------------------------------------------------------


def test_write_and_admin_rate_limits_answer_429_problems(registry_file: Path, sqlite_url: str) -> None:
    with running_app(registry_file, sqlite_url, write_rate_limit_per_minute=3) as (client, _service):
        for _ in range(3):
            assert (
                client.put("/api/v1/preferences/newsletter", json={"value": True}, headers=WRITE).status_code
                == 200
            )
        limited = client.put("/api/v1/preferences/newsletter", json={"value": False}, headers=WRITE)
        expect_problem(limited, 429)
        assert int(limited.headers["ratelimit-reset"]) > 0 and limited.headers["ratelimit-remaining"] == "0"
        assert 1 <= int(limited.headers["retry-after"]) <= 60  # when to try again, in standard HTTP
        assert client.get("/api/v1/preferences").json()["preferences"]["newsletter"]["value"] is True
        assert client.get("/api/v1/preferences").status_code == 200  # reads are not throttled
    with running_app(registry_file, sqlite_url, write_rate_limit_per_minute=3) as (client, _service):
        for _ in range(3):
            expect_problem(client.get("/api/v1/admin/registry", headers={"X-Admin-Key": "guess"}), 401)
        expect_problem(client.get("/api/v1/admin/registry", headers={"X-Admin-Key": ADMIN_KEY}), 429)


def test_request_body_size_limit_answers_413expect_problem(registry_file: Path, sqlite_url: str) -> None:
    with running_app(registry_file, sqlite_url, max_body_bytes=16 * 1024) as (client, _service):
        big = json.dumps({"value": ["red"] * 10_000})
        expect_problem(
            client.put(
                "/api/v1/preferences/colors",
                content=big,
                headers={**WRITE, "Content-Type": "application/json"},
            ),
            413,
        )
        expect_problem(
            client.patch(
                "/api/v1/preferences",
                content=json.dumps({"colors": ["red"] * 10_000}),
                headers={**WRITE, "Content-Type": "application/json"},
            ),
            413,
        )
        expect_problem(
            client.put(
                "/api/v1/admin/registry",
                content=b"#" * (3 * 1024 * 1024),
                headers={"X-Admin-Key": ADMIN_KEY, "Content-Type": "application/toml"},
            ),
            413,
        )
        assert client.get("/api/v1/preferences").json()["preferences"]["colors"]["source"] == "default"


# -- live server: websockets and what is stored ----------------------------------------------------


@pytest.fixture
def live(registry_file: Path, tmp_path: Path) -> Any:
    with LiveServer(
        registry_file, f"sqlite:///{tmp_path / 'live.db'}", log_path=tmp_path / "server.log"
    ) as server:
        yield server


def _ws_url(server: LiveServer, widget: str, query: str) -> str:
    return server.url.replace("http://", "ws://") + f"/_prefkit/ws/{widget}?{query}"


def test_widget_websocket_closes_with_1008_over_64_kib_through_the_real_app(live: LiveServer) -> None:
    with connect(
        _ws_url(live, "consent-toggle", "key=newsletter&locale=en"),
        origin=live.url,  # type: ignore[arg-type]
        max_size=None,
        open_timeout=10,
    ) as ws:
        first = json.loads(ws.recv(timeout=10))
        assert first["type"] == "layout-update"
        ws.send(json.dumps({"type": "layout-event", "target": "x", "data": ["y" * (64 * 1024)]}))
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                ws.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


def test_widget_websocket_from_a_foreign_origin_is_refused(live: LiveServer) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(
            _ws_url(live, "consent-toggle", "key=newsletter"),
            origin="https://evil.example",  # type: ignore[arg-type]
            open_timeout=10,
        )
    assert refused.value.response.status_code == 403


def _all_stored_text(database_url: str) -> str:
    """Every row of every prefkit table, as text (works for SQLite and PostgreSQL alike)."""
    database = Database(database_url)
    try:
        with database.read() as connection:
            tables = sa.inspect(connection).get_table_names()
            return "\n".join(
                repr(row)
                for table in tables
                for row in connection.execute(sa.text(f'SELECT * FROM "{table}"'))
            )
    finally:
        database.dispose()


def test_ip_addresses_and_user_agents_are_not_stored(
    registry_file: Path, tmp_path: Path, database_url: str
) -> None:
    marker = f"UA-MARKER-{uuid.uuid4().hex}"
    forwarded = "203.0.113.77"
    headers = {
        "User-Agent": marker,
        "X-Forwarded-For": forwarded,
        "X-Real-IP": forwarded,
        "Forwarded": f"for={forwarded}",
        **WRITE,
    }
    log = tmp_path / "server.log"
    with (
        LiveServer(registry_file, database_url, log_path=log) as live,
        httpx.Client(base_url=live.url, headers=headers, timeout=10) as client,
    ):
        assert client.put("/api/v1/preferences/newsletter", json={"value": True}).status_code == 200
        assert client.post("/api/v1/consents/reject-all").status_code == 200
        assert client.patch("/api/v1/preferences", json={"colors": ["blue"], "level": 6}).status_code == 200
        token = issue_customer_token("c-ip", LIVE_SHOP_SECRET)
        assert client.post("/api/v1/session/login", json={"token": token}).status_code == 200
        assert client.delete("/api/v1/preferences/colors").status_code == 200
        assert client.get("/api/v1/me/export").status_code == 200
        assert client.get("/api/v1/admin/registry", headers={"X-Admin-Key": "wrong"}).status_code == 401
    stored = _all_stored_text(database_url)
    if database_url.startswith("sqlite"):  # the raw file too: free pages and the WAL keep old bytes
        stored += "".join(path.read_bytes().decode("latin-1") for path in tmp_path.glob("*.db*"))
    assert "cust:c-ip" in stored  # the probe sees what was written...
    for clear_text in (marker, forwarded, "127.0.0.1"):
        assert clear_text not in stored, clear_text  # ...and no client address or user agent
    server_log = log.read_text()
    assert marker not in server_log and forwarded not in server_log
    assert not re.search(r"\d+\.\d+\.\d+\.\d+:\d+ - \"", server_log), "access log names client addresses"
