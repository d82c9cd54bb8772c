"""The preference endpoints over HTTP, on SQLite and PostgreSQL: reads, writes, partial updates,
every validation error class with its message, consent helpers, history, profile, GPC and expiry."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from _bff_app import (  # noqa: F401 - app, clock: fixtures
    API_KEY,
    REGISTRY_KEYS,
    SWITCHABLE_CONSENTS,
    WRITE,
    Clock,
    app,
    clock,
    running_app,
    write_registry,
)
from litestar.testing import TestClient

from bff.service import PreferenceService

PROBLEM = "application/problem+json"


@pytest.fixture
def client(app: tuple[TestClient, PreferenceService]) -> TestClient:
    return app[0]


def prefs(client: TestClient, **headers: str) -> dict:
    response = client.get("/api/v1/preferences", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["preferences"]


def assert_problem(response, status: int, type_suffix: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    assert body["type"] == f"urn:prefkit:problem:{type_suffix}"
    assert body["title"] and body["instance"].startswith("/")
    return body


def test_first_visit_gets_defaults_and_a_cookie(client: TestClient) -> None:
    response = client.get("/api/v1/preferences")
    assert response.status_code == 200
    assert "prefkit_sid=" in response.headers["set-cookie"]
    assert "HttpOnly" in response.headers["set-cookie"] and "SameSite=Lax" in response.headers["set-cookie"]
    body = response.json()
    assert body["subject_kind"] == "anonymous" and body["gpc"] is False
    values = body["preferences"]
    assert list(values) == REGISTRY_KEYS
    assert values["newsletter"] == {
        "key": "newsletter",
        "kind": "consent",
        "value": False,
        "source": "default",
        "in_effect": True,
        "stale": False,
        "decided_at": None,
        "missing_requirements": [],
    }
    assert values["service_quality"]["value"] is True  # opt-out starts on
    assert values["level"]["source"] == "requires-unmet" and values["level"]["missing_requirements"] == [
        "recommendations"
    ]
    assert values["colors"]["value"] == [] and values["size"]["value"] is None


def test_put_get_delete_one_preference(client: TestClient) -> None:
    response = client.put("/api/v1/preferences/balance", json={"value": 0.75}, headers=WRITE)
    assert response.status_code == 200
    assert response.json()["value"] == 0.75 and response.json()["source"] == "explicit"
    assert client.get("/api/v1/preferences/balance").json()["value"] == 0.75
    response = client.delete("/api/v1/preferences/balance", headers=WRITE)
    assert response.status_code == 200
    assert response.json()["value"] == 0.5 and response.json()["source"] == "default"


def test_delete_of_a_consent_is_a_withdrawal(client: TestClient) -> None:
    client.put("/api/v1/preferences/service_quality", json={"value": True}, headers=WRITE)
    response = client.delete("/api/v1/preferences/service_quality", headers=WRITE)
    # opt-out: "back to default" would re-grant it; a withdrawal must leave it off.
    assert response.json()["value"] is False and response.json()["source"] == "explicit"
    history = client.get("/api/v1/consents/history").json()["events"]
    assert [(e["key"], e["old_value"], e["new_value"]) for e in history] == [
        ("service_quality", True, False),
        ("service_quality", True, True),
    ]


def test_patch_changes_only_submitted_keys(client: TestClient) -> None:
    client.patch(
        "/api/v1/preferences",
        json={"recommendations": True, "level": 8, "colors": ["blue", "red"]},
        headers=WRITE,
    )
    response = client.patch("/api/v1/preferences", json={"size": "m"}, headers=WRITE)
    assert response.status_code == 200
    values = response.json()["preferences"]
    assert values["size"]["value"] == "m"
    assert values["recommendations"]["value"] is True
    assert values["level"]["value"] == 8 and values["level"]["source"] == "explicit"
    assert values["colors"]["value"] == ["red", "blue"]  # stored in declaration order
    assert prefs(client)["level"]["value"] == 8


@pytest.mark.parametrize(
    ("key", "value", "path", "message", "expected", "got"),
    [
        ("level", 12, "value", "value out of range", "0..10", "12"),
        ("level", 3, "value", "value is not on a step of the slider", "0 + n * 2", "3"),
        ("balance", 0.3, "value", "value is not on a step of the slider", "0.0 + n * 0.25", "0.3"),
        # Within float tolerance of a step is still off it (and would be stored as sent).
        ("balance", 0.25000000000000006, "value", "value is not on a step of the slider", "0.0 + n * 0.25",
         "0.25000000000000006"),
        ("balance", 2.9e-136, "value", "value is not on a step of the slider", "0.0 + n * 0.25", "2.9e-136"),
        ("level", "high", "value", "a slider value is a number", "integer", '"high"'),
        ("newsletter", "yes", "value", "a consent is granted (true) or not (false)", "boolean", '"yes"'),
        (
            "colors",
            ["red", "purple"],
            "value[1]",
            'unknown option "purple"',
            "red | green | blue",
            '"purple"',
        ),
        (
            "colors",
            "red",
            "value",
            "a multiple-choice filter takes a list of option keys",
            "list of option keys",
            '"red"',
        ),
        ("size", "xl", "value", 'unknown option "xl"', "s | m | null", '"xl"'),
        (
            "essential",
            False,
            "value",
            "this is notice-only processing (strictly necessary) and cannot be switched",
            "no change",
            "false",
        ),
    ],
)
def test_put_validation_errors(
    client: TestClient, key: str, value: object, path: str, message: str, expected: str, got: str
) -> None:
    before = prefs(client)
    body = assert_problem(
        client.put(f"/api/v1/preferences/{key}", json={"value": value}, headers=WRITE), 422, "validation"
    )
    assert body["errors"] == [{"path": path, "message": message, "expected": expected, "got": got}]
    assert prefs(client) == before


def test_patch_reports_every_problem_and_changes_nothing(client: TestClient) -> None:
    client.put("/api/v1/preferences/size", json={"value": "s"}, headers=WRITE)
    body = assert_problem(
        client.patch(
            "/api/v1/preferences",
            json={"size": "m", "level": 11, "colors": ["red", "red"], "bogus": 1},
            headers=WRITE,
        ),
        422,
        "validation",
    )
    assert {(e["path"], e["message"]) for e in body["errors"]} == {
        ("level", "value out of range"),
        ("colors", "an option is selected twice"),
        ("bogus", "unknown preference key 'bogus'"),
    }
    assert "bogus" in body["detail"] and "nothing was changed" in body["detail"]
    assert prefs(client)["size"]["value"] == "s"  # the valid part was not applied either


def test_unknown_key_is_404_problem(client: TestClient) -> None:
    body = assert_problem(client.get("/api/v1/preferences/nope"), 404, "unknown-preference")
    assert "'nope'" in body["detail"]
    assert_problem(
        client.put("/api/v1/preferences/nope", json={"value": 1}, headers=WRITE), 404, "unknown-preference"
    )
    assert_problem(client.delete("/api/v1/preferences/nope", headers=WRITE), 404, "unknown-preference")


def test_malformed_bodies_are_400_problems(client: TestClient) -> None:
    body = assert_problem(
        client.put(
            "/api/v1/preferences/level",
            content=b"{not json",
            headers={**WRITE, "content-type": "application/json"},
        ),
        400,
        "bad-request",
    )
    assert "malformed" in body["detail"].lower()
    body = assert_problem(
        client.put("/api/v1/preferences/level", json={"valeu": 2}, headers=WRITE), 400, "invalid-request"
    )
    assert body["errors"] and "valeu" in str(body["errors"]) + body["detail"]
    assert_problem(client.patch("/api/v1/preferences", json=[1, 2], headers=WRITE), 400, "invalid-request")
    body = assert_problem(client.patch("/api/v1/preferences", json={}, headers=WRITE), 422, "validation")
    assert body["errors"][0]["path"] == "body"


def test_body_size_limit_is_413_problem(client: TestClient) -> None:
    huge = {"value": ["red"] * 40_000}
    assert_problem(client.put("/api/v1/preferences/colors", json=huge, headers=WRITE), 413, "body-too-large")


def test_accept_all_and_reject_all_have_equal_standing(client: TestClient) -> None:
    response = client.post("/api/v1/consents/reject-all", headers=WRITE)
    assert response.status_code == 200
    values = response.json()["preferences"]
    assert all(
        values[key]["value"] is False and values[key]["source"] == "explicit" for key in SWITCHABLE_CONSENTS
    )
    assert values["essential"]["value"] is True  # notice-only is not switchable
    events = client.get("/api/v1/consents/history").json()["events"]
    assert sorted(e["key"] for e in events if e["method"] == "reject_all") == sorted(SWITCHABLE_CONSENTS)

    values = client.post("/api/v1/consents/accept-all", headers=WRITE).json()["preferences"]
    assert all(values[key]["value"] is True for key in SWITCHABLE_CONSENTS)
    events = client.get("/api/v1/consents/history").json()["events"]
    assert sorted(e["key"] for e in events if e["method"] == "accept_all") == sorted(SWITCHABLE_CONSENTS)


def test_history_is_newest_first_with_wording_in_locale(client: TestClient) -> None:
    client.put("/api/v1/preferences/newsletter", json={"value": True}, headers=WRITE)
    client.put("/api/v1/preferences/newsletter", json={"value": False}, headers=WRITE)
    client.put(
        "/api/v1/preferences/newsletter", json={"value": False}, headers=WRITE
    )  # same decision: no event
    body = client.get("/api/v1/consents/history?locale=en").json()
    assert body["chain"] == {"valid": True}
    events = body["events"]
    assert [(e["seq"], e["old_value"], e["new_value"], e["method"]) for e in events] == [
        (2, True, False, "api"),
        (1, False, True, "api"),
    ]
    assert events[0]["title"] == "Newsletter EN" and events[0]["description"] == "Once a week."
    polish = client.get("/api/v1/consents/history", headers={"Accept-Language": "pl-PL,pl;q=0.9"}).json()
    assert polish["events"][0]["title"] == "Newsletter"


def test_two_subjects_never_see_each_others_data(app: tuple[TestClient, PreferenceService]) -> None:
    client, service = app
    client.put("/api/v1/preferences/newsletter", json={"value": True}, headers=WRITE)
    other = TestClient(client.app)
    assert other.get("/api/v1/preferences").json()["preferences"]["newsletter"]["value"] is False
    assert other.get("/api/v1/consents/history").json()["events"] == []
    other.put("/api/v1/preferences/size", json={"value": "s"}, headers=WRITE)
    assert prefs(client)["size"]["value"] is None
    assert [e["key"] for e in client.get("/api/v1/consents/history").json()["events"]] == ["newsletter"]


def _only_cookie(client: TestClient, value: str) -> TestClient:
    """``client`` with ``value`` as its one subject cookie (httpx deprecates per-request ``cookies=``: they
    merge ambiguously with the client's jar)."""
    client.cookies.clear()
    client.cookies.set("prefkit_sid", value)
    return client


def test_tampered_cookie_yields_a_fresh_subject(client: TestClient) -> None:
    client.put("/api/v1/preferences/newsletter", json={"value": True}, headers=WRITE)
    original = client.cookies["prefkit_sid"]
    body, _, signature = original.rpartition(".")
    tampered = body + "." + ("A" if signature[0] != "A" else "B") + signature[1:]
    response = _only_cookie(client, tampered).get("/api/v1/preferences")
    assert response.json()["preferences"]["newsletter"]["value"] is False
    assert "prefkit_sid=" in response.headers["set-cookie"] and tampered not in response.headers["set-cookie"]
    # A cookie naming another subject with a foreign signature is no better.
    forged = "Y3VzdDpjMQ.0." + signature
    response = _only_cookie(client, forged).get("/api/v1/preferences")
    assert response.json()["subject_kind"] == "anonymous"
    preferences = _only_cookie(client, original).get("/api/v1/preferences").json()["preferences"]
    assert preferences["newsletter"]["value"] is True


def test_gpc_turns_gpc_consents_off_unless_chosen_under_gpc(client: TestClient) -> None:
    client.post("/api/v1/consents/accept-all", headers=WRITE)
    values = prefs(client, **{"Sec-GPC": "1"})
    assert values["newsletter"]["value"] is False and values["newsletter"]["source"] == "gpc"
    assert values["recommendations"]["value"] is True  # not declared gpc = true
    assert prefs(client)["newsletter"]["value"] is True  # without the signal the stored grant stands
    events = client.get("/api/v1/consents/history").json()["events"]
    assert [(e["key"], e["method"], e["new_value"]) for e in events if e["method"] == "gpc"] == [
        ("newsletter", "gpc", False)
    ]
    prefs(client, **{"Sec-GPC": "1"})
    assert (
        len([e for e in client.get("/api/v1/consents/history").json()["events"] if e["method"] == "gpc"]) == 1
    )

    # Chosen while the signal was on (after seeing the GPC notice): the explicit choice wins.
    response = client.put(
        "/api/v1/preferences/newsletter", json={"value": True}, headers={**WRITE, "Sec-GPC": "1"}
    )
    assert response.json()["value"] is True and response.json()["source"] == "explicit"
    assert prefs(client, **{"Sec-GPC": "1"})["newsletter"]["source"] == "explicit"
    assert client.get("/.well-known/gpc.json").json()["gpc"] is True


def test_expired_consent_reverts_and_is_recorded_once(client: TestClient, clock: Clock) -> None:
    client.put("/api/v1/preferences/newsletter", json={"value": True}, headers=WRITE)
    clock.now += timedelta(days=29)
    assert prefs(client)["newsletter"]["value"] is True
    clock.now += timedelta(days=2)
    values = prefs(client)
    assert values["newsletter"]["value"] is False and values["newsletter"]["source"] == "expired"
    prefs(client)
    events = client.get("/api/v1/consents/history").json()["events"]
    assert [(e["method"], e["old_value"], e["new_value"]) for e in events] == [
        ("expiry", True, False),
        ("api", False, True),
    ]
    client.put("/api/v1/preferences/newsletter", json={"value": True}, headers=WRITE)
    assert prefs(client)["newsletter"]["source"] == "explicit"


def test_stale_consent_after_wording_change(
    app: tuple[TestClient, PreferenceService], tmp_path: Path
) -> None:
    client, service = app
    client.put("/api/v1/preferences/newsletter", json={"value": True}, headers=WRITE)
    text = service.registry.current.source_text.replace("Raz w tygodniu.", "Dwa razy w tygodniu.")
    service.registry.submit(text, "toml", "test")
    values = prefs(client)
    assert values["newsletter"]["stale"] is True and values["newsletter"]["value"] is True
    assert values["recommendations"]["stale"] is False
    client.put("/api/v1/preferences/newsletter", json={"value": True}, headers=WRITE)  # re-confirm
    assert prefs(client)["newsletter"]["stale"] is False
    events = client.get("/api/v1/consents/history").json()["events"]
    assert len(events) == 2 and events[0]["text_hash"] != events[1]["text_hash"]
    assert events[1]["description"] == "Raz w tygodniu."  # old wording shown for the old decision


def test_profile_for_current_subject_and_server_to_server(client: TestClient) -> None:
    client.patch(
        "/api/v1/preferences", json={"recommendations": True, "level": 6, "colors": ["green"]}, headers=WRITE
    )
    profile = client.get("/api/v1/profile").json()
    assert profile["granted_consents"] == ["recommendations", "service_quality", "essential"]
    assert [s["key"] for s in profile["sliders"]] == ["level", "balance"]
    assert profile["filters"][0]["options"] == ["green"]
    subject = profile["subject"]

    server = TestClient(client.app)
    assert_problem(server.get(f"/api/v1/profile?subject={subject}"), 401, "api-key")
    assert_problem(
        server.get(f"/api/v1/profile?subject={subject}", headers={"X-API-Key": "wrong"}), 401, "api-key"
    )
    remote = server.get(f"/api/v1/profile?subject={subject}", headers={"X-API-Key": API_KEY})
    assert remote.status_code == 200 and remote.json() == profile
    client.put("/api/v1/preferences/recommendations", json={"value": False}, headers=WRITE)
    remote = server.get(f"/api/v1/profile?subject={subject}", headers={"X-API-Key": API_KEY}).json()
    assert "recommendations" not in remote["granted_consents"]
    assert [s["key"] for s in remote["sliders"]] == ["balance"]  # level requires recommendations


def test_csrf_origin_rules(client: TestClient) -> None:
    body = assert_problem(client.put("/api/v1/preferences/size", json={"value": "s"}), 403, "csrf")
    assert "X-Prefkit-CSRF" in body["detail"]
    assert_problem(
        client.put(
            "/api/v1/preferences/size", json={"value": "s"}, headers={"Origin": "https://evil.example"}
        ),
        403,
        "csrf",
    )
    assert_problem(
        client.post("/api/v1/consents/accept-all", headers={"Sec-Fetch-Site": "cross-site", **WRITE}),
        403,
        "csrf",
    )
    same_origin = client.put(
        "/api/v1/preferences/size", json={"value": "s"}, headers={"Origin": "http://testserver.local"}
    )
    assert same_origin.status_code == 200
    assert prefs(client)["size"]["value"] == "s"


def test_security_headers(client: TestClient) -> None:
    response = client.get("/api/v1/preferences")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "frame-ancestors 'self'" in response.headers["content-security-policy"]


def test_registry_endpoint_localized_with_etag(client: TestClient) -> None:
    response = client.get("/api/v1/registry", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert response.status_code == 200
    body = response.json()
    assert body["locale"] == "en" and response.headers["content-language"] == "en"
    first = body["preferences"][0]
    assert (
        first["key"] == "newsletter" and first["title"] == "Newsletter EN" and first["mechanism"] == "opt_in"
    )
    level = next(p for p in body["preferences"] if p["key"] == "level")
    assert (level["min"], level["max"], level["step"], level["default"]) == (0, 10, 2, 4)
    assert level["value_schema"]["maximum"] == 10
    assert client.get("/api/v1/registry?locale=de").json()["locale"] == "pl"  # falls back to the default
    etag = response.headers["etag"]
    cached = client.get("/api/v1/registry", headers={"Accept-Language": "en", "If-None-Match": etag})
    assert cached.status_code == 304 and cached.content == b""
    assert client.get("/api/v1/registry?locale=pl", headers={"If-None-Match": etag}).status_code == 200


def test_health_and_readiness(app: tuple[TestClient, PreferenceService]) -> None:
    client, service = app
    assert client.get("/api/v1/healthz").json() == {"status": "ok"}
    ready = client.get("/api/v1/readyz").json()
    assert ready["status"] == "ready" and ready["registry_version"] == service.registry.current.version
    assert ready["database"] in ("sqlite", "postgresql")


def test_rate_limit_on_writes(tmp_path: Path, sqlite_url: str) -> None:
    with running_app(write_registry(tmp_path), sqlite_url, write_rate_limit_per_minute=3) as (client, _):
        statuses = [
            client.put("/api/v1/preferences/size", json={"value": "s"}, headers=WRITE).status_code
            for _ in range(4)
        ]
        assert statuses == [200, 200, 200, 429]
        assert client.get("/api/v1/preferences").status_code == 200  # reads are not throttled
        assert_problem(
            client.put("/api/v1/preferences/size", json={"value": "m"}, headers=WRITE), 429, "rate-limited"
        )


def test_cors_and_csrf_follow_the_origin_allowlist(tmp_path: Path, sqlite_url: str) -> None:
    shop = "https://shop.example"
    with running_app(write_registry(tmp_path), sqlite_url, allowed_origins=(shop,)) as (client, _):
        preflight = client.options(
            "/api/v1/preferences/size",
            headers={
                "Origin": shop,
                "Access-Control-Request-Method": "PUT",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        assert preflight.status_code in (200, 204)
        assert preflight.headers["access-control-allow-origin"] == shop
        assert preflight.headers["access-control-allow-credentials"] == "true"
        foreign = client.options(
            "/api/v1/preferences/size",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "PUT"},
        )
        assert foreign.headers.get("access-control-allow-origin") != "https://evil.example"

        allowed = client.put("/api/v1/preferences/size", json={"value": "m"}, headers={"Origin": shop})
        assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == shop
        assert_problem(
            client.put(
                "/api/v1/preferences/size", json={"value": "s"}, headers={"Origin": "https://evil.example"}
            ),
            403,
            "csrf",
        )
        assert prefs(client)["size"]["value"] == "m"
        assert f"frame-ancestors 'self' {shop}" in allowed.headers["content-security-policy"]


def test_readiness_reports_an_unreachable_database(tmp_path: Path) -> None:
    unreachable = f"sqlite:///{tmp_path / 'missing-dir' / 'prefkit.db'}"
    from _bff_app import make_settings

    from bff.app import create_app

    app = create_app(make_settings(write_registry(tmp_path), unreachable), migrate=False)
    with TestClient(app) as client:
        assert client.get("/api/v1/healthz").status_code == 200
        body = assert_problem(client.get("/api/v1/readyz"), 503, "not-ready")
        assert "database unreachable" in body["detail"]
        body = assert_problem(client.get("/api/v1/preferences"), 503, "database-unavailable")
        assert client.get("/api/v1/preferences").headers["retry-after"] == "5"
