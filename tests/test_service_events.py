"""Typed change events (bff/events.py) over real HTTP and a real database: every recorded change is
published exactly once, after its transaction commits, with what a consumer needs (subject, keys,
old/new values, method, registry version, text hash); a refused or rolled-back write publishes nothing;
a failing subscriber breaks neither the write nor the other subscribers."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa
from _bff_app import (  # noqa: F401 - app, clock: fixtures
    REGISTRY_TOML,
    SECRET,
    SHOP_SECRET,
    SWITCHABLE_CONSENTS,
    WRITE,
    Clock,
    app,
    clock,
    running_app,
    write_registry,
)
from litestar.testing import TestClient

from bff.events import ChangeEvent, Event, EventBus, KeyChange, RegistryActivated
from bff.identity import SUBJECT_COOKIE, Identity, issue_customer_token
from bff.service import PreferenceService
from bff.storage import Database
from preference_registry import RegistryService, load_registry

NEW_WORDING = REGISTRY_TOML.replace(
    'description = { pl = "Raz w tygodniu.", en = "Once a week." }',
    'description = { pl = "Dwa razy w tygodniu.", en = "Twice a week." }',
    1,
)


class Recorder:
    """Every event the bus publishes (appends are atomic: subscribers run on the app's loop thread)."""

    def __init__(self, bus: EventBus) -> None:
        self.events: list[Event] = []
        self.unsubscribe = bus.subscribe(self.events.append)

    def of(self, subject: str) -> list[ChangeEvent]:
        return [e for e in self.events if isinstance(e, ChangeEvent) and e.subject == subject]

    def take(self) -> list[Event]:
        taken, self.events[:] = list(self.events), []
        return taken


@pytest.fixture
def recorder(app: tuple[TestClient, PreferenceService]) -> Iterator[Recorder]:
    recorder = Recorder(app[1].events)
    yield recorder
    recorder.unsubscribe()


def _subject(client: TestClient) -> str:
    subject = Identity(secret=SECRET).verify_subject(client.cookies.get(SUBJECT_COOKIE))
    assert subject is not None
    return subject


def _one(recorder: Recorder, subject: str) -> ChangeEvent:
    events = recorder.take()
    assert len(events) == 1, events
    event = events[0]
    assert isinstance(event, ChangeEvent) and event.subject == subject, event
    return event


def _ledger(service: PreferenceService, subject: str) -> list[Any]:
    with service.database.read() as connection:
        return connection.execute(
            sa.text("SELECT seq, key, method, hash FROM consent_event WHERE subject = :s ORDER BY seq"),
            {"s": subject},
        ).all()


def _matches_ledger(service: PreferenceService, event: ChangeEvent) -> None:
    """The event's key changes are exactly the ledger's newest events, in order, with their hashes."""
    rows = _ledger(service, event.subject)[-len(event.changes):]
    assert [(c.ledger_seq, c.key, event.method, c.ledger_hash) for c in event.changes] == [
        (r.seq, r.key, r.method, r.hash) for r in rows
    ]


def test_explicit_put_publishes_one_event_after_commit(
    app: tuple[TestClient, PreferenceService], recorder: Recorder
) -> None:
    client, service = app
    snapshot = service.registry.current
    assert client.put("/api/v1/preferences/newsletter", json={"value": True}, headers=WRITE).status_code == 200
    subject = _subject(client)
    event = _one(recorder, subject)
    assert event.method == "api" and event.registry_version == snapshot.version
    assert event.changes == (
        KeyChange(key="newsletter", old_value=False, new_value=True, text_hash=snapshot.text_hash("newsletter"),
                  registry_version=snapshot.version, made_under_gpc=False,
                  ledger_seq=1, ledger_hash=event.changes[0].ledger_hash),
    )
    assert event.at == service.clock() and event.at.tzinfo is not None
    _matches_ledger(service, event)
    # The identical decision again records nothing, so publishes nothing.
    assert client.put("/api/v1/preferences/newsletter", json={"value": True}, headers=WRITE).status_code == 200
    assert recorder.take() == []
    # The wire form round-trips (the seam for webhooks and cross-process notifications).
    assert msgspec.json.decode(msgspec.json.encode(event), type=Event) == event


def test_patch_of_several_keys_is_one_event(app: tuple[TestClient, PreferenceService], recorder: Recorder) -> None:
    client, service = app
    response = client.patch("/api/v1/preferences", json={"size": "m", "balance": 0.25}, headers=WRITE)
    assert response.status_code == 200
    event = _one(recorder, _subject(client))
    assert event.method == "api"
    assert {(c.key, c.old_value, c.new_value) for c in event.changes} == {("size", None, "m"), ("balance", 0.5, 0.25)}
    _matches_ledger(service, event)


@pytest.mark.parametrize("action, value", [("accept-all", True), ("reject-all", False)])
def test_accept_and_reject_all_publish_one_event_with_every_switchable_consent(
    app: tuple[TestClient, PreferenceService], recorder: Recorder, action: str, value: bool
) -> None:
    client, service = app
    assert client.post(f"/api/v1/consents/{action}", headers=WRITE).status_code == 200
    event = _one(recorder, _subject(client))
    assert event.method == action.replace("-", "_")
    assert sorted(c.key for c in event.changes) == sorted(SWITCHABLE_CONSENTS)
    assert all(c.new_value is value for c in event.changes)
    defaults = {"newsletter": False, "recommendations": False, "service_quality": True}
    assert {c.key: c.old_value for c in event.changes} == defaults
    _matches_ledger(service, event)


def test_withdrawal_publishes_true_to_false(app: tuple[TestClient, PreferenceService], recorder: Recorder) -> None:
    client, service = app
    client.put("/api/v1/preferences/recommendations", json={"value": True}, headers=WRITE)
    recorder.take()
    assert client.delete("/api/v1/preferences/recommendations", headers=WRITE).status_code == 200
    event = _one(recorder, _subject(client))
    assert [(c.key, c.old_value, c.new_value) for c in event.changes] == [("recommendations", True, False)]
    assert event.method == "api"
    _matches_ledger(service, event)


def test_reset_of_a_slider_publishes_back_to_default(
    app: tuple[TestClient, PreferenceService], recorder: Recorder
) -> None:
    client, service = app
    client.put("/api/v1/preferences/balance", json={"value": 1.0}, headers=WRITE)
    recorder.take()
    assert client.delete("/api/v1/preferences/balance", headers=WRITE).status_code == 200
    event = _one(recorder, _subject(client))
    assert [(c.key, c.old_value, c.new_value) for c in event.changes] == [("balance", 1.0, 0.5)]
    _matches_ledger(service, event)


def test_expiry_recorded_during_a_read_is_published_once(
    app: tuple[TestClient, PreferenceService], recorder: Recorder, clock: Clock
) -> None:
    client, service = app
    client.put("/api/v1/preferences/newsletter", json={"value": True}, headers=WRITE)
    recorder.take()
    clock.now += timedelta(days=31)  # newsletter expires after 30 days
    assert client.get("/api/v1/preferences").json()["preferences"]["newsletter"]["source"] == "expired"
    event = _one(recorder, _subject(client))
    assert event.method == "expiry"
    assert [(c.key, c.old_value, c.new_value) for c in event.changes] == [("newsletter", True, False)]
    _matches_ledger(service, event)
    client.get("/api/v1/preferences")  # recorded once per decision: the second read is silent
    assert recorder.take() == []


def test_gpc_override_recorded_during_a_read_is_published_once(
    app: tuple[TestClient, PreferenceService], recorder: Recorder
) -> None:
    client, service = app
    client.put("/api/v1/preferences/newsletter", json={"value": True}, headers=WRITE)
    recorder.take()
    read = client.get("/api/v1/preferences", headers={"Sec-GPC": "1"}).json()
    assert read["preferences"]["newsletter"]["source"] == "gpc"
    event = _one(recorder, _subject(client))
    assert event.method == "gpc"
    assert [(c.key, c.old_value, c.new_value, c.made_under_gpc) for c in event.changes] == [
        ("newsletter", True, False, True)
    ]
    _matches_ledger(service, event)
    client.get("/api/v1/preferences", headers={"Sec-GPC": "1"})
    assert recorder.take() == []


def test_merge_on_login_publishes_on_the_customer(
    app: tuple[TestClient, PreferenceService], recorder: Recorder
) -> None:
    client, service = app
    client.patch("/api/v1/preferences", json={"size": "m", "balance": 0.25}, headers=WRITE)
    anonymous = _subject(client)
    recorder.take()
    response = client.post(
        "/api/v1/session/login", json={"token": issue_customer_token("c-9", SHOP_SECRET)}, headers=WRITE
    )
    assert response.json()["merged_keys"] == ["balance", "size"]
    event = _one(recorder, "cust:c-9")
    assert event.method == "merge" and event.linked_subjects == (anonymous,)
    assert [(c.key, c.old_value, c.new_value) for c in event.changes] == [("balance", 0.5, 0.25), ("size", None, "m")]
    _matches_ledger(service, event)


def test_erasure_publishes_one_event_naming_what_was_removed(
    app: tuple[TestClient, PreferenceService], recorder: Recorder
) -> None:
    client, service = app
    client.patch("/api/v1/preferences", json={"newsletter": True, "size": "m"}, headers=WRITE)
    subject = _subject(client)
    recorder.take()
    assert client.delete("/api/v1/me", headers=WRITE).status_code == 200
    event = _one(recorder, subject)
    assert event.method == "erasure" and event.linked_subjects == ()
    assert sorted((c.key, c.old_value, c.new_value, c.ledger_seq) for c in event.changes) == [
        ("newsletter", True, False, None),
        ("size", "m", None, None),
    ]
    assert _ledger(service, subject) == []  # published after the deletion committed


def test_erasure_of_a_customer_names_the_merged_anonymous_subjects(
    app: tuple[TestClient, PreferenceService], recorder: Recorder
) -> None:
    client, _service = app
    client.put("/api/v1/preferences/size", json={"value": "s"}, headers=WRITE)
    anonymous = _subject(client)
    client.post("/api/v1/session/login", json={"token": issue_customer_token("c-3", SHOP_SECRET)}, headers=WRITE)
    recorder.take()
    assert client.delete("/api/v1/me", headers=WRITE).status_code == 200
    event = _one(recorder, "cust:c-3")
    assert event.method == "erasure" and event.linked_subjects == (anonymous,)


def test_registry_activation_publishes_which_wording_changed(
    app: tuple[TestClient, PreferenceService], recorder: Recorder, tmp_path: Path
) -> None:
    _client, service = app
    old = service.registry.current
    (tmp_path / "registry.toml").write_text(NEW_WORDING.replace(
        '[[preferences]]\nkey = "size"', '[[preferences]]\nkey = "fit"', 1), encoding="utf-8")
    new = service.registry.reload()
    assert new is not None and new.version != old.version
    events = recorder.take()
    assert len(events) == 1, events
    event = events[0]
    assert isinstance(event, RegistryActivated)
    assert (event.version, event.previous_version) == (new.version, old.version)
    assert event.wording_changed == ("newsletter",)
    assert (event.added, event.removed) == (("fit",), ("size",))
    assert [v["version"] for v in service.registry_versions()][0] == new.version  # stored before published


def test_subject_subscription_sees_only_that_subject(
    app: tuple[TestClient, PreferenceService], clock: Clock
) -> None:
    client, service = app
    client.put("/api/v1/preferences/size", json={"value": "s"}, headers=WRITE)
    subject = _subject(client)
    mine: list[Event] = []
    unsubscribe = service.events.subscribe(mine.append, subject=subject)
    asyncio.run(service.set_values("anon:" + "5" * 32, {"size": "m"}, method="api"))
    client.put("/api/v1/preferences/size", json={"value": "m"}, headers=WRITE)
    assert [(e.subject, e.changes[0].new_value) for e in mine] == [(subject, "m")]  # type: ignore[union-attr]
    unsubscribe()
    unsubscribe()  # idempotent
    client.put("/api/v1/preferences/size", json={"value": "s"}, headers=WRITE)
    assert len(mine) == 1


def test_refused_write_publishes_nothing(app: tuple[TestClient, PreferenceService], recorder: Recorder) -> None:
    client, _service = app
    response = client.patch("/api/v1/preferences", json={"size": "xl", "balance": 0.5}, headers=WRITE)
    assert response.status_code == 422
    response = client.put("/api/v1/preferences/nope", json={"value": 1}, headers=WRITE)
    assert response.status_code in (404, 422)
    assert recorder.take() == []


def test_database_error_rolls_back_and_publishes_nothing(
    tmp_path: Path, sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with running_app(write_registry(tmp_path), sqlite_url) as (client, service):
        recorder = Recorder(service.events)
        client.put("/api/v1/preferences/size", json={"value": "s"}, headers=WRITE)
        subject = _subject(client)
        recorder.take()
        with service.database.write() as connection:  # a real database failure in the ledger insert
            connection.exec_driver_sql(
                "CREATE TRIGGER refuse BEFORE INSERT ON consent_event BEGIN INSERT INTO gone VALUES (1); END"
            )
        with caplog.at_level(logging.CRITICAL):
            response = client.put("/api/v1/preferences/size", json={"value": "m"}, headers=WRITE)
        assert response.status_code == 503, response.text
        assert recorder.take() == []
        assert client.get("/api/v1/preferences/size").json()["value"] == "s"  # rolled back
        assert len(_ledger(service, subject)) == 1


def test_a_raising_subscriber_breaks_neither_the_write_nor_other_subscribers(
    app: tuple[TestClient, PreferenceService], caplog: pytest.LogCaptureFixture
) -> None:
    client, service = app
    calls: list[int] = []

    def broken(event: Event) -> None:
        calls.append(1)
        raise RuntimeError("subscriber bug")

    service.events.subscribe(broken)
    recorder = Recorder(service.events)
    with caplog.at_level(logging.DEBUG, logger="prefkit.events"):
        assert client.put("/api/v1/preferences/size", json={"value": "s"}, headers=WRITE).status_code == 200
        assert client.put("/api/v1/preferences/size", json={"value": "m"}, headers=WRITE).status_code == 200
    subject = _subject(client)
    assert len(recorder.of(subject)) == 2 and len(calls) == 2
    assert client.get("/api/v1/preferences/size").json()["value"] == "m"
    failures = [r for r in caplog.records if r.name == "prefkit.events" and r.levelno >= logging.ERROR]
    assert len(failures) == 1  # logged once, not once per event
    assert all(subject not in r.getMessage() for r in caplog.records if r.name == "prefkit.events")


def test_async_subscriber_runs_on_its_loop(tmp_path: Path, sqlite_url: str) -> None:
    database = Database(sqlite_url)
    database.migrate()
    service = PreferenceService(RegistryService(load_registry(REGISTRY_TOML, "toml", "t")), database)
    subject = "anon:" + "7" * 32

    async def main() -> tuple[threading.Thread, Event]:
        got: asyncio.Queue[tuple[threading.Thread, Event]] = asyncio.Queue()

        async def on_event(event: Event) -> None:
            await got.put((threading.current_thread(), event))

        service.events.subscribe(on_event, subject=subject)
        await service.set_values(subject, {"size": "m"}, method="ui")
        return await asyncio.wait_for(got.get(), timeout=10)

    try:
        thread, event = asyncio.run(main())
    finally:
        database.dispose()
    assert thread is threading.main_thread()
    assert isinstance(event, ChangeEvent) and event.method == "ui"


def test_a_cancelled_caller_still_publishes_its_committed_change(database_url: str) -> None:
    database = Database(database_url)
    database.migrate()
    service = PreferenceService(RegistryService(load_registry(REGISTRY_TOML, "toml", "t")), database)
    subject = "anon:" + "8" * 32

    async def main() -> Event:
        got: asyncio.Queue[Event] = asyncio.Queue()
        service.events.subscribe(got.put_nowait, subject=subject, loop=asyncio.get_running_loop())
        task = asyncio.create_task(service.set_values(subject, {"size": "m"}, method="api"))
        await asyncio.sleep(0)  # let it hand its work to the writer, then the client goes away
        task.cancel()
        return await asyncio.wait_for(got.get(), timeout=10)

    try:
        event = asyncio.run(main())
        with database.read() as connection:
            assert connection.execute(sa.text("SELECT count(*) FROM consent_event")).scalar_one() == 1
    finally:
        database.dispose()
    assert isinstance(event, ChangeEvent) and [c.key for c in event.changes] == ["size"]


def test_activation_across_restarts_compares_with_the_stored_version(sqlite_url: str) -> None:
    """A process that starts compares its registry with the version stored last: the same one again
    publishes nothing; an edited file publishes what changed since (a process restart must not hide a
    wording change from subscribers)."""
    database = Database(sqlite_url)
    database.migrate()
    first = load_registry(REGISTRY_TOML, "toml", "t")
    edited = load_registry(NEW_WORDING, "toml", "t")
    seen: list[Event] = []

    def start(snapshot: Any) -> PreferenceService:
        service = PreferenceService(RegistryService(snapshot), database)
        service.events.subscribe(seen.append)
        service.record_registry_version(snapshot)
        return service

    try:
        start(first)
        assert seen == [RegistryActivated(version=first.version, previous_version=None, wording_changed=(),
                                          added=tuple(p.key for p in first.preferences), removed=(),
                                          at=seen[0].at)]
        seen.clear()
        start(first)  # a restart with the same registry
        assert seen == []
        start(edited)
        assert [(e.version, e.previous_version, e.wording_changed) for e in seen] == [  # type: ignore[union-attr]
            (edited.version, first.version, ("newsletter",))
        ]
    finally:
        database.dispose()


def test_an_unknown_change_method_is_refused_before_anything_is_written(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    database.migrate()
    service = PreferenceService(RegistryService(load_registry(REGISTRY_TOML, "toml", "t")), database)
    seen: list[Event] = []
    service.events.subscribe(seen.append)
    try:
        with pytest.raises(ValueError, match="unknown change method"):
            asyncio.run(service.set_values("anon:" + "9" * 32, {"size": "m"}, method="import"))  # type: ignore[arg-type]
        with database.read() as connection:
            assert connection.execute(sa.text("SELECT count(*) FROM consent_event")).scalar_one() == 0
    finally:
        database.dispose()
    assert seen == []
