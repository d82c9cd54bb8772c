"""An incremental index of the ledger for the insights: what a report needs, kept up to date by reading only
the events appended since the last report (a primary-key range), so a report over a million events costs
what changed, not what is stored.

It holds, inside the server only (never in an answer): counts of decisions per ``(key, day, method, old,
new)``; re-consents per ``(key, day, new)`` (the subject's previous event on the key had another wording);
and per subject, their last recorded value, wording and method per key, the days they decided anything and
the days they changed something beyond the banner.

Erasure removes the subject from the per-subject part at once (:meth:`LedgerIndex.forget`); the counts of
their earlier decisions stay, as the anonymous counters of an erasure do (they name nobody). Several BFF
processes each keep their own index of the one ledger.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy.engine import Connection

from ..storage.insights import BANNER_METHODS, CHOICE_METHODS, ledger_after

__all__ = ["LedgerIndex", "SubjectFacts"]

_BATCH = 50_000
_DECIDED = frozenset((*CHOICE_METHODS, *BANNER_METHODS))


@dataclass(slots=True)
class SubjectFacts:
    """What the index knows of one subject (never leaves the server)."""

    last: dict[str, tuple[str | None, str, str, str, int]] = field(default_factory=dict)
    """key -> (value JSON, text_hash, method, day, seq) of the subject's last event on it."""
    decided_days: set[str] = field(default_factory=set)
    """Days with a decision (banner or beyond)."""
    choice_days: set[str] = field(default_factory=set)
    """Days with a change beyond the banner (center, API)."""
    signature: tuple[tuple[str, str | None], ...] = ()
    """``(key, last value JSON)`` of every key, sorted: the subject's profile, counted in
    :attr:`LedgerIndex.profiles`."""


class LedgerIndex:
    """The index; thread-safe (reports run in worker threads)."""

    def __init__(self) -> None:
        self.watermark = 0
        """Id of the last ledger event folded in."""
        self.decisions: Counter[tuple[str, str, str, str | None, str | None]] = Counter()
        self.reconsents: Counter[tuple[str, str, str | None]] = Counter()
        self.subjects: dict[str, SubjectFacts] = {}
        # Counts over subjects, kept as facts change, so a report without a time window reads a few hundred
        # groups instead of every subject:
        self.profiles: Counter[tuple[tuple[str, str | None], ...]] = Counter()
        """Subjects per profile (:attr:`SubjectFacts.signature`)."""
        self.last_events: Counter[tuple[str, str, str | None, str, str]] = Counter()
        """Subjects per last event on a key: ``(key, text_hash, value JSON, day, method)``."""
        self.visits: Counter[tuple[int, int]] = Counter()
        """Deciding subjects per ``(changed beyond the banner 0/1, days with such a change)``."""
        self._lock = threading.Lock()

    def refresh(self, connection: Connection) -> int:
        """Fold in every event appended since the last call; how many."""
        with self._lock:
            folded = 0
            while True:
                rows = ledger_after(connection, self.watermark, _BATCH)
                for row in rows:
                    self._fold(row)
                folded += len(rows)
                if rows:
                    self.watermark = rows[-1][0]
                if len(rows) < _BATCH:
                    return folded

    def _fold(self, row: tuple) -> None:
        _id, subject, seq, key, old, new, method, text_hash, day = row
        self.decisions[(key, day, method, old, new)] += 1
        facts = self.subjects.get(subject)
        if facts is None:
            facts = self.subjects[subject] = SubjectFacts()
        previous = facts.last.get(key)
        if previous is not None and previous[4] > seq:
            return  # an older event (ids and seqs disagree only after a merge of histories): keep the newest
        self._count(facts, -1, key)
        if method in _DECIDED:
            if previous is not None and previous[1] != text_hash:
                self.reconsents[(key, day, new)] += 1
            facts.decided_days.add(day)
            if method in CHOICE_METHODS:
                facts.choice_days.add(day)
        facts.last[key] = (new, text_hash, method, day, seq)
        if previous is None or previous[0] != new:
            facts.signature = tuple(sorted((k, last[0]) for k, last in facts.last.items()))
        self._count(facts, 1, key)

    def _count(self, facts: SubjectFacts, delta: int, key: str | None) -> None:
        """Add (``delta`` 1) or take away (-1) ``facts``' share of the counts over subjects (``key``: only
        that key's last event; ``None``: every key's)."""
        if facts.last:
            self.profiles[facts.signature] += delta
        for name in facts.last if key is None else (key,):
            last = facts.last.get(name)
            if last is not None:
                self.last_events[(name, last[1], last[0], last[3], last[2])] += delta
        if facts.decided_days:
            self.visits[(1 if facts.choice_days else 0, len(facts.choice_days))] += delta

    def forget(self, subjects: Iterable[str], max_id: int | None = None) -> None:
        """Drop erased subjects; ``max_id`` is the ledger's largest id after the erasure (SQLite may give the
        next event an id at or below the watermark once the newest events are deleted)."""
        with self._lock:
            for subject in subjects:
                facts = self.subjects.pop(subject, None)
                if facts is not None:
                    self._count(facts, -1, None)
            if max_id is not None and max_id < self.watermark:
                self.watermark = max_id
