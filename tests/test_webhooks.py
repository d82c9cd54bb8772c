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
from bff.storage import Database, as_utc
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


def _writes(client: TestClient, subjects: int, rounds: int) -> list[str]:
    """``rounds`` real changes for each of ``subjects`` new anonymous subjects, interleaved; their ids."""
    cookies: list[Any] = []
    for _ in range(subjects):
        client.cookies.clear()
        assert client.put("/api/v1/preferences/balance", json={"value": 0.0}, headers=WRITE).status_code == 200
        cookies.append(dict(client.cookies))
    for turn in range(1, rounds):
        for jar in cookies:
            client.cookies.clear()
            client.cookies.update(jar)
            value = [0.0, 0.25, 0.5, 0.75, 1.0][turn % 5]
            assert client.put("/api/v1/preferences/balance", json={"value": value}, headers=WRITE).status_code == 200
    names = []
    for jar in cookies:
        client.cookies.clear()
        client.cookies.update(jar)
        names.append(client.get("/api/v1/me/export").json()["subject"])
    return names


def _per_subject_in_arrival_order(receiver: Receiver) -> dict[str, list[int]]:
    order: dict[str, list[int]] = {}
    for event in receiver.events("preference."):
        order.setdefault(event["data"]["subject"], []).extend(c["ledger_seq"] for c in event["data"]["changes"])
    return order


def test_a_receiver_that_was_down_gets_everything_in_order_per_subject(database_url: str, tmp_path: Path) -> None:
    from _live_server import free_port

    clock = Clock(datetime.now(UTC))
    receiver = Receiver(make_secret(), port=free_port())  # not listening yet: connections are refused
    config = webhook_config(receiver.url, receiver.secret, dispatch="in_bff = false")
    with webhook_app(tmp_path, database_url, config, clock=clock) as (client, _service):
        subjects = _writes(client, subjects=3, rounds=4)

    async def deliver() -> None:
        database = Database(database_url)
        dispatcher = Dispatcher(database, config, clock=clock)
        try:
            assert await dispatcher.drain() == 3  # each subject's first event; every later one waits behind it
            assert {(row.status, row.attempts) for row in _rows(database_url)} == {("pending", 1), ("pending", 0)}
            assert await dispatcher.drain() == 0  # nothing due before the backoff ends
            receiver.start()
            clock.now += timedelta(minutes=10)
            await dispatcher.drain()
        finally:
            await dispatcher.close()
            database.dispose()

    try:
        asyncio.run(deliver())
        assert receiver.rejected == []
        assert _per_subject_in_arrival_order(receiver) == {subject: [1, 2, 3, 4] for subject in subjects}
        assert {row.status for row in _rows(database_url)} == {"delivered"}
    finally:
        receiver.__exit__()


def test_500_and_hangs_are_retried_with_backoff_for_24_hours_then_dead(sqlite_url: str, tmp_path: Path) -> None:
    clock = Clock(datetime.now(UTC))
    with Receiver(make_secret()) as receiver:
        config = webhook_config(receiver.url, receiver.secret, dispatch="in_bff = false",
                                subscriber='events = ["preference.*"]')
        with webhook_app(tmp_path, sqlite_url, config, clock=clock) as (client, _service):
            assert client.put("/api/v1/preferences/size", json={"value": "m"}, headers=WRITE).status_code == 200
            recorded = clock.now
            waits: list[float] = []

            async def deliver() -> None:
                database = Database(sqlite_url)
                dispatcher = Dispatcher(database, config, clock=clock)
                try:
                    receiver.mode = "hang"
                    assert await dispatcher.run_once() == 1
                    [row] = _rows(sqlite_url)
                    assert row.status == "pending" and row.last_error == "no answer within 1 s"
                    receiver.mode = "fail"
                    while True:
                        [row] = _rows(sqlite_url)
                        if row.status == "dead":
                            break
                        waits.append((as_utc(row.next_attempt_at) - clock.now).total_seconds())
                        clock.now = as_utc(row.next_attempt_at)
                        assert await dispatcher.run_once() == 1
                finally:
                    await dispatcher.close()
                    database.dispose()

            asyncio.run(deliver())
            # Exponential with jitter: each wait in the upper half of 5 s x 2^n, at most an hour.
            for n, wait in enumerate(waits[:-1]):
                ceiling = min(3600.0, 5.0 * 2**n)
                assert ceiling / 2 <= wait <= ceiling + 1e-6, (n, wait)
            assert clock.now - recorded >= timedelta(hours=24)  # the last attempt at the window's end
            assert receiver.attempts == len(waits) + 1 and receiver.received == [] and receiver.rejected == []

            [failing] = client.get("/api/v1/admin/webhooks/failing", headers=ADMIN).json()
            assert failing["status"] == "dead" and failing["last_status"] == 500
            assert failing["last_error"] == "HTTP 500" and failing["attempts"] == receiver.attempts
            assert "subject" not in failing
            [status] = client.get("/api/v1/admin/webhooks", headers=ADMIN).json()
            assert (status["name"], status["dead"], status["pending"]) == ("crm", 1, 0)


def test_a_redirect_is_a_failed_attempt_and_the_other_host_gets_nothing(sqlite_url: str, tmp_path: Path) -> None:
    """A subscriber's URL answering 307 to another host: the signed event is not followed there (it would
    hand the event and its signature to whoever the redirect names); the attempt fails and is retried."""
    clock = Clock(datetime.now(UTC))
    with Receiver(make_secret()) as receiver, Receiver(make_secret()) as elsewhere:
        receiver.mode = "redirect"
        receiver.redirect_to = elsewhere.url
        config = webhook_config(receiver.url, receiver.secret, dispatch="in_bff = false",
                                subscriber='events = ["preference.*"]')
        with webhook_app(tmp_path, sqlite_url, config, clock=clock) as (client, _service):
            assert client.put("/api/v1/preferences/size", json={"value": "m"}, headers=WRITE).status_code == 200

            async def deliver() -> None:
                database = Database(sqlite_url)
                dispatcher = Dispatcher(database, config, clock=clock)
                try:
                    assert await dispatcher.run_once() == 1
                finally:
                    await dispatcher.close()
                    database.dispose()

            asyncio.run(deliver())
            assert receiver.attempts == 1 and receiver.rejected == []
            assert elsewhere.attempts == 0 and elsewhere.received == []
            [row] = _rows(sqlite_url)
            assert (row.status, row.last_status) == ("pending", 307)
            assert row.last_error == "redirect not followed (answer the event at its URL)"


def test_replay_resends_exactly_the_asked_range(database_url: str, tmp_path: Path) -> None:
    with Receiver(make_secret()) as receiver:
        config = webhook_config(receiver.url, receiver.secret)
        with webhook_app(tmp_path, database_url, config) as (client, _service):
            for value in ["m", "s", "m", "s", "m"]:
                assert client.put("/api/v1/preferences/size", json={"value": value}, headers=WRITE).status_code == 200
            receiver.wait_for(lambda r: len(r.events("preference.")) == 5, message="five changes")
            first = sorted(receiver.events("preference."), key=lambda e: e["sequence"])
            sequences = [event["sequence"] for event in first]

            answer = client.post("/api/v1/admin/webhooks/crm/replay", headers=ADMIN,
                                 json={"from_id": sequences[1], "to_id": sequences[3]})
            assert answer.status_code == 200 and answer.json() == {"replayed": 3}
            receiver.wait_for(lambda r: len(r.events("preference.")) == 8, message="three replayed")
            again = receiver.events("preference.")[5:]
            assert [e["sequence"] for e in again] == sequences[1:4]
            assert [e["_id"] for e in again] == [e["_id"] for e in first[1:4]]  # same webhook-id: dedupable

            by_time = client.post("/api/v1/admin/webhooks/crm/replay", headers=ADMIN,
                                  json={"since": first[4]["data"]["at"]})
            assert by_time.json() == {"replayed": 1}
            receiver.wait_for(lambda r: len(r.events("preference.")) == 9, message="one replayed by time")
            assert receiver.events("preference.")[8]["sequence"] == sequences[4]

            expect_problem(client.post("/api/v1/admin/webhooks/crm/replay", headers=ADMIN, json={}), 400)
            expect_problem(client.post("/api/v1/admin/webhooks/nobody/replay", headers=ADMIN,
                                       json={"from_id": 1}), 404)
            expect_problem(client.post("/api/v1/admin/webhooks/crm/replay", json={"from_id": 1}), 401)
            expect_problem(client.get("/api/v1/admin/webhooks"), 401)
            expect_problem(client.post("/api/v1/admin/webhooks/crm/replay", headers=ADMIN,
                                       json={"from_id": "x"}), 400)


def test_a_write_whose_outbox_rows_cannot_be_written_is_not_acknowledged(sqlite_url: str, tmp_path: Path) -> None:
    with Receiver(make_secret()) as receiver:
        config = webhook_config(receiver.url, receiver.secret, dispatch="in_bff = false")
        with webhook_app(tmp_path, sqlite_url, config) as (client, service):
            with service.database.write() as connection:
                connection.execute(sa.text("DROP TABLE webhook_delivery"))
            response = client.put("/api/v1/preferences/size", json={"value": "m"}, headers=WRITE)
            assert response.status_code == 503, response.text
            with service.database.read() as connection:
                assert connection.execute(sa.text("SELECT count(*) FROM consent_event")).scalar() == 0
                assert connection.execute(sa.text("SELECT count(*) FROM preference_state")).scalar() == 0


def test_subscribers_get_only_the_types_and_keys_they_asked_for(sqlite_url: str, tmp_path: Path) -> None:
    with Receiver(make_secret()) as receiver:
        config = webhook_config(receiver.url, receiver.secret,
                                subscriber='events = ["preference.*", "subject.erased"]\nkeys = ["newsletter"]')
        with webhook_app(tmp_path, sqlite_url, config) as (client, _service):
            assert client.put("/api/v1/preferences/size", json={"value": "m"}, headers=WRITE).status_code == 200
            assert client.post("/api/v1/consents/accept-all", headers=WRITE).status_code == 200
            receiver.wait_for(lambda r: r.events("preference."), message="accept-all")
            assert client.delete("/api/v1/me", headers=WRITE).status_code == 200
            receiver.wait_for(lambda r: r.events("subject."), message="the erasure")
        types = [event["type"] for event in receiver.received]
        assert types == ["preference.accept_all", "subject.erased"]  # no size change, no registry activation
        assert [c["key"] for c in receiver.received[0]["data"]["changes"]] == ["newsletter"]


@pytest.mark.parametrize(
    ("text", "environ", "message"),
    [
        ('[[subscribers]]\nname = "a"\nurl = "https://x.example/h"\nsecret_env = "S"', {}, "S is not set"),
        ('[[subscribers]]\nname = "a"\nurl = "https://x.example/h"\nsecret_env = "S"', {"S": "whsec_c2hvcnQ="},
         "decodes to 5 bytes"),
        ('[[subscribers]]\nname = "a"\nurl = "ftp://x.example/h"\nsecret_env = "S"', {"S": make_secret()},
         "subscribers[0].url: expected an http(s) URL"),
        ('[[subscribers]]\nname = "a"\nurl = "https://u:p@x.example/h"\nsecret_env = "S"', {"S": make_secret()},
         "credentials do not belong"),
        ('[[subscribers]]\nname = "a"\nurl = "https://x.example/h"\nsecret_env = "S"\nevents = ["preferences.*"]',
         {"S": make_secret()}, "subscribers[0].events[0]: 'preferences.*' matches no event type"),
        ('[dispatch]\nretry_window_hours = 2\n', {}, "retry_window_hours"),
        ('[[subscribers]]\nname = "A B"\nurl = "https://x.example/h"\nsecret_env = "S"', {}, "subscribers[0].name"),
        ("[dispatch\n", {}, "not TOML"),
    ],
)
def test_a_broken_webhook_file_is_refused_naming_what_to_fix(text: str, environ: dict[str, str], message: str) -> None:
    with pytest.raises(WebhookConfigError) as caught:
        parse_webhooks(text, environ)
    assert message in str(caught.value)
    assert make_secret() not in str(caught.value)


def test_cli_webhooks_test_sends_a_signed_sample(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    with Receiver(make_secret(3)) as receiver:
        env = {**os.environ, "PREFKIT_WEBHOOK_SECRET": receiver.secret}
        command = [sys.executable, "-m", "bff.cli", "webhooks", "test", receiver.url]
        ok = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        assert ok.returncode == 0, ok.stderr
        [sample] = receiver.received
        assert sample["type"] == "webhook.test" and sample["_id"] in ok.stdout
        receiver.mode = "fail"
        failed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        assert failed.returncode == 1 and "HTTP 500" in failed.stderr
        missing = subprocess.run(command, env={**env, "PREFKIT_WEBHOOK_SECRET": ""}, capture_output=True,
                                 text=True, timeout=60)
        assert missing.returncode == 1 and "PREFKIT_WEBHOOK_SECRET is not set" in missing.stderr
