"""What a subscriber receives: event types, the JSON body, and the Standard Webhooks signature headers.

Body (``application/json``)::

    {"type": "preference.api", "timestamp": "2026-12-01T12:00:00.000000Z", "sequence": 42, "data": {...}}

``sequence`` is the outbox id (replay ranges use it). ``data`` per type:

* ``preference.<method>`` (``ui``, ``api``, ``accept_all``, ``reject_all``, ``expiry``, ``gpc``,
  ``merge``): ``subject``, ``method``, ``registry_version``, ``at``, ``changes`` (per key: ``key``,
  ``old_value``, ``new_value``, ``text_hash`` and ``registry_version`` of the wording the decision was made
  under, ``made_under_gpc``, ``ledger_seq``, ``ledger_hash``), ``withdrawn`` (consent keys that went from
  granted to refused: a withdrawal, a GPC override or an expiry), ``linked_subjects`` (merge: the anonymous
  subject taken over).
* ``subject.erased``: ``subject``, ``linked_subjects`` (anonymous subjects erased with it), ``at`` — the
  identifiers a recipient needs to erase too, and nothing else.
* ``registry.activated``: ``version``, ``previous_version``, ``wording_changed`` (decisions made under the
  old wording are stale), ``added``, ``removed``, ``at``.

Headers: ``webhook-id`` (``evt_<32 hex>``, the same on every retry and replay: deduplicate by it),
``webhook-timestamp`` (seconds, time of sending), ``webhook-signature`` (``v1,<base64 HMAC-SHA256>``),
computed by the ``standardwebhooks`` package.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from math import floor
from typing import Any

import msgspec
from standardwebhooks import Webhook

from ..events import ChangeEvent, Event, RegistryActivated
from ..storage.ledger import canonical_time
from ..storage.outbox import OutboxRecord
from .config import Subscriber, WebhookConfig

__all__ = ["event_type", "outbox_records", "render_body", "sign_headers"]

_encode = msgspec.json.encode


def event_type(event: Event) -> str:
    """The wire type of ``event``."""
    if isinstance(event, RegistryActivated):
        return "registry.activated"
    if event.method == "erasure":
        return "subject.erased"
    return f"preference.{event.method}"


def _change_data(event: ChangeEvent) -> dict[str, Any]:
    return {
        "subject": event.subject,
        "method": event.method,
        "registry_version": event.registry_version,
        "at": canonical_time(event.at),
        # KeyChange Structs encode as objects of their fields, in order: no dict per change (this runs in the
        # shopper's write transaction).
        "changes": event.changes,
        "withdrawn": _withdrawn((c.key, c.old_value, c.new_value) for c in event.changes),
        "linked_subjects": event.linked_subjects,
    }


def _withdrawn(changes: Iterable[tuple[str, Any, Any]]) -> list[str]:
    """The keys of ``(key, old, new)`` changes that are withdrawals. Only consents hold booleans: granted ->
    refused is a withdrawal whatever the method."""
    return [key for key, old, new in changes if old is True and new is False]


def _data(event: Event) -> dict[str, Any]:
    if isinstance(event, RegistryActivated):
        return {
            "version": event.version,
            "previous_version": event.previous_version,
            "wording_changed": list(event.wording_changed),
            "added": list(event.added),
            "removed": list(event.removed),
            "at": canonical_time(event.at),
        }
    if event.method == "erasure":
        # Identifiers only: the erased values must not outlive the erasure in the outbox.
        return {"subject": event.subject, "linked_subjects": list(event.linked_subjects),
                "at": canonical_time(event.at)}
    return _change_data(event)


def _event_keys(event: Event) -> set[str] | None:
    """The preference keys an event is about (``None``: it goes to key-filtered subscribers anyway)."""
    if isinstance(event, RegistryActivated):
        return {*event.wording_changed, *event.added, *event.removed}
    if event.method == "erasure":
        return None
    return {change.key for change in event.changes}


def _wants(subscriber: Subscriber, kind: str, keys: set[str] | None) -> bool:
    if not subscriber.wants_type(kind):
        return False
    return keys is None or not subscriber.keys or bool(keys.intersection(subscriber.keys))


def outbox_records(config: WebhookConfig, events: Sequence[Event]) -> list[OutboxRecord]:
    """The outbox rows for ``events``: one per event some subscriber wants, naming those subscribers."""
    records = []
    for event in events:
        if isinstance(event, ChangeEvent) and not event.changes and event.method != "erasure":
            continue
        kind = event_type(event)
        keys = _event_keys(event)
        wanted = tuple(s.name for s in config.subscribers if _wants(s, kind, keys))
        if not wanted:
            continue
        records.append(
            OutboxRecord(
                type=kind,
                subject=event.subject if isinstance(event, ChangeEvent) else None,
                payload=_encode(_data(event)),
                created_at=event.at,
                subscribers=wanted,
                uid=uuid.uuid4().hex,
            )
        )
    return records


def render_body(subscriber: Subscriber, kind: str, sequence: int, created_at: datetime, payload: str) -> bytes:
    """The JSON body for ``subscriber``: change events carry only the keys it asked for."""
    if subscriber.keys and kind.startswith("preference."):
        data = msgspec.json.decode(payload)
        wanted = set(subscriber.keys)
        data["changes"] = [c for c in data["changes"] if c["key"] in wanted]
        data["withdrawn"] = _withdrawn((c["key"], c["old_value"], c["new_value"]) for c in data["changes"])
        payload = _encode(data).decode()
    head = _encode({"type": kind, "timestamp": canonical_time(created_at), "sequence": sequence})
    return head[:-1] + b',"data":' + payload.encode() + b"}"


def sign_headers(secret: str, message_id: str, body: bytes, *, now: datetime | None = None) -> dict[str, str]:
    """The Standard Webhooks headers for ``body`` (timestamp: ``now``, default the wall clock)."""
    moment = now or datetime.now(UTC)
    signature = Webhook(secret).sign(message_id, moment, body.decode())
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(floor(moment.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
        "user-agent": "prefkit-webhooks/1",
    }
