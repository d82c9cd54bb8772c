"""GDPR subject rights over real HTTP (Litestar test client, real SQLite file / real PostgreSQL):
export with wording per registry version and consent receipts, erasure with anonymous counters, and
withdrawal taking effect immediately in the profile."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from _bff_app import API_KEY, REGISTRY_KEYS, REGISTRY_TOML, SHOP_SECRET, WRITE, running_app, write_registry

from bff.identity import SUBJECT_COOKIE, issue_customer_token
from bff.rights import anonymous_counters, counter_name
from bff.storage import Database, verify_chain

REGISTRY = REGISTRY_TOML.replace(
    'name = "Test Shop"',
    'name = "Test Shop"\ncontroller_contact = "privacy@test.shop"\n'
    'privacy_policy_url = "https://test.shop/privacy"',
    1,
)
NEW_WORDING = REGISTRY.replace(
    'description = { pl = "Raz w tygodniu.", en = "Once a week." }',
    'description = { pl = "Dwa razy w tygodniu.", en = "Twice a week." }\n'
    'data_used = { pl = ["adres e-mail"], en = ["e-mail address"] }',
    1,
)
TABLES = ("preference_state", "consent_event", "subject_link")


def _cookie(client: Any) -> str:
    return client.cookies.get(SUBJECT_COOKIE)


def _rows_mentioning(database_url: str, subject: str) -> dict[str, int]:
    database = Database(database_url)
    try:
        with database.read() as connection:
            counts = {
                "preference_state": connection.execute(
                    sa.text("SELECT count(*) FROM preference_state WHERE subject = :s"), {"s": subject}
                ).scalar_one(),
                "consent_event": connection.execute(
                    sa.text("SELECT count(*) FROM consent_event WHERE subject = :s"), {"s": subject}
                ).scalar_one(),
                "subject_link": connection.execute(
                    sa.text(
                        "SELECT count(*) FROM subject_link "
                        "WHERE anonymous_subject = :s OR customer_subject = :s"
                    ),
                    {"s": subject},
                ).scalar_one(),
            }
    finally:
        database.dispose()
    return counts


@pytest.fixture
def registry_file(tmp_path: Path) -> Path:
    return write_registry(tmp_path, REGISTRY)


def test_export_contains_stored_effective_history_with_wording_per_version_and_receipts(
    registry_file: Path, database_url: str
) -> None:
    with running_app(registry_file, database_url) as (client, service):
        assert (
            client.put("/api/v1/preferences/newsletter", json={"value": True}, headers=WRITE).status_code
            == 200
        )
        assert (
            client.put("/api/v1/preferences/balance", json={"value": 0.75}, headers=WRITE).status_code == 200
        )
        old_version = service.registry.current.version
        registry_file.write_text(NEW_WORDING, encoding="utf-8")
        assert service.registry.reload() is not None
        new_version = service.registry.current.version
        assert new_version != old_version
        # A decision under the new wording; the old event keeps the old wording.
        assert client.delete("/api/v1/preferences/newsletter", headers=WRITE).status_code == 200

        response = client.get("/api/v1/me/export", params={"locale": "en"})
        assert response.status_code == 200, response.text
        assert response.headers["content-disposition"].startswith('attachment; filename="prefkit-export-')
        assert response.headers["cache-control"] == "no-store"
        document = response.json()

    assert document["format"] == "prefkit-subject-export/1"
    subject = document["subject"]
    assert subject.startswith("anon:") and document["subject_kind"] == "anonymous"
    assert document["controller"] == {
        "name": "Test Shop",
        "contact": "privacy@test.shop",
        "privacy_policy_url": "https://test.shop/privacy",
    }
    assert document["identities"] == [
        {"subject": subject, "kind": "anonymous", "relation": "self", "linked_at": None}
    ]
    preferences = {p["key"]: p for p in document["preferences"]}
    assert set(preferences) == set(REGISTRY_KEYS)
    assert preferences["newsletter"]["effective_value"] is False
    assert preferences["newsletter"]["source"] == "explicit"
    assert preferences["newsletter"]["stored"]["value"] is False
    assert preferences["newsletter"]["stored"]["registry_version"] == new_version
    assert preferences["balance"]["stored"]["value"] == 0.75
    assert preferences["balance"]["stored"]["registry_version"] == old_version
    assert preferences["colors"]["stored"] is None and preferences["colors"]["source"] == "default"

    history = document["history"]
    assert [(e["key"], e["seq"], e["old_value"], e["new_value"]) for e in history] == [
        ("newsletter", 1, False, True),
        ("balance", 2, 0.5, 0.75),
        ("newsletter", 3, True, False),
    ]
    granted, _, withdrawn = history
    assert granted["wording"]["registry_version"] == old_version
    assert granted["wording"]["text_hash_verified"] is True
    assert granted["wording"]["texts"]["en"]["description"] == "Once a week."
    assert granted["wording"]["texts"]["pl"]["description"] == "Raz w tygodniu."
    assert granted["wording"]["texts"]["en"]["data_used"] == []
    assert withdrawn["wording"]["registry_version"] == new_version
    assert withdrawn["wording"]["texts"]["en"]["description"] == "Twice a week."
    assert withdrawn["wording"]["texts"]["pl"]["data_used"] == ["adres e-mail"]
    assert withdrawn["text_hash"] != granted["text_hash"]
    assert withdrawn["prev_hash"] == history[1]["hash"]
    assert document["chains"] == [{"subject": subject, "events": 3, "valid": True}]
    assert "options" not in granted["wording"]["texts"]["en"]
    with running_app(registry_file, database_url) as (client, _service):
        client.put("/api/v1/preferences/colors", json={"value": ["green"]}, headers=WRITE)
        colors = client.get("/api/v1/me/export").json()["history"][0]["wording"]["texts"]
    assert colors["pl"]["options"][1] == {"key": "green", "label": "Zielony"}
    assert colors["en"]["options"][1] == {"key": "green", "label": "Green"}

    # One receipt per consent decision (the slider is not a consent), in the requested locale.
    receipts = document["receipts"]
    assert [r["decision"] for r in receipts] == ["granted", "withdrawn"]
    first, second = receipts
    assert first["controller"]["contact"] == "privacy@test.shop"
    assert first["purpose_key"] == "newsletter" and first["purpose_category"] == "marketing"
    assert first["purpose_title"] == "Newsletter EN" and first["purpose_description"] == "Once a week."
    assert first["mechanism"] == "opt_in" and first["locale"] == "en"
    assert first["wording_version"] == old_version and first["wording_verified"] is True
    assert first["ledger_event_hash"] == granted["hash"]
    assert "API call" in first["collection_method"]
    assert "DELETE /api/v1/preferences/newsletter" in first["how_to_withdraw"]
    assert second["data_categories"] == ["e-mail address"]
    assert second["purpose_description"] == "Twice a week."
    assert first["receipt_id"] != second["receipt_id"]
    text = first["human_readable"]
    assert first["receipt_id"] in text and "Test Shop (privacy@test.shop)" in text
    assert "Decision: granted (opt_in)" in text and old_version in text


def test_receipt_ids_are_stable_across_exports(registry_file: Path, sqlite_url: str) -> None:
    with running_app(registry_file, sqlite_url) as (client, _service):
        client.post("/api/v1/consents/accept-all", headers=WRITE)
        first = client.get("/api/v1/me/export").json()["receipts"]
        second = client.get("/api/v1/me/export").json()["receipts"]
    assert len(first) == 3
    assert [r["receipt_id"] for r in first] == [r["receipt_id"] for r in second]
    assert {r["collection_method"] for r in first} == {"'accept all' button"}


def test_export_of_customer_lists_merged_anonymous_identity_and_its_chain(
    registry_file: Path, database_url: str
) -> None:
    with running_app(registry_file, database_url) as (client, _service):
        client.put("/api/v1/preferences/colors", json={"value": ["red"]}, headers=WRITE)
        anonymous = client.get("/api/v1/me/export").json()["subject"]
        token = issue_customer_token("c-42", SHOP_SECRET)
        login = client.post("/api/v1/session/login", json={"token": token}, headers=WRITE)
        assert login.status_code == 200 and login.json()["merged_keys"] == ["colors"]
        document = client.get("/api/v1/me/export").json()
    assert document["subject"] == "cust:c-42" and document["subject_kind"] == "customer"
    relations = {(i["subject"], i["relation"]) for i in document["identities"]}
    assert relations == {("cust:c-42", "self"), (anonymous, "merged-into-self")}
    subjects_in_history = {(e["subject"], e["method"]) for e in document["history"]}
    assert subjects_in_history == {(anonymous, "api"), ("cust:c-42", "merge")}
    assert {c["subject"]: c["valid"] for c in document["chains"]} == {"cust:c-42": True, anonymous: True}


def test_erasure_needs_csrf_then_removes_everything_keeps_only_anonymous_counters(
    registry_file: Path, database_url: str
) -> None:
    with running_app(registry_file, database_url) as (client, service):
        client.put("/api/v1/preferences/newsletter", json={"value": True}, headers=WRITE)
        client.put("/api/v1/preferences/colors", json={"value": ["red", "blue"]}, headers=WRITE)
        subject = client.get("/api/v1/me/export").json()["subject"]
        old_cookie = _cookie(client)

        # Another shopper whose data must survive.
        with running_app(registry_file, database_url) as (other, _):
            other.put("/api/v1/preferences/newsletter", json={"value": True}, headers=WRITE)
            other_subject = other.get("/api/v1/me/export").json()["subject"]

        refused = client.delete("/api/v1/me")  # a cookie-authenticated write without Origin or CSRF header
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["type"] == "urn:prefkit:problem:csrf"
        foreign = client.delete("/api/v1/me", headers={"Origin": "https://evil.example", **WRITE})
        assert foreign.status_code == 403 and foreign.json()["type"] == "urn:prefkit:problem:csrf"
        assert _rows_mentioning(database_url, subject)["consent_event"] == 2

        response = client.delete("/api/v1/me", headers=WRITE)
        assert response.status_code == 200, response.text
        receipt = response.json()
        assert receipt["subjects_erased"] == 1
        assert receipt["preferences_removed"] == 2 and receipt["ledger_events_removed"] == 2
        assert receipt["identity_links_removed"] == 0 and receipt["cookie_cleared"] is True
        assert receipt["controller"]["name"] == "Test Shop"
        assert subject not in response.text
        set_cookie = response.headers.get_list("set-cookie")
        assert len(set_cookie) == 1 and set_cookie[0].startswith(f"{SUBJECT_COOKIE}=;")
        assert "Max-Age=0" in set_cookie[0]

        assert _rows_mentioning(database_url, subject) == dict.fromkeys(TABLES, 0)
        assert _rows_mentioning(database_url, other_subject)["consent_event"] == 1

        # Even a kept copy of the old cookie finds nothing any more.
        client.cookies.clear()
        client.cookies.set(SUBJECT_COOKIE, old_cookie)
        after = client.get("/api/v1/me/export").json()
        assert after["subject"] == subject
        assert after["history"] == [] and after["receipts"] == []
        assert all(
            p["stored"] is None and p["source"] in ("default", "requires-unmet") for p in after["preferences"]
        )
        assert after["chains"] == [{"subject": subject, "events": 0, "valid": True}]

        with service.database.read() as connection:
            counters = anonymous_counters(connection)
            dump = " ".join(
                str(v) for v in connection.execute(sa.text("SELECT * FROM anonymous_counter")).all()
            )
    assert counters == {
        "erasures": 1,
        counter_name("newsletter", True): 1,
        counter_name("colors", ["red", "blue"]): 1,
    }
    assert subject not in dump


def test_customer_erasure_removes_merged_anonymous_subjects_and_links(
    registry_file: Path, database_url: str
) -> None:
    with running_app(registry_file, database_url) as (client, service):
        client.put("/api/v1/preferences/size", json={"value": "m"}, headers=WRITE)
        anonymous = client.get("/api/v1/me/export").json()["subject"]
        token = issue_customer_token("c-7", SHOP_SECRET)
        assert client.post("/api/v1/session/login", json={"token": token}, headers=WRITE).status_code == 200
        client.put("/api/v1/preferences/newsletter", json={"value": True}, headers=WRITE)
        receipt = client.delete("/api/v1/me", headers=WRITE).json()
        assert receipt["subjects_erased"] == 2
        assert receipt["identity_links_removed"] == 1
        assert receipt["preferences_removed"] == 3  # anonymous size + customer size (merged) + newsletter
        assert receipt["ledger_events_removed"] == 3  # anonymous api, customer merge, customer api
        for subject in (anonymous, "cust:c-7"):
            assert _rows_mentioning(database_url, subject) == dict.fromkeys(TABLES, 0)
        # The customer coming back (bearer token) starts from nothing.
        again = client.get("/api/v1/me/export", headers={"Authorization": f"Bearer {token}"}).json()
        assert again["subject"] == "cust:c-7" and again["history"] == []
        assert [i["relation"] for i in again["identities"]] == ["self"]
        with service.database.read() as connection:
            assert anonymous_counters(connection)["erasures"] == 1


def test_erasure_of_anonymous_subject_merged_into_customer_only_drops_the_link(
    registry_file: Path, sqlite_url: str
) -> None:
    with running_app(registry_file, sqlite_url) as (client, service):
        client.put("/api/v1/preferences/size", json={"value": "s"}, headers=WRITE)
        anonymous_cookie = _cookie(client)
        anonymous = client.get("/api/v1/me/export").json()["subject"]
        token = issue_customer_token("c-9", SHOP_SECRET)
        client.post("/api/v1/session/login", json={"token": token}, headers=WRITE)
        client.cookies.clear()
        client.cookies.set(SUBJECT_COOKIE, anonymous_cookie)
        document = client.get("/api/v1/me/export").json()
        # The anonymous subject sees that it was merged, not the customer's own ledger.
        assert {(i["relation"]) for i in document["identities"]} == {"self", "self-merged-into"}
        assert {e["subject"] for e in document["history"]} == {anonymous}
        receipt = client.delete("/api/v1/me", headers=WRITE).json()
        assert receipt["subjects_erased"] == 1 and receipt["identity_links_removed"] == 1
        with service.database.read() as connection:
            assert verify_chain(connection, "cust:c-9") is None
            kept = connection.execute(
                sa.text("SELECT count(*) FROM consent_event WHERE subject = 'cust:c-9'")
            )
            assert kept.scalar_one() == 1


@pytest.mark.parametrize("withdraw", ["delete-key", "put-false", "reject-all"])
def test_withdrawal_is_one_action_and_immediate_in_profile(
    registry_file: Path, database_url: str, withdraw: str
) -> None:
    with running_app(registry_file, database_url) as (client, _service):
        client.put("/api/v1/preferences/recommendations", json={"value": True}, headers=WRITE)
        subject = client.get("/api/v1/me/export").json()["subject"]
        server_view = {"X-API-Key": API_KEY}
        profile = client.get("/api/v1/profile").json()
        assert "recommendations" in profile["granted_consents"] and profile["personalized"] is True
        assert (
            "recommendations"
            in client.get("/api/v1/profile", params={"subject": subject}, headers=server_view).json()[
                "purposes"
            ]
        )
        action = {
            "delete-key": lambda: client.delete("/api/v1/preferences/recommendations", headers=WRITE),
            "put-false": lambda: client.put(
                "/api/v1/preferences/recommendations", json={"value": False}, headers=WRITE
            ),
            "reject-all": lambda: client.post("/api/v1/consents/reject-all", headers=WRITE),
        }[withdraw]
        assert action().status_code == 200
        profile = client.get("/api/v1/profile").json()
        assert "recommendations" not in profile["granted_consents"]
        assert "recommendations" not in profile["purposes"] and profile["personalized"] is False
        # The slider that requires the consent is left out of the profile too.
        assert "level" not in [s["key"] for s in profile["sliders"]]
        server = client.get("/api/v1/profile", params={"subject": subject}, headers=server_view).json()
        assert "recommendations" not in server["purposes"]
