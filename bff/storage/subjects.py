"""Everything stored about a subject, across ``preference_state``, ``consent_event``, ``subject_link``
and ``anonymous_counter``: read it all (export) or delete it all (erasure). What the rights mean is
``bff/rights.py``; this is only the SQL."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from .conversions import unlink_subjects
from .models import AnonymousCounter, ConsentEvent, PreferenceState, SubjectLink

__all__ = [
    "Erased",
    "anonymous_counters",
    "bump_counters",
    "counter_name",
    "erase_subjects",
    "stored_rows",
]

_state = PreferenceState.__table__  # type: ignore[attr-defined]
_events = ConsentEvent.__table__  # type: ignore[attr-defined]
_links = SubjectLink.__table__  # type: ignore[attr-defined]
_counters = AnonymousCounter.__table__  # type: ignore[attr-defined]
_canonical = msgspec.json.Encoder(order="sorted")


class Erased(msgspec.Struct, frozen=True, kw_only=True):
    """What :func:`erase_subjects` deleted."""

    subjects: tuple[str, ...]
    """The subject ids erased (the caller first)."""
    stored: tuple[tuple[str, Any], ...]
    """The caller's stored decisions removed, ``(key, value)`` by key."""
    preferences: int
    """``preference_state`` rows deleted."""
    events: int
    """``consent_event`` rows deleted."""
    links: int
    """``subject_link`` rows deleted."""


def stored_rows(connection: Connection, subject: str) -> list[Any]:
    """``subject``'s ``preference_state`` rows, as SQLAlchemy returns them (JSON decoded, times as stored)."""
    return connection.execute(sa.select(_state).where(_state.c.subject == subject)).all()


def counter_name(key: str, value: Any) -> str:
    """``anonymous_counter`` name for "an erased subject had ``value`` for ``key``"."""
    return f"erased:{key}={_canonical.encode(value).decode()}"[:200]


def anonymous_counters(connection: Connection) -> dict[str, int]:
    """Every anonymous counter (for operators and tests)."""
    return {row.name: row.count for row in connection.execute(sa.select(_counters.c.name, _counters.c.count))}


def bump_counters(connection: Connection, names: Iterable[str]) -> None:
    """Add one to each named counter."""
    insert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
    for name in names:
        # An upsert per counter: concurrent erasures of different subjects add up instead of overwriting.
        statement = insert(_counters).values(name=name, count=1)
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=[_counters.c.name], set_={"count": _counters.c.count + 1}
            )
        )


def erase_subjects(connection: Connection, subject: str, merged: list[str]) -> Erased:
    """Delete ``subject`` and ``merged`` (the anonymous subjects merged into it, read under the subjects'
    write locks) from every table and count the erasure. Call inside one write transaction."""
    subjects = [subject, *merged]
    stored = connection.execute(
        sa.select(_state.c.key, _state.c.value).where(_state.c.subject == subject).order_by(_state.c.key)
    ).all()
    preferences = connection.execute(sa.delete(_state).where(_state.c.subject.in_(subjects))).rowcount
    events = connection.execute(sa.delete(_events).where(_events.c.subject.in_(subjects))).rowcount
    links = connection.execute(
        sa.delete(_links).where(sa.or_(_links.c.customer_subject == subject, _links.c.anonymous_subject == subject))
    ).rowcount
    unlink_subjects(connection, subjects)  # reported orders stay, as unattributed ones
    bump_counters(connection, ["erasures", *(counter_name(row.key, row.value) for row in stored)])
    return Erased(
        subjects=tuple(subjects),
        stored=tuple((row.key, row.value) for row in stored),
        preferences=preferences,
        events=events,
        links=links,
    )
