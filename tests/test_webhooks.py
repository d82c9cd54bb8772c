"""Signed webhooks from the transactional outbox, against a real receiver on 127.0.0.1 that verifies every
request with the ``standardwebhooks`` library (tests/_webhook_receiver.py): every event type arrives with
its content; a receiver that is down gets everything, in order per subject, once it is back; 500 and hangs
are retried with backoff until dead-letter (a test clock, no waiting); replay re-sends exactly the range;
the outbox row commits with the ledger and erasure leaves only identifiers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from _bff_app import ADMIN_KEY, SHOP_SECRET, WRITE, Clock, expect_problem, make_settings, write_registry
from _webhook_receiver import Receiver, make_secret
from litestar.testing import TestClient

from bff.app import create_app, default_plugins
from bff.identity import issue_customer_token
from bff.service import PreferenceService
from bff.storage import Database
from bff.storage.outbox import delivery_rows
from bff.webhooks import Dispatcher, WebhookConfig, WebhookConfigError, WebhooksPlugin, parse_webhooks
from preference_registry import RegistryService

SECRET_ENV = "TEST_WEBHOOK_SECRET"
ADMIN = {"X-Admin-Key": ADMIN_KEY}


def webhook_config(url: str, secret: str, *, subscriber: str = "", dispatch: str = "") -> WebhookConfig:
    return parse_webhooks(
        f"""
[dispatch]
timeout_seconds = 1
{dispatch}

[[subscribers]]
name = "crm"
url = "{url}"
secret_env = "{SECRET_ENV}"
{subscriber}
""",
        {SECRET_ENV: secret},
    )


@contextmanager
def webhook_app(
    tmp_path: Path, database_url: str, config: WebhookConfig, *, clock: Clock | None = None
) -> Iterator[tuple[TestClient, PreferenceService]]:
    registry_path = write_registry(tmp_path)
    settings = make_settings(registry_path, database_url)
    database = Database(database_url)
    service = PreferenceService(RegistryService.from_file(registry_path), database, clock=clock)
    app = create_app(settings, service=service, plugins=[*default_plugins(settings), WebhooksPlugin(config)])
    try:
        with TestClient(app) as client:
            yield client, service
    finally:
        database.dispose()


def _rows(database_url: str) -> list[Any]:
    database = Database(database_url)
    try:
        with database.read() as connection:
            return delivery_rows(connection)
    finally:
        database.dispose()


def _by_type(receiver: Receiver) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for event in receiver.unique().values():
        found.setdefault(event["type"], []).append(event)
    return found


def test_every_event_type_arrives_signed_with_its_content(database_url: str, tmp_path: Path) -> None:
    clock = Clock(datetime.now(UTC))
    with Receiver(make_secret()) as receiver:
        config = webhook_config(receiver.url, receiver.secret)
        with webhook_app(tmp_path, database_url, config, clock=clock) as (client, service):
            snapshot = service.registry.current
            assert client.put("/api/v1/preferences/newsletter", json={"value": True}, headers=WRITE).status_code == 200
            assert client.delete("/api/v1/preferences/newsletter", headers=WRITE).status_code == 200  # withdrawal
            assert client.post("/api/v1/consents/accept-all", headers=WRITE).status_code == 200
            assert client.post("/api/v1/consents/reject-all", headers=WRITE).status_code == 200
            subject = client.get("/api/v1/me/export").json()["subject"]
            client.blocking_portal.call(
                lambda: service.set_values(subject, {"newsletter": True, "level": 6}, method="ui")
            )
            # GPC overrides the stored grant (recorded during the read), then it expires (30 days).
            assert client.get("/api/v1/preferences", headers={"Sec-GPC": "1"}).status_code == 200
            clock.now += timedelta(days=31)
            assert client.get("/api/v1/preferences").status_code == 200
            # Login merges this anonymous subject into a customer; erasure of the customer.
            token = issue_customer_token("c-1", SHOP_SECRET)
            login = client.post("/api/v1/session/login", json={"token": token}, headers=WRITE)
            assert login.status_code == 200 and login.json()["merged_keys"]
            customer = client.get("/api/v1/me/export").json()["subject"]
            # A new wording of "newsletter" activated by the admin.
            changed = (tmp_path / "registry.toml").read_text().replace("Raz w tygodniu.", "Dwa razy w tygodniu.")
            assert client.put("/api/v1/admin/registry?format=toml", content=changed, headers=ADMIN).status_code == 200
            expected = {"preference.api", "preference.accept_all", "preference.reject_all", "preference.ui",
                        "preference.gpc", "preference.expiry", "preference.merge", "registry.activated"}
            receiver.wait_for(lambda r: expected <= set(_by_type(r)), message="every change event type")
            # (Waiting first: an erasure also drops the subject's events not delivered yet.)
            assert client.delete("/api/v1/me", headers=WRITE).status_code == 200
            receiver.wait_for(lambda r: "subject.erased" in _by_type(r), message="the erasure")
            assert receiver.rejected == []
            found = _by_type(receiver)

            granted, withdrawn = sorted(found["preference.api"], key=lambda e: e["sequence"])
            assert granted["data"]["subject"] == subject and granted["data"]["method"] == "api"
            change = granted["data"]["changes"][0]
            assert change["key"] == "newsletter" and change["new_value"] is True
            # The proof of what was consented to: the wording's hash and version, the ledger position.
            assert change["text_hash"] == snapshot.text_hash("newsletter")
            assert change["registry_version"] == snapshot.version == granted["data"]["registry_version"]
            assert change["ledger_seq"] == 1 and len(change["ledger_hash"]) == 64
            assert withdrawn["data"]["withdrawn"] == ["newsletter"]
            assert {c["key"] for c in found["preference.accept_all"][0]["data"]["changes"]} == {
                "newsletter", "recommendations", "service_quality"}
            assert all(c["new_value"] is False for c in found["preference.reject_all"][0]["data"]["changes"])
            assert {c["key"] for c in found["preference.ui"][0]["data"]["changes"]} == {"newsletter", "level"}
            assert found["preference.gpc"][0]["data"]["withdrawn"] == ["newsletter"]
            assert [c["key"] for c in found["preference.expiry"][0]["data"]["changes"]] == ["newsletter"]
            merge = found["preference.merge"][0]["data"]
            assert merge["subject"] == customer and merge["linked_subjects"] == [subject]
            activated = max(found["registry.activated"], key=lambda e: e["sequence"])["data"]
            assert activated["wording_changed"] == ["newsletter"] and activated["previous_version"] == snapshot.version
            erased = found["subject.erased"][0]
            # Only the identifiers a recipient needs to erase too.
            assert set(erased["data"]) == {"subject", "linked_subjects", "at"}
            assert erased["data"]["subject"] == customer and erased["data"]["linked_subjects"] == [subject]
            # Per subject, in ledger order.
            seqs = [c["ledger_seq"] for e in sorted(receiver.unique().values(), key=lambda e: e["sequence"])
                    if e["type"].startswith("preference.") and e["data"]["subject"] == subject
                    for c in e["data"]["changes"]]
            assert seqs == sorted(seqs)

        # After the erasure, the outbox holds nothing of either subject but the erasure itself.
        left = [(row.type, row.subject) for row in _rows(database_url) if row.subject in (subject, customer)]
        assert left == [("subject.erased", customer)]
