"""Identity: customer tokens (format, expiry, forgery), login and bearer access, the merge of anonymous
choices on first sight, and the subject of a websocket connection."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from _bff_app import SECRET, SHOP_SECRET, WRITE, Clock, app, clock  # noqa: F401 - app, clock: fixtures
from litestar import Litestar, WebSocket, websocket
from litestar.middleware import DefineMiddleware
from litestar.testing import TestClient

from bff.identity import (
    Identity,
    IdentityMiddleware,
    InvalidCustomerToken,
    issue_customer_token,
    subject_from_connection,
    verify_customer_token,
)
from bff.service import PreferenceService


def test_customer_token_round_trip_and_refusals() -> None:
    token = issue_customer_token("cust-42", SHOP_SECRET, ttl=60)
    assert verify_customer_token(token, SHOP_SECRET) == "cust-42"
    with pytest.raises(InvalidCustomerToken, match="expired"):
        verify_customer_token(
            issue_customer_token("cust-42", SHOP_SECRET, ttl=60, now=time.time() - 120), SHOP_SECRET
        )
    with pytest.raises(InvalidCustomerToken, match="signature"):
        verify_customer_token(token, "another-shop-secret-0123456789abcdef")
    payload, _, signature = token.partition(".")
    forged_payload = issue_customer_token("someone-else", "x" * 40).partition(".")[0]
    with pytest.raises(InvalidCustomerToken, match="signature"):
        verify_customer_token(f"{forged_payload}.{signature}", SHOP_SECRET)
    with pytest.raises(InvalidCustomerToken, match="malformed"):
        verify_customer_token("garbage", SHOP_SECRET)


def test_cookie_signature_binds_subject_and_expiry() -> None:
    identity = Identity(secret=SECRET)
    value = identity.sign_subject("anon:" + "a" * 32)
    assert identity.verify_subject(value) == "anon:" + "a" * 32
    assert Identity(secret="another-secret-0123456789abcdefghijkl").verify_subject(value) is None
    expired = identity.sign_subject("cust:1", expires_at=int(time.time()) - 1)
    assert identity.verify_subject(expired) is None
    encoded, expires, signature = identity.sign_subject("cust:1", expires_at=int(time.time()) + 60).split(".")
    assert identity.verify_subject(f"{encoded}.{int(expires) + 999}.{signature}") is None


def test_bearer_token_identifies_the_customer(app: tuple[TestClient, PreferenceService]) -> None:
    client, _ = app
    token = issue_customer_token("c-1", SHOP_SECRET)
    bearer = {"Authorization": f"Bearer {token}"}
    response = client.put("/api/v1/preferences/size", json={"value": "m"}, headers=bearer)  # no CSRF needed
    assert response.status_code == 200
    stranger = TestClient(client.app)
    listed = stranger.get("/api/v1/preferences", headers=bearer).json()
    assert listed["subject_kind"] == "customer" and listed["preferences"]["size"]["value"] == "m"
    assert stranger.get("/api/v1/preferences").json()["preferences"]["size"]["value"] is None


def test_expired_or_forged_bearer_token_is_401(app: tuple[TestClient, PreferenceService]) -> None:
    client, _ = app
    expired = issue_customer_token("c-1", SHOP_SECRET, ttl=10, now=time.time() - 60)
    response = client.get("/api/v1/preferences", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert (
        response.json()["type"] == "urn:prefkit:problem:invalid-token"
        and "expired" in response.json()["detail"]
    )
    forged = issue_customer_token("c-1", "not-the-shop-secret-0123456789abcdef")
    response = client.put(
        "/api/v1/preferences/size", json={"value": "s"}, headers={"Authorization": f"Bearer {forged}"}
    )
    assert response.status_code == 401 and "signature" in response.json()["detail"]
    response = client.post("/api/v1/session/login", json={"token": expired}, headers=WRITE)
    assert response.status_code == 401 and response.json()["type"] == "urn:prefkit:problem:invalid-token"


def test_login_merges_anonymous_choices_once(app: tuple[TestClient, PreferenceService], clock: Clock) -> None:
    client, service = app
    from datetime import timedelta

    import anyio

    # The customer decided some things earlier, elsewhere.
    customer = "cust:c-7"
    anyio.run(lambda: service.set_values(customer, {"size": "s", "newsletter": True}, method="api"))
    clock.now += timedelta(minutes=5)
    # Anonymously, in this browser, later: a conflicting newer choice and a new one.
    client.patch("/api/v1/preferences", json={"size": "m", "balance": 0.25}, headers=WRITE)
    response = client.post(
        "/api/v1/session/login", json={"token": issue_customer_token("c-7", SHOP_SECRET)}, headers=WRITE
    )
    assert response.status_code == 200
    assert response.json() == {"subject_kind": "customer", "merged_keys": ["balance", "size"]}
    assert "prefkit_sid=" in response.headers["set-cookie"]
    values = client.get("/api/v1/preferences").json()
    assert values["subject_kind"] == "customer"
    prefs = values["preferences"]
    assert prefs["size"]["value"] == "m"  # most recent wins
    assert prefs["balance"]["value"] == 0.25  # explicit wins over default
    assert prefs["newsletter"]["value"] is True  # the customer's own choice stays
    events = client.get("/api/v1/consents/history").json()["events"]
    assert sorted((e["key"], e["method"]) for e in events if e["method"] == "merge") == [
        ("balance", "merge"),
        ("size", "merge"),
    ]
    assert client.get("/api/v1/consents/history").json()["chain"]["valid"] is True
    assert anyio.run(service.merge, "anon:" + "0" * 32, customer) == []  # nothing to take over


def test_bearer_with_anonymous_cookie_merges_on_first_sight(
    app: tuple[TestClient, PreferenceService],
) -> None:
    client, service = app
    client.put("/api/v1/preferences/colors", json={"value": ["red"]}, headers=WRITE)
    bearer = {"Authorization": f"Bearer {issue_customer_token('c-9', SHOP_SECRET)}"}
    assert client.get("/api/v1/preferences", headers=bearer).json()["preferences"]["colors"]["value"] == [
        "red"
    ]
    client.get("/api/v1/preferences", headers=bearer)
    import anyio

    history = anyio.run(service.history, "cust:c-9")
    assert [(e.key, e.method) for e in history] == [("colors", "merge")]


def test_subject_from_connection_on_websocket(tmp_path: Path) -> None:
    identity = Identity(secret=SECRET)
    seen: list[str] = []

    @websocket("/ws")
    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        seen.append(subject_from_connection(socket))
        await socket.send_text(seen[-1])
        await socket.close()

    app = Litestar([handler], middleware=[DefineMiddleware(IdentityMiddleware, identity=identity)])
    client = TestClient(app)
    cookie = identity.sign_subject("anon:" + "b" * 32)
    with client.websocket_connect("/ws", headers={"cookie": f"prefkit_sid={cookie}"}) as ws:
        assert ws.receive_text() == "anon:" + "b" * 32
    with client.websocket_connect("/ws", headers={"cookie": "prefkit_sid=tampered.0.xyz"}) as ws:
        fresh = ws.receive_text()
    assert fresh.startswith("anon:") and fresh != "anon:" + "b" * 32


def test_a_revoked_customer_cookie_is_refused_on_the_websocket_handshake_too(tmp_path: Path) -> None:
    import anyio

    from bff.sessions import SessionRevocations
    from bff.storage import Database

    database = Database(f"sqlite:///{tmp_path / 'ws.db'}")
    database.migrate()
    sessions = SessionRevocations(database)
    identity = Identity(secret=SECRET)

    @websocket("/ws")
    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        await socket.send_text(subject_from_connection(socket))
        await socket.close()

    app = Litestar(
        [handler],
        middleware=[DefineMiddleware(IdentityMiddleware, identity=identity, revoked=sessions.is_revoked)],
    )
    try:
        value, _ = identity.cookie_value("cust:c-ws")
        claims = identity.verify_cookie(value)
        assert claims is not None and claims.session
        client = TestClient(app)
        with client.websocket_connect("/ws", headers={"cookie": f"prefkit_sid={value}"}) as ws:
            assert ws.receive_text() == "cust:c-ws"
        anyio.run(sessions.revoke, claims.session, claims.expires_at)
        with client.websocket_connect("/ws", headers={"cookie": f"prefkit_sid={value}"}) as ws:
            assert ws.receive_text().startswith("anon:")
    finally:
        database.dispose()
