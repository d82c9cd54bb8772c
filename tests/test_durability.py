"""Durability under crashes: ``tests/scripts/kill_durability.py`` SIGKILLs a real ``prefkit serve`` five
times during a write load, on a SQLite file and on PostgreSQL; every write acknowledged before a kill is
in the ledger and the state after restart, and every subject's hash chain verifies."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "scripts"))

from kill_durability import run  # noqa: E402


@pytest.mark.slow
def test_sigkill_during_write_load_loses_no_acknowledged_write(database_url: str, tmp_path: Path) -> None:
    report = run(database_url, cycles=5, writers=6, quota=30, workdir=tmp_path)
    print(report)
    assert report.problems == []
    assert report.cycles == 5
    assert report.acknowledged >= 5 * 30
    # Kills landed mid-load (writes in flight), which is what makes the test mean something.
    assert report.kills_mid_request >= 4
    assert report.subjects == 6
    assert report.ledger_events >= report.acknowledged
    assert report.ledger_events <= report.acknowledged + report.in_flight_at_kill


def test_the_check_catches_a_lost_acknowledged_write_that_the_chain_alone_cannot(tmp_path: Path) -> None:
    """Truncating a chain's tail leaves a chain that verifies; the acknowledged-write check still fails."""
    import sqlalchemy as sa
    from _bff_app import WRITE, running_app
    from kill_durability import REGISTRY, KillReport, _verify, _Write, _Writer

    from bff.storage import Database

    registry = tmp_path / "registry.toml"
    registry.write_text(REGISTRY, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'lost.db'}"
    with running_app(registry, url) as (client, _service):
        writes = [
            _Write(key="balance", value=0.0),
            _Write(key="size", value="m"),
            _Write(key="balance", value=1.0),
        ]
        for write in writes:
            response = client.put(
                f"/api/v1/preferences/{write.key}", json={"value": write.value}, headers=WRITE
            )
            write.acknowledged = response.status_code == 200
        subject = client.get("/api/v1/me/export").json()["subject"]
    writer = _Writer(cookie="", subject=subject, writes=writes)
    intact = KillReport(acknowledged=3)
    _verify(url, [writer], intact)
    assert intact.problems == [] and intact.ledger_events == 3

    database = Database(url)
    try:
        with database.write([subject]) as connection:
            connection.execute(sa.text("DELETE FROM consent_event WHERE seq = 3"))
    finally:
        database.dispose()
    lost = KillReport(acknowledged=3)
    _verify(url, [writer], lost)
    assert any("acknowledged write balance=1.0 is missing" in problem for problem in lost.problems), (
        lost.problems
    )
