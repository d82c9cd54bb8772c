"""Hostile credentials over real HTTP: malformed cookies, tokens and keys never give a 500; failed key
checks are throttled; the CSRF exemption needs valid credentials; the session cookie resists fixation
from related origins (``__Host-`` prefix, duplicates); logout revokes the customer cookie in every
process sharing the database; personal responses are not cacheable; bearer GETs with throwaway
anonymous cookies write nothing.

The cookie scheme these tests hold the BFF to is described in SECURITY.md ("Cookie scheme")."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
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
from _live_server import SECRET as LIVE_SECRET
from _live_server import SHOP_SECRET as LIVE_SHOP_SECRET
from _live_server import LiveServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from bff.api.context import KEY_FAILURE_LIMIT, KEY_FAILURE_WINDOW_S, KeyFailureThrottle
from bff.identity import SECURE_SUBJECT_COOKIE, SUBJECT_COOKIE, Identity, issue_customer_token
from bff.storage import Database

EVIL = "https://evil.example"

# Bytes a sibling origin can put into a cookie (or a client into a header) that HTTP/1.1 still carries:
# visible ASCII and obs-text (0x80-0xff), no control characters (the server's HTTP parser refuses those).
HOSTILE: list[bytes] = [
    b"\xe9",
    "żółw".encode(),
    b"abc.0.\xe9\xe9\xe9",
    b"\xff" * 64,
    b"a.b.c.d.e.f",
    b"..",
    b".0.",
    b"=",
    b'"\xc3\x28"',
    b"YW5vbjp4.99999999999999999999999.AAAA",
]
def _carried(raw: bytes) -> bytes:
    return bytes(b for b in raw if 0x21 <= b <= 0x7E or b >= 0x80)


_SEGMENT = st.binary(max_size=60).map(_carried)
_HEADER_BYTES = st.one_of(
    st.lists(_SEGMENT, min_size=1, max_size=5).map(b".".join),  # shaped like a cookie or a token
    st.binary(min_size=1, max_size=200).map(_carried),
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _shop_signed(claims: dict[str, Any], secret: str = SHOP_SECRET) -> str:
    """A token signed with the real shop secret, whatever its claims: what a buggy shop backend sends."""
    payload = _b64(json.dumps(claims).encode())
    signature = _b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest())
    return f"{payload}.{signature}"


def _set_cookies(response: httpx.Response) -> list[str]:
    return response.headers.get_list("set-cookie")


def _session_cookie(response: httpx.Response) -> str:
    """The value of the session cookie the response sets (either name)."""
    for header in _set_cookies(response):
        name, _, rest = header.partition("=")
        if name in (SUBJECT_COOKIE, SECURE_SUBJECT_COOKIE):
            return rest.split(";", 1)[0]
    raise AssertionError(f"no session cookie set: {_set_cookies(response)}")


@pytest.fixture
def registry_file(tmp_path: Path) -> Path:
    return write_registry(tmp_path)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    directory = tmp_path_factory.mktemp("hostile-identity")
    with LiveServer(write_registry(directory), f"sqlite:///{directory / 'live.db'}") as server:
        yield server


def _raw(
    server: LiveServer, method: str, path: str, headers: list[tuple[bytes, bytes]], **kw: Any
) -> httpx.Response:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        return client.request(method, path, headers=[(b"origin", server.url.encode()), *headers], **kw)


# -- 10: malformed credentials -----------------------------------------------------------------------

_SHOPPER_ROUTES = [
    ("GET", "/api/v1/preferences", None),
    ("GET", "/api/v1/preferences/newsletter", None),
    ("GET", "/api/v1/consents/history", None),
    ("GET", "/api/v1/profile", None),
    ("GET", "/api/v1/me/export", None),
    ("GET", "/demo/your-data", None),
    ("PUT", "/api/v1/preferences/newsletter", {"value": False}),
    ("DELETE", "/api/v1/preferences/newsletter", None),
    ("POST", "/api/v1/consents/reject-all", None),
    ("POST", "/api/v1/session/logout", None),
]


@pytest.mark.parametrize("value", HOSTILE, ids=repr)
def test_a_malformed_session_cookie_gives_a_fresh_anonymous_subject_on_every_route(
    live: LiveServer, value: bytes
) -> None:
    for method, path, body in _SHOPPER_ROUTES:
        response = _raw(live, method, path, [(b"cookie", b"prefkit_sid=" + value)], json=body)
        assert response.status_code == 200, (method, path, response.status_code, response.text)
        assert _session_cookie(response), (method, path)
    listed = _raw(live, "GET", "/api/v1/preferences", [(b"cookie", b"prefkit_sid=" + value)])
    assert listed.json()["subject_kind"] == "anonymous"
    assert listed.json()["preferences"]["newsletter"]["source"] == "default"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=_HEADER_BYTES)
def test_no_cookie_or_token_bytes_make_a_500(live: LiveServer, value: bytes) -> None:
    for name in (b"prefkit_sid", b"__Host-prefkit_sid"):
        response = _raw(live, "GET", "/api/v1/preferences", [(b"cookie", name + b"=" + value)])
        assert response.status_code == 200, response.text
        assert response.json()["subject_kind"] == "anonymous"
    bearer = [(b"authorization", b"Bearer " + (value or b"x"))]
    expect_problem(_raw(live, "GET", "/api/v1/preferences", bearer), 401, "invalid-token")


def test_withdrawal_works_after_a_sibling_origin_planted_a_garbage_cookie(live: LiveServer) -> None:
    with httpx.Client(base_url=live.url, timeout=10, headers={"origin": live.url}) as shopper:
        assert shopper.put("/api/v1/preferences/newsletter", json={"value": True}).status_code == 200
        assert shopper.put("/api/v1/preferences/recommendations", json={"value": True}).status_code == 200
        own = shopper.cookies[SUBJECT_COOKIE]
    # The planted cookie has a narrower Path, so the browser sends it first.
    header = b"prefkit_sid=\xe9planted\xff; prefkit_sid=" + own.encode()
    withdrawn = _raw(live, "DELETE", "/api/v1/preferences/newsletter", [(b"cookie", header)])
    assert withdrawn.status_code == 200 and withdrawn.json()["value"] is False
    rejected = _raw(live, "POST", "/api/v1/consents/reject-all", [(b"cookie", header)])
    assert rejected.status_code == 200
    assert not _set_cookies(withdrawn) and not _set_cookies(rejected)  # the shopper keeps their subject
    mine = _raw(live, "GET", "/api/v1/preferences", [(b"cookie", b"prefkit_sid=" + own.encode())]).json()
    assert mine["preferences"]["newsletter"]["value"] is False
    assert mine["preferences"]["recommendations"]["value"] is False
    assert _raw(live, "DELETE", "/api/v1/me", [(b"cookie", header)]).status_code == 200  # erasure too


@pytest.mark.parametrize("value", HOSTILE, ids=repr)
def test_a_malformed_bearer_or_login_token_is_a_401expect_problem(live: LiveServer, value: bytes) -> None:
    bearer = [(b"authorization", b"Bearer " + value)]
    expect_problem(_raw(live, "GET", "/api/v1/preferences", bearer), 401, "invalid-token")
    expect_problem(_raw(live, "GET", "/api/v1/me/export", bearer), 401, "invalid-token")
    written = _raw(live, "PUT", "/api/v1/preferences/size", bearer, json={"value": "m"})
    expect_problem(written, 401, "invalid-token")
    text = value.decode("utf-8", "replace")
    login = _raw(live, "POST", "/api/v1/session/login", [], json={"token": text})
    expect_problem(login, 401, "invalid-token")


def test_malformed_api_and_admin_keys_are_401_problems(live: LiveServer) -> None:
    for value in HOSTILE[:4]:  # fewer than the failure limit: the throttle is tested on its own
        profile = _raw(live, "GET", "/api/v1/profile?subject=anon:" + "0" * 32, [(b"x-api-key", value)])
        expect_problem(profile, 401, "api-key")
        admin = _raw(live, "GET", "/api/v1/admin/registry", [(b"x-admin-key", value)])
        expect_problem(admin, 401, "admin-key")


# -- 14: failed key checks are throttled --------------------------------------------------------------


def test_failed_key_checks_are_throttled_until_the_window_passes(
    registry_file: Path, sqlite_url: str
) -> None:
    subject = "anon:" + "0" * 32
    carriers = [
        ("/api/v1/profile", {"subject": subject}, "X-API-Key", API_KEY, "api-key"),
        ("/api/v1/admin/registry", {}, "X-Admin-Key", ADMIN_KEY, "admin-key"),
    ]
    with running_app(registry_file, sqlite_url) as (client, _service):
        for path, params, header, key, slug in carriers:
            for _ in range(KEY_FAILURE_LIMIT + 5):  # successful checks do not count
                assert client.get(path, params=params, headers={header: key}).status_code == 200
            for attempt in range(KEY_FAILURE_LIMIT):
                guessed = client.get(path, params=params, headers={header: f"guess-{attempt}"})
                expect_problem(guessed, 401, slug)
            for presented in ("another-guess", key):  # locked out, right key or not
                limited = client.get(path, params=params, headers={header: presented})
                body = expect_problem(limited, 429, "key-throttled")
                assert 1 <= int(limited.headers["retry-after"]) <= KEY_FAILURE_WINDOW_S
                assert header in body["detail"]
        # Shoppers are not affected: their requests carry no key.
        assert client.get("/api/v1/preferences").status_code == 200


def test_key_failure_throttle_counts_per_client_and_forgets_after_the_window() -> None:
    now = [1000.0]
    throttle = KeyFailureThrottle(limit=3, window=60, clock=lambda: now[0])
    for _ in range(3):
        assert throttle.retry_after("admin", "10.0.0.1") is None
        throttle.failed("admin", "10.0.0.1")
    assert throttle.retry_after("admin", "10.0.0.1") == 60
    assert throttle.retry_after("admin", "10.0.0.2") is None  # another client
    assert throttle.retry_after("api", "10.0.0.1") is None  # another key
    now[0] += 59.5
    assert throttle.retry_after("admin", "10.0.0.1") == 1
    now[0] += 0.5
    assert throttle.retry_after("admin", "10.0.0.1") is None  # the window passed
    throttle.failed("admin", "10.0.0.1")
    assert throttle.retry_after("admin", "10.0.0.1") is None  # a new window, one failure in it


# -- 15: the CSRF exemption needs valid credentials ---------------------------------------------------


def test_a_cookie_write_from_a_foreign_origin_is_refused_whatever_key_headers_it_carries(
    registry_file: Path, sqlite_url: str
) -> None:
    with running_app(registry_file, sqlite_url) as (client, _service):
        granted = client.put("/api/v1/preferences/newsletter", json={"value": True}, headers=WRITE)
        assert granted.status_code == 200
        for extra in (
            {"X-API-Key": "whatever"},
            {"X-API-Key": API_KEY},  # a real key authenticates no write: the cookie still picks the subject
            {"X-Admin-Key": "whatever"},
            {"Authorization": "Basic d2hhdGV2ZXI="},
            # A bearer token that does not verify authenticates nothing either: refused as such (401).
            {"Authorization": "Bearer whatever"},
            {"Authorization": "Bearer " + issue_customer_token("c-1", "not-the-shop-secret-0123456789abc")},
        ):
            for method, path, body in (
                ("PUT", "/api/v1/preferences/newsletter", {"value": False}),
                ("DELETE", "/api/v1/preferences/newsletter", None),
                ("POST", "/api/v1/consents/reject-all", None),
                ("POST", "/api/v1/session/login", {"token": issue_customer_token("c-1", SHOP_SECRET)}),
            ):
                response = client.request(method, path, json=body, headers={"Origin": EVIL, **extra})
                bearer = extra.get("Authorization", "").startswith("Bearer")
                expect_problem(response, 401 if bearer else 403, "invalid-token" if bearer else "csrf")
        assert client.get("/api/v1/preferences").json()["preferences"]["newsletter"]["value"] is True
        # A valid customer token is exempt: it, not the cookie, names the subject.
        bearer = {"Origin": EVIL, "Authorization": "Bearer " + issue_customer_token("c-1", SHOP_SECRET)}
        assert client.put("/api/v1/preferences/size", json={"value": "m"}, headers=bearer).status_code == 200
        assert client.get("/api/v1/preferences").json()["preferences"]["size"]["value"] is None


# -- 16: cookie fixation from related origins ---------------------------------------------------------


def _https(client: TestClient) -> TestClient:
    return TestClient(client.app, base_url="https://testserver.local")


def test_the_session_cookie_is_host_prefixed_over_https_and_plain_over_http(
    registry_file: Path, sqlite_url: str
) -> None:
    with running_app(registry_file, sqlite_url) as (client, _service):
        plain = client.get("/api/v1/preferences").headers["set-cookie"]
        assert plain.startswith(f"{SUBJECT_COOKIE}=") and "Secure" not in plain and "Domain" not in plain
        secure_client = _https(client)
        response = secure_client.get("/api/v1/preferences")
        cookie = response.headers["set-cookie"]
        assert cookie.startswith(f"{SECURE_SUBJECT_COOKIE}=")
        attributes = [part.strip() for part in cookie.split(";")[1:]]
        assert "Secure" in attributes and "Path=/" in attributes and "HttpOnly" in attributes
        assert not any(a.lower().startswith("domain") for a in attributes)
        # The browser sends it back and keeps its subject.
        again = secure_client.get("/api/v1/preferences")
        assert again.status_code == 200 and "set-cookie" not in again.headers
        login = secure_client.post(
            "/api/v1/session/login", json={"token": issue_customer_token("c-1", SHOP_SECRET)}, headers=WRITE
        )
        assert login.headers["set-cookie"].startswith(f"{SECURE_SUBJECT_COOKIE}=")
        assert "Secure" in login.headers["set-cookie"]
        assert secure_client.get("/api/v1/preferences").json()["subject_kind"] == "customer"
        erased = secure_client.delete("/api/v1/me", headers=WRITE).headers["set-cookie"]
        assert erased.startswith(f"{SECURE_SUBJECT_COOKIE}=;")
        assert "Secure" in erased and "Max-Age=0" in erased
    with running_app(registry_file, sqlite_url, cookie_secure=True) as (client, _service):
        # Behind a TLS-terminating proxy (PREFKIT_COOKIE_SECURE=1) the app sees http but browsers see https.
        assert client.get("/api/v1/preferences").headers["set-cookie"].startswith(f"{SECURE_SUBJECT_COOKIE}=")


def test_over_https_an_unprefixed_cookie_planted_by_a_sibling_is_ignored(
    registry_file: Path, sqlite_url: str
) -> None:
    identity = Identity(secret=SECRET)
    with running_app(registry_file, sqlite_url) as (client, service):
        attacker = "anon:" + "a" * 32
        import anyio

        anyio.run(lambda: service.set_values(attacker, {"newsletter": True}, method="api"))
        planted = identity.sign_subject(attacker)  # a valid cookie of the attacker's own subject
        secure_client = _https(client)
        secure_client.cookies.clear()
        alone = secure_client.get("/api/v1/preferences", headers={"cookie": f"{SUBJECT_COOKIE}={planted}"})
        assert alone.json()["preferences"]["newsletter"]["value"] is False  # not the attacker's subject
        victim_cookie = _session_cookie(alone)
        assert alone.headers["set-cookie"].startswith(f"{SECURE_SUBJECT_COOKIE}=")
        both = f"{SUBJECT_COOKIE}={planted}; {SECURE_SUBJECT_COOKIE}={victim_cookie}"
        secure_client.cookies.clear()
        written = secure_client.put(
            "/api/v1/preferences/recommendations", json={"value": True}, headers={**WRITE, "cookie": both}
        )
        assert written.status_code == 200 and "set-cookie" not in written.headers
        assert anyio.run(service.effective, attacker)["recommendations"].value is False
        assert identity.verify_subject(victim_cookie) is not None
        victim = identity.verify_subject(victim_cookie)
        assert anyio.run(service.effective, victim)["recommendations"].value is True


def test_two_different_session_cookies_are_ambiguous_and_neither_is_trusted(
    registry_file: Path, database_url: str
) -> None:
    identity = Identity(secret=SECRET)
    import anyio

    with running_app(registry_file, database_url) as (client, service):
        attacker, victim = "anon:" + "a" * 32, "anon:" + "b" * 32
        anyio.run(lambda: service.set_values(attacker, {"newsletter": True, "size": "s"}, method="api"))
        anyio.run(lambda: service.set_values(victim, {"colors": ["red"]}, method="api"))
        a, v = identity.sign_subject(attacker), identity.sign_subject(victim)
        client.cookies.clear()
        for header in (f"prefkit_sid={a}; prefkit_sid={v}", f"prefkit_sid={v}; prefkit_sid={a}"):
            seen = client.get("/api/v1/preferences", headers={"cookie": header})
            assert seen.status_code == 200
            values = seen.json()["preferences"]
            assert values["newsletter"]["source"] == "default" and values["colors"]["value"] == []
            assert _session_cookie(seen) not in (a, v)
            client.cookies.clear()
            # Logging in with both does not merge the attacker's subject (nor the victim's) into anybody.
            login = client.post(
                "/api/v1/session/login",
                json={"token": issue_customer_token("victim", SHOP_SECRET)},
                headers={**WRITE, "cookie": header},
            )
            assert login.status_code == 200 and login.json()["merged_keys"] == []
            client.cookies.clear()
        assert anyio.run(service.effective, "cust:victim")["newsletter"].source == "default"
        # The same cookie twice is not ambiguous, and a garbage sibling does not hide the valid one.
        for header in (f"prefkit_sid={v}; prefkit_sid={v}", f"prefkit_sid=garbage; prefkit_sid={v}"):
            assert client.get("/api/v1/preferences", headers={"cookie": header}).json()["preferences"][
                "colors"
            ]["value"] == ["red"]
            client.cookies.clear()
        # With only the victim's own cookie, login merges the victim's choices.
        login = client.post(
            "/api/v1/session/login",
            json={"token": issue_customer_token("victim", SHOP_SECRET)},
            headers={**WRITE, "cookie": f"prefkit_sid={v}"},
        )
        assert login.json()["merged_keys"] == ["colors"]


# -- 17: logout revocation, cache headers, hostile subjects -------------------------------------------


def _login(client: httpx.Client | TestClient, customer: str, secret: str = SHOP_SECRET) -> str:
    response = client.post(
        "/api/v1/session/login", json={"token": issue_customer_token(customer, secret)}, headers=WRITE
    )
    assert response.status_code == 200, response.text
    return _session_cookie(response)


def test_logout_makes_the_customer_cookie_unusable_when_replayed(
    registry_file: Path, database_url: str
) -> None:
    with running_app(registry_file, database_url) as (client, service):
        cookie = _login(client, "c-out")
        granted = client.put("/api/v1/preferences/newsletter", json={"value": True}, headers=WRITE)
        assert granted.status_code == 200
        logout = client.post("/api/v1/session/logout", headers=WRITE)
        assert logout.status_code == 200 and logout.json()["subject_kind"] == "anonymous"
        client.cookies.clear()
        replayed = client.get("/api/v1/preferences", headers={"cookie": f"{SUBJECT_COOKIE}={cookie}"})
        assert replayed.json()["subject_kind"] == "anonymous"
        assert replayed.json()["preferences"]["newsletter"]["source"] == "default"
        assert _session_cookie(replayed) != cookie
        client.cookies.clear()
        client.put(
            "/api/v1/preferences/newsletter",
            json={"value": False},
            headers={**WRITE, "cookie": f"{SUBJECT_COOKIE}={cookie}"},
        )
        import anyio

        assert anyio.run(service.effective, "cust:c-out")["newsletter"].value is True
        client.cookies.clear()
        # Logging in again gives a new, working cookie.
        again = _login(client, "c-out")
        assert again != cookie
        assert client.get("/api/v1/preferences").json()["subject_kind"] == "customer"


def test_logout_in_one_process_revokes_the_cookie_in_another(registry_file: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    with LiveServer(registry_file, url) as first, LiveServer(registry_file, url) as second:
        with httpx.Client(base_url=first.url, timeout=10) as browser:
            cookie = _login(browser, "c-two", LIVE_SHOP_SECRET)
            assert browser.post("/api/v1/session/logout", headers=WRITE).status_code == 200
        with httpx.Client(base_url=second.url, timeout=10) as replay:
            seen = replay.get("/api/v1/preferences", headers={"cookie": f"{SUBJECT_COOKIE}={cookie}"})
            assert seen.status_code == 200 and seen.json()["subject_kind"] == "anonymous"
    # The signature alone still verifies: what refused the cookie is the stored revocation.
    assert Identity(secret=LIVE_SECRET).verify_subject(cookie) == "cust:c-two"


_PERSONAL_GETS = [
    "/api/v1/preferences",
    "/api/v1/preferences/newsletter",
    "/api/v1/consents/history",
    "/api/v1/profile",
    "/api/v1/me/export",
    "/api/v1/catalog",
    "/demo/",
    "/demo/your-data",
    "/demo/products/p000001",
]


def _assert_private(response: httpx.Response, where: str) -> None:
    cache = response.headers.get("cache-control", "")
    assert "no-store" in cache, (where, cache)
    vary = {part.strip().lower() for part in ",".join(response.headers.get_list("vary")).split(",")}
    assert {"cookie", "authorization"} <= vary, (where, vary)


def test_personal_responses_are_never_stored_by_caches(registry_file: Path, sqlite_url: str) -> None:
    with running_app(registry_file, sqlite_url) as (client, _service):
        for path in _PERSONAL_GETS:
            response = client.get(path)
            assert response.status_code == 200, path
            _assert_private(response, path)
        bearer = {"Authorization": "Bearer " + issue_customer_token("c-cache", SHOP_SECRET)}
        for path in _PERSONAL_GETS[:5]:
            _assert_private(client.get(path, headers=bearer), "bearer " + path)
        server = client.get(
            "/api/v1/profile", params={"subject": "cust:c-cache"}, headers={"X-API-Key": API_KEY}
        )
        _assert_private(server, "api-key profile")
        for method, path, body in (
            ("PUT", "/api/v1/preferences/newsletter", {"value": True}),
            ("PATCH", "/api/v1/preferences", {"size": "m"}),
            ("DELETE", "/api/v1/preferences/newsletter", None),
            ("POST", "/api/v1/consents/accept-all", None),
        ):
            _assert_private(client.request(method, path, json=body, headers=WRITE), f"{method} {path}")
        _assert_private(
            client.post(
                "/api/v1/session/login",
                json={"token": issue_customer_token("c-1", SHOP_SECRET)},
                headers=WRITE,
            ),
            "login",
        )
        # Shared documents stay cacheable.
        assert "no-store" not in client.get("/api/v1/registry").headers.get("cache-control", "")


_HOSTILE_SUBJECTS = [
    "a\x00b", "\x00", "line\nbreak", "tab\there", "bell\x07", "del\x7f", "x" * 129, "", " ", "\ud800", "é",
]


def test_a_shop_signed_token_with_a_hostile_sub_is_a_401(registry_file: Path, database_url: str) -> None:
    with running_app(registry_file, database_url) as (client, _service):
        for sub in _HOSTILE_SUBJECTS:
            token = _shop_signed({"sub": sub, "exp": int(time.time()) + 300})
            bearer = {"Authorization": f"Bearer {token}"}
            expect_problem(client.get("/api/v1/preferences", headers=bearer), 401, "invalid-token")
            written = client.put("/api/v1/preferences/size", json={"value": "m"}, headers={**bearer, **WRITE})
            expect_problem(written, 401, "invalid-token")
            login = client.post("/api/v1/session/login", json={"token": token}, headers=WRITE)
            expect_problem(login, 401, "invalid-token")
        with pytest.raises(ValueError, match="customer id"):
            issue_customer_token("a\x00b", SHOP_SECRET)
        # The server-to-server profile validates the subject it is asked about, too.
        for subject in ("cust:a\x00b", "anon:\x00", "cust:" + "x" * 200, "nobody"):
            response = client.get(
                "/api/v1/profile", params={"subject": subject}, headers={"X-API-Key": API_KEY}
            )
            expect_problem(response, 400, "invalid-request")


# -- item 12 (last sentence): bearer GETs with throwaway anonymous cookies write nothing ---------------


def _count(database_url: str, table: str) -> int:
    database = Database(database_url)
    try:
        with database.read() as connection:
            return connection.execute(sa.text(f'SELECT COUNT(*) FROM "{table}"')).scalar_one()
    finally:
        database.dispose()


def test_bearer_reads_with_fresh_anonymous_cookies_write_nothing(
    registry_file: Path, database_url: str
) -> None:
    identity = Identity(secret=SECRET)
    bearer = {"Authorization": "Bearer " + issue_customer_token("c-merge", SHOP_SECRET)}
    with running_app(registry_file, database_url) as (client, _service):
        for _ in range(30):
            cookie = identity.sign_subject(identity.new_anonymous_subject())
            client.cookies.clear()
            response = client.get(
                "/api/v1/preferences", headers={**bearer, "cookie": f"prefkit_sid={cookie}"}
            )
            assert response.status_code == 200
        assert _count(database_url, "subject_link") == 0  # nothing to merge: nothing written
        client.cookies.clear()
        assert client.put("/api/v1/preferences/size", json={"value": "s"}, headers=WRITE).status_code == 200
        for _ in range(5):
            seen = client.get("/api/v1/preferences", headers=bearer).json()
            assert seen["preferences"]["size"]["value"] == "s"
    assert _count(database_url, "subject_link") == 1
    assert _count(database_url, "consent_event") == 2  # the anonymous choice and one merge event


def test_a_merge_counts_against_the_write_budget_and_an_empty_one_does_not(
    registry_file: Path, sqlite_url: str
) -> None:
    identity = Identity(secret=SECRET)
    bearer = {"Authorization": "Bearer " + issue_customer_token("c-budget", SHOP_SECRET)}
    with running_app(registry_file, sqlite_url, write_rate_limit_per_minute=3) as (client, _service):
        for _ in range(10):  # throwaway anonymous cookies: nothing merged, nothing charged
            empty = identity.sign_subject(identity.new_anonymous_subject())
            client.cookies.clear()
            read = client.get("/api/v1/preferences", headers={**bearer, "cookie": f"prefkit_sid={empty}"})
            assert read.status_code == 200
        client.cookies.clear()
        assert client.put("/api/v1/preferences/size", json={"value": "s"}, headers=WRITE).status_code == 200
        assert client.put("/api/v1/preferences/size", json={"value": "m"}, headers=WRITE).status_code == 200
        # The third unit: the merge this read triggers.
        merged = client.get("/api/v1/preferences", headers=bearer)
        assert merged.status_code == 200 and merged.json()["preferences"]["size"]["value"] == "m"
        limited = client.put("/api/v1/preferences/size", json={"value": "s"}, headers=bearer)
        expect_problem(limited, 429)
        assert int(limited.headers["retry-after"]) >= 1
