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
