"""The consent ledger's hash chain: canonical encoding, appending, and verification.

Each event's ``hash`` is ``sha256(prev_hash + "\\n" + canonical_json(event))`` where the canonical JSON has
sorted keys and holds every field a reader relies on (subject, seq, key, old/new value, method, registry
version, text hash, GPC flag, timestamp as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``). Changing, deleting or
reordering any stored event breaks the chain at that point, which :func:`verify_chain` reports.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .hot import hot_sql
from .models import ConsentEvent
from .times import as_utc

__all__ = [
    "GENESIS_HASH",
    "BrokenLink",
    "EventDraft",
    "append_events",
    "canonical_time",
    "event_hash",
    "events_of",
    "subject_events",
    "verify_chain",
]

GENESIS_HASH = "0" * 64
"""``prev_hash`` of a subject's first event."""

_events = ConsentEvent.__table__  # type: ignore[attr-defined]
_canonical = msgspec.json.Encoder(order="sorted")


class EventDraft(msgspec.Struct, frozen=True, kw_only=True):
    """A ledger event before it is chained (``seq``, hashes and id are assigned on append)."""

    key: str
    old_value: Any
    new_value: Any
    method: str
    registry_version: str
    text_hash: str
    made_under_gpc: bool = False


class BrokenLink(msgspec.Struct, frozen=True, kw_only=True):
    """The first place where a subject's chain does not verify."""

    subject: str
    """Subject whose chain is broken."""
    seq: int
    """Sequence number where the chain breaks (the expected one when an event is missing)."""
    event_id: int | None
    """Row id of the offending event, when there is a row."""
    reason: str
    """What does not match."""


def canonical_time(moment: datetime) -> str:
    """UTC, microsecond ISO form; naive values (SQLite gives those back) are taken as UTC."""
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _canonical_value(value: Any) -> Any:
    """Numbers by value: ``1.0`` and ``1`` hash alike. SQLite's JSON column has NUMERIC affinity and hands
    ``1.0`` back as ``1``; the chain must not report that as tampering."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_canonical_value(item) for item in value]
    if isinstance(value, dict):
        return {key: _canonical_value(item) for key, item in value.items()}
    return value


def event_hash(
    *,
    prev_hash: str,
    subject: str,
    seq: int,
    key: str,
    old_value: Any,
    new_value: Any,
    method: str,
    registry_version: str,
    text_hash: str,
    made_under_gpc: bool,
    created_at: datetime,
) -> str:
    body = _canonical.encode(
        {
            "subject": subject,
            "seq": seq,
            "key": key,
            "old_value": _canonical_value(old_value),
            "new_value": _canonical_value(new_value),
            "method": method,
            "registry_version": registry_version,
            "text_hash": text_hash,
            "made_under_gpc": made_under_gpc,
            "created_at": canonical_time(created_at),
        }
    )
    return hashlib.sha256(prev_hash.encode() + b"\n" + body).hexdigest()


def _chain_head(connection: Connection, subject: str) -> tuple[int, str]:
    return hot_sql(connection).chain_head(connection, subject) or (0, GENESIS_HASH)


def append_events(
    connection: Connection, subject: str, drafts: list[EventDraft], now: datetime
) -> list[tuple[int, str]]:
    """Chain ``drafts`` after the subject's last event; returns each one's ``(seq, hash)``. Call inside
    :meth:`Database.write` for ``subject``."""
    if not drafts:
        return []
    seq, prev = _chain_head(connection, subject)
    rows = []
    for draft in drafts:
        seq += 1
        fields = dict(
            subject=subject,
            seq=seq,
            key=draft.key,
            old_value=draft.old_value,
            new_value=draft.new_value,
            method=draft.method,
            registry_version=draft.registry_version,
            text_hash=draft.text_hash,
            made_under_gpc=draft.made_under_gpc,
            created_at=now,
        )
        digest = event_hash(prev_hash=prev, **fields)
        rows.append({**fields, "prev_hash": prev, "hash": digest})
        prev = digest
    hot_sql(connection).insert_events(connection, rows)
    return [(row["seq"], row["hash"]) for row in rows]


def subject_events(connection: Connection, subject: str, *, newest_first: bool = False) -> list[Any]:
    """``subject``'s ledger rows in chain order (or newest first)."""
    order = _events.c.seq.desc() if newest_first else _events.c.seq
    return connection.execute(sa.select(_events).where(_events.c.subject == subject).order_by(order)).all()


def events_of(connection: Connection, subjects: list[str]) -> list[Any]:
    """The ledger rows of every subject in ``subjects``, by subject, each in chain order."""
    return connection.execute(
        sa.select(_events).where(_events.c.subject.in_(subjects)).order_by(_events.c.subject, _events.c.seq)
    ).all()


def verify_chain(connection: Connection, subject: str) -> BrokenLink | None:
    """The first broken link of ``subject``'s chain, or ``None`` when every event verifies."""
    prev, expected_seq = GENESIS_HASH, 1
    result = connection.execute(
        sa.select(_events).where(_events.c.subject == subject).order_by(_events.c.seq)
    )
    for row in result:
        if row.seq != expected_seq:
            return BrokenLink(
                subject=subject,
                seq=expected_seq,
                event_id=row.id,
                reason=f"sequence gap: expected event {expected_seq}, found {row.seq}",
            )
        if row.prev_hash != prev:
            return BrokenLink(
                subject=subject,
                seq=row.seq,
                event_id=row.id,
                reason="prev_hash does not match the previous event's hash",
            )
        recomputed = event_hash(
            prev_hash=row.prev_hash,
            subject=row.subject,
            seq=row.seq,
            key=row.key,
            old_value=row.old_value,
            new_value=row.new_value,
            method=row.method,
            registry_version=row.registry_version,
            text_hash=row.text_hash,
            made_under_gpc=bool(row.made_under_gpc),
            created_at=row.created_at,
        )
        if recomputed != row.hash:
            return BrokenLink(
                subject=subject,
                seq=row.seq,
                event_id=row.id,
                reason="content does not match its hash (the event was altered)",
            )
        prev, expected_seq = row.hash, expected_seq + 1
    return None
