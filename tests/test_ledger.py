"""The consent ledger: hash chain verification, tamper detection, no forks under concurrent writes,
and state + ledger written in one transaction."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from _bff_app import REGISTRY_TOML

from bff.service import PreferenceService
from bff.storage import Database
from preference_registry import RegistryService, load_registry

SUBJECT = "anon:" + "1" * 32


@pytest.fixture
def service(database_url: str) -> Iterator[PreferenceService]:
    database = Database(database_url)
    database.migrate()
    registry = RegistryService(load_registry(REGISTRY_TOML, "toml", "test"))
    yield PreferenceService(registry, database)
    database.dispose()


def run(coroutine):  # noqa: ANN001, ANN201
    return asyncio.run(coroutine)


def test_chain_verifies_and_detects_a_tampered_row(service: PreferenceService) -> None:
    run(service.set_values(SUBJECT, {"newsletter": True}, method="api"))
    run(service.reject_all(SUBJECT))
    run(service.set_values(SUBJECT, {"size": "m"}, method="ui"))
    assert run(service.verify(SUBJECT)) is None
    with service.database.write() as connection:
        connection.execute(
            sa.text("UPDATE consent_event SET new_value = :v WHERE subject = :s AND seq = 2"),
            {"v": "true", "s": SUBJECT},
        )
    broken = run(service.verify(SUBJECT))
    assert broken is not None and broken.seq == 2 and "altered" in broken.reason


def test_chain_detects_a_deleted_row(service: PreferenceService) -> None:
    run(service.set_values(SUBJECT, {"newsletter": True}, method="api"))
    run(service.set_values(SUBJECT, {"newsletter": False}, method="api"))
    run(service.set_values(SUBJECT, {"newsletter": True}, method="api"))
    with service.database.write() as connection:
        connection.execute(
            sa.text("DELETE FROM consent_event WHERE subject = :s AND seq = 2"), {"s": SUBJECT}
        )
    broken = run(service.verify(SUBJECT))
    assert broken is not None and broken.seq == 2 and "gap" in broken.reason


def test_chain_detects_a_rewritten_timestamp(service: PreferenceService) -> None:
    run(service.set_values(SUBJECT, {"newsletter": True}, method="api"))
    with service.database.write() as connection:
        connection.execute(
            sa.text("UPDATE consent_event SET method = 'ui' WHERE subject = :s"), {"s": SUBJECT}
        )
    assert run(service.verify(SUBJECT)).seq == 1


def test_concurrent_writes_to_one_subject_never_fork_the_chain(service: PreferenceService) -> None:
    async def hammer() -> None:
        await asyncio.gather(
            *(
                service.set_values(SUBJECT, {"level": (i % 6) * 2, "size": "sm"[i % 2]}, method="api")
                for i in range(24)
            )
        )

    run(hammer())
    with service.database.read() as connection:
        seqs = [
            row.seq
            for row in connection.execute(
                sa.text("SELECT seq FROM consent_event WHERE subject = :s ORDER BY seq"), {"s": SUBJECT}
            )
        ]
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) >= 24
    assert run(service.verify(SUBJECT)) is None


def test_state_and_ledger_are_one_transaction(service: PreferenceService) -> None:
    """A ledger insert that fails (a real database trigger) leaves the state untouched too."""
    run(service.set_values(SUBJECT, {"size": "s"}, method="api"))
    with service.database.write() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql(
                "CREATE TRIGGER refuse_colors BEFORE INSERT ON consent_event WHEN NEW.key = 'colors' "
                "BEGIN SELECT RAISE(ABORT, 'refused by test'); END"
            )
        else:
            connection.exec_driver_sql(
                "CREATE FUNCTION refuse_colors() RETURNS trigger AS $$ BEGIN "
                "IF NEW.key = 'colors' THEN RAISE EXCEPTION 'refused by test'; END IF; RETURN NEW; END $$ "
                "LANGUAGE plpgsql"
            )
            connection.exec_driver_sql(
                "CREATE TRIGGER refuse_colors BEFORE INSERT ON consent_event "
                "FOR EACH ROW EXECUTE FUNCTION refuse_colors()"
            )
    with pytest.raises(sa.exc.DBAPIError, match="refused by test"):
        run(service.set_values(SUBJECT, {"size": "m", "colors": ["red"]}, method="api"))
    values = run(service.effective(SUBJECT))
    assert values["size"].value == "s" and values["colors"].value == []
    assert [e.key for e in run(service.history(SUBJECT))] == ["size"]
    assert run(service.verify(SUBJECT)) is None


def test_subjects_have_independent_chains(service: PreferenceService) -> None:
    other = "anon:" + "2" * 32
    run(service.set_values(SUBJECT, {"newsletter": True}, method="api"))
    run(service.set_values(other, {"newsletter": True}, method="api"))
    first, second = run(service.history(SUBJECT))[0], run(service.history(other))[0]
    assert first.seq == second.seq == 1 and first.hash != second.hash
    with service.database.write() as connection:
        connection.execute(
            sa.text("UPDATE consent_event SET new_value = 'false' WHERE subject = :s"), {"s": other}
        )
    assert run(service.verify(SUBJECT)) is None and run(service.verify(other)) is not None


def test_every_activated_registry_version_is_kept(service: PreferenceService, tmp_path: Path) -> None:
    service.record_registry_version(service.registry.current)
    changed = REGISTRY_TOML.replace("Raz w tygodniu.", "Codziennie.")
    snapshot = service.registry.submit(changed, "toml", "edit")
    service.record_registry_version(snapshot)
    versions = [v["version"] for v in service.registry_versions()]
    assert versions[0] == snapshot.version and len(versions) == 2


def test_integral_float_values_verify_after_a_round_trip(service: PreferenceService) -> None:
    """``balance`` is a float slider: 1.0 and 0.0 come back from SQLite's JSON column as integers."""
    run(service.set_values(SUBJECT, {"balance": 1.0}, method="api"))
    run(service.set_values(SUBJECT, {"balance": 0.0}, method="api"))
    run(service.set_values(SUBJECT, {"balance": 0.25}, method="api"))
    assert run(service.effective(SUBJECT))["balance"].value == 0.25
    assert run(service.verify(SUBJECT)) is None


def test_two_instances_on_one_database_keep_one_chain(service: PreferenceService, database_url: str) -> None:
    """Two BFF instances (separate engines and pools, as two processes would have) writing the same
    subject at once: one linear chain, and each instance reads what the other wrote."""
    other_database = Database(database_url)
    other = PreferenceService(service.registry, other_database)
    try:

        async def both() -> None:
            await asyncio.gather(
                *(
                    (service if i % 2 else other).set_values(
                        SUBJECT, {"level": (i % 6) * 2, "size": "sm"[i % 2]}, method="api"
                    )
                    for i in range(20)
                )
            )

        run(both())
        run(service.set_values(SUBJECT, {"colors": ["green"]}, method="api"))
        assert run(other.effective(SUBJECT))["colors"].value == ["green"]
        history = run(other.history(SUBJECT))
        assert [e.seq for e in history] == list(range(len(history), 0, -1)) and len(history) >= 21
        assert run(other.verify(SUBJECT)) is None
    finally:
        other_database.dispose()
