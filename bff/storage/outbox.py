"""The webhook outbox: its two tables and every statement on them.

``webhook_outbox`` holds one row per committed event some subscriber wants (the wire form of the event,
JSON); ``webhook_delivery`` one row per (subscriber, outbox row): its state (``pending`` -> ``delivered`` or
``dead``), attempts, next attempt, lease and last error. Both rows are inserted by :func:`stage` inside the
transaction that appends to the ledger (or erases, or stores a registry version), so a committed change
without its outbox rows cannot exist, and a rolled-back one leaves none.

Claiming (:func:`claim_due`) takes a lease on due deliveries: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (two
dispatchers claim disjoint rows and never wait for each other), a ``BEGIN IMMEDIATE`` transaction on SQLite
(the database's one writer lock: claims are serialized). A lease that runs out (its dispatcher died) makes
the row claimable again: at-least-once delivery. Only the *head* of each ``(subscriber, ordering key)``
queue is claimable — the oldest pending delivery of that subject for that subscriber — so a subject's later
event is never delivered before an earlier one.

The services decide *what* to stage; this module only runs SQL (see :mod:`bff.webhooks` for the rest).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Field, SQLModel

from .hot import execute_on, hot_sql, hot_sql_for
from .times import as_utc

if TYPE_CHECKING:
    from .engine import Database

__all__ = [
    "DeliveryRow",
    "DeliveryState",
    "OutboxRecord",
    "SubscriberLag",
    "WebhookDelivery",
    "WebhookOutbox",
    "claim_due",
    "delivery_rows",
    "failing_deliveries",
    "finish_deliveries",
    "forget_subjects",
    "has_due",
    "prune",
    "replay",
    "stage",
    "subscriber_lag",
]

PENDING = "pending"
_IS_PENDING = sa.literal_column("'pending'")
"""``status = 'pending'`` spelled so SQLite's planner can use the partial indexes (a bound value would not)."""
DELIVERED = "delivered"
DEAD = "dead"

_UTC = sa.DateTime(timezone=True)


class WebhookOutbox(SQLModel, table=True):
    """One committed event that at least one subscriber wants, as it goes on the wire."""

    __tablename__ = "webhook_outbox"

    id: int | None = Field(default=None, primary_key=True)
    """Commit order (per subject exactly: a subject's writes are serialized); replay ranges use it."""
    uid: str = Field(max_length=32)
    """Random id of the event (``webhook-id`` is ``evt_<uid>``): receivers deduplicate by it."""
    type: str = Field(max_length=40)
    """Event type (``preference.api``, ``subject.erased``, ``registry.activated``, ...)."""
    subject: str | None = Field(default=None, max_length=200, index=True)
    """Whose event (``None`` for a registry activation); erasure deletes the subject's rows by it."""
    payload: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    """The event's ``data`` object, JSON."""
    created_at: datetime = Field(sa_column=sa.Column(_UTC, nullable=False, index=True))
    """When the event was recorded (UTC)."""


class WebhookDelivery(SQLModel, table=True):
    """The delivery of one outbox row to one subscriber."""

    __tablename__ = "webhook_delivery"
    # Pending deliveries only (migration 0007): the indexes stay as small as the backlog, so staging touches
    # a page of each, not one per subject. Queries through them spell ``status = 'pending'`` as a literal,
    # which is what lets SQLite's planner use a partial index (a bound parameter would not).
    __table_args__ = (
        sa.Index("ix_webhook_delivery_queue", "subscriber", "ordering_key", "outbox_id",
                 sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'")),
        sa.Index("ix_webhook_delivery_heads", "is_head", "outbox_id",
                 sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'")),
    )

    subscriber: str = Field(primary_key=True, max_length=64)
    """Subscriber name (deployment configuration)."""
    outbox_id: int = Field(primary_key=True)
    """The ``webhook_outbox`` row."""
    ordering_key: str = Field(max_length=200)
    """Deliveries with one key go out in ``outbox_id`` order: the subject (``registry`` for activations)."""
    status: str = Field(max_length=12)
    """``pending``, ``delivered`` or ``dead`` (retried for the whole retry window and given up)."""
    is_head: bool = False
    """The oldest pending delivery of its (subscriber, ordering key) queue: the only one claimable. Kept up
    to date by :func:`stage` and :func:`finish_deliveries`, so a claim costs O(claimed), not O(backlog)."""
    attempts: int = 0
    """Attempts made so far."""
    next_attempt_at: datetime = Field(sa_column=sa.Column(_UTC, nullable=False))
    """When the delivery is due (again)."""
    created_at: datetime = Field(sa_column=sa.Column(_UTC, nullable=False))
    """When the event was recorded (the start of its retry window)."""
    lease_owner: str | None = Field(default=None, max_length=64)
    """Dispatcher that holds the delivery while it sends it."""
    lease_until: datetime | None = Field(default=None, sa_column=sa.Column(_UTC, nullable=True))
    """Until when (after it, another dispatcher may take the delivery over)."""
    last_attempt_at: datetime | None = Field(default=None, sa_column=sa.Column(_UTC, nullable=True))
    """When it was last tried."""
    last_status: int | None = None
    """HTTP status of the last attempt (``None``: no answer)."""
    last_error: str | None = Field(default=None, max_length=500)
    """Why the last attempt failed."""
    delivered_at: datetime | None = Field(default=None, sa_column=sa.Column(_UTC, nullable=True))
    """When the receiver answered 2xx."""


_outbox = WebhookOutbox.__table__  # type: ignore[attr-defined]
_delivery = WebhookDelivery.__table__  # type: ignore[attr-defined]


class OutboxRecord(msgspec.Struct, frozen=True, kw_only=True):
    """What to stage for one event: the outbox row and the subscribers it goes to."""

    type: str
    subject: str | None
    payload: bytes
    """The ``data`` JSON."""
    created_at: datetime
    subscribers: tuple[str, ...]
    uid: str


class DeliveryRow(msgspec.Struct, frozen=True, kw_only=True):
    """A claimed delivery with what is needed to send it."""

    subscriber: str
    outbox_id: int
    ordering_key: str
    uid: str
    type: str
    payload: str
    attempts: int
    created_at: datetime


class DeliveryState(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of one attempt, written back by :func:`finish_deliveries`."""

    subscriber: str
    outbox_id: int
    ordering_key: str
    status: str
    """``delivered``, ``pending`` (retry at ``next_attempt_at``) or ``dead``."""
    attempted_at: datetime
    next_attempt_at: datetime
    last_status: int | None = None
    last_error: str | None = None


class SubscriberLag(msgspec.Struct, frozen=True, kw_only=True):
    """Queue figures of one subscriber."""

    subscriber: str
    pending: int
    """Deliveries not yet acknowledged (including those being retried)."""
    retrying: int
    """Pending deliveries that failed at least once."""
    dead: int
    """Deliveries given up (kept for the retention period; replay re-sends them)."""
    delivered: int
    """Acknowledged deliveries still kept (retention)."""
    oldest_pending_at: datetime | None
    """When the oldest pending event was recorded: the lag is *now* minus this."""
    last_delivered_at: datetime | None


_INSERT_OUTBOX = "INSERT INTO webhook_outbox (uid, type, subject, payload, created_at) VALUES (?, ?, ?, ?, ?)"
_INSERT_DELIVERY = (
    "INSERT INTO webhook_delivery (subscriber, outbox_id, ordering_key, status, is_head, attempts, "
    "next_attempt_at, created_at) VALUES (?, ?, ?, 'pending', NOT EXISTS (SELECT 1 FROM webhook_delivery "
    "WHERE subscriber = ? AND ordering_key = ? AND status = 'pending'), 0, ?, ?)"
)
_QUEUE_LOCK = "SELECT pg_advisory_xact_lock(hashtext(%s))"
"""PostgreSQL: the lock of an ordering key — the subject's write lock (``Database.write``), so staging a
subject's delivery and promoting its next head (:func:`finish_deliveries`) never interleave."""
_QUEUE_LOCKS = (
    "SELECT count(pg_advisory_xact_lock(hashtext(k))) FROM "
    "(SELECT k FROM unnest(%s::text[]) AS k ORDER BY k COLLATE \"C\") AS ordered"
)
"""PostgreSQL: :data:`_QUEUE_LOCK` for many keys, taken one after the other in sorted order."""
_STAGE_SQL = {True: (_INSERT_OUTBOX, _INSERT_DELIVERY),
              False: (_INSERT_OUTBOX.replace("?", "%s") + " RETURNING id", _INSERT_DELIVERY.replace("?", "%s"))}


_FINISH = (
    "UPDATE webhook_delivery SET status = ?, attempts = attempts + 1, last_attempt_at = ?, next_attempt_at = ?, "
    "last_status = ?, last_error = ?, delivered_at = COALESCE(?, delivered_at), lease_owner = NULL, "
    "lease_until = NULL WHERE subscriber = ? AND outbox_id = ? AND lease_owner = ?"
)
_FINISH_SQL = {True: _FINISH, False: _FINISH.replace("?", "%s")}
_PROMOTE = (
    "UPDATE webhook_delivery SET is_head = TRUE WHERE subscriber = ? AND outbox_id = (SELECT min(outbox_id) "
    "FROM webhook_delivery WHERE subscriber = ? AND ordering_key = ? AND status = 'pending')"
)
_PROMOTE_SQL = {True: _PROMOTE, False: _PROMOTE.replace("?", "%s")}


def _driver_run(connection: Connection, statement: str, params: list[tuple[Any, ...]]) -> None:
    if len(params) == 1:
        execute_on(connection, statement, params[0])
    else:
        execute_on(connection, statement, params, many=True)


def stage(connection: Connection, records: Sequence[OutboxRecord]) -> None:
    """Insert the outbox and delivery rows of ``records`` in the caller's transaction.

    Plain SQL on one driver cursor, like the ledger's own statements (:mod:`bff.storage.hot`): it runs in
    every recording transaction, and SQLAlchemy Core's per-statement Python cost would halve SQLite's write
    throughput (measured with bench/webhooks.py). SQLite hands the new row's id back as ``lastrowid``
    (no ``RETURNING`` result to fetch)."""
    hot = hot_sql(connection)
    insert_outbox, insert_delivery = _STAGE_SQL[hot.sqlite]
    driver = connection.connection.driver_connection
    error = connection.dialect.loaded_dbapi.Error
    statement = insert_outbox  # the one a failure names
    try:
        cursor = driver.cursor()
        try:
            for record in records:
                if not record.subscribers:
                    continue
                created = hot.time(record.created_at)
                ordering = record.subject or "registry"
                if not hot.sqlite and record.subject is None:  # a subject's lock is held by its writer already
                    cursor.execute(statement := _QUEUE_LOCK, (ordering,))
                cursor.execute(statement := insert_outbox,
                               (record.uid, record.type, record.subject, record.payload.decode(), created))
                outbox_id = cursor.lastrowid if hot.sqlite else cursor.fetchone()[0]
                deliveries = [(name, outbox_id, ordering, name, ordering, created, created) for name in record.subscribers]
                statement = insert_delivery
                if len(deliveries) == 1:
                    cursor.execute(insert_delivery, deliveries[0])
                else:
                    cursor.executemany(insert_delivery, deliveries)
        finally:
            cursor.close()
    except error as exc:
        raise sa.exc.DBAPIError.instance(statement, (), exc, error, hide_parameters=True) from exc


def forget_subjects(connection: Connection, subjects: Iterable[str]) -> int:
    """Delete every outbox row (and its deliveries) of ``subjects``: an erasure keeps only its own event.
    Returns how many outbox rows went."""
    subjects = list(subjects)
    if not subjects:
        return 0
    ids = sa.select(_outbox.c.id).where(_outbox.c.subject.in_(subjects))
    connection.execute(sa.delete(_delivery).where(_delivery.c.outbox_id.in_(ids)))
    return connection.execute(sa.delete(_outbox).where(_outbox.c.subject.in_(subjects))).rowcount


_HAS_DUE = (
    "SELECT 1 FROM webhook_delivery WHERE status = 'pending' AND is_head = ? AND next_attempt_at <= ? "
    "AND (lease_until IS NULL OR lease_until < ?) LIMIT 1"
)


async def has_due(database: Database, now: datetime) -> bool:
    """Whether any delivery is due (a read: the idle dispatcher's poll, which must not take SQLite's write
    lock from the shoppers' writers ten times a second)."""
    hot = hot_sql_for(database.sqlite)
    moment = hot.time(now)
    return bool(await database.fetch_point(_HAS_DUE, (hot.flag(True), moment, moment)))


_CLAIM_WHERE = (
    "status = 'pending' AND is_head = {flag} AND subscriber IN ({names}) AND next_attempt_at <= {p} "
    "AND (lease_until IS NULL OR lease_until < {p}) ORDER BY outbox_id LIMIT {p}"
)
_CLAIM_SQLITE = (
    "UPDATE webhook_delivery SET lease_owner = ?, lease_until = ? WHERE rowid IN (SELECT rowid FROM "
    "webhook_delivery WHERE " + _CLAIM_WHERE.format(flag="1", names="{names}", p="?") + ") "
    "RETURNING subscriber, outbox_id, ordering_key, attempts, created_at"
)
_CLAIM_POSTGRES = (
    # Rows another dispatcher is claiming right now are skipped, not waited for; it leases them.
    "UPDATE webhook_delivery AS d SET lease_owner = %s, lease_until = %s FROM (SELECT subscriber, outbox_id "
    "FROM webhook_delivery WHERE " + _CLAIM_WHERE.format(flag="TRUE", names="{names}", p="%s")
    + " FOR UPDATE SKIP LOCKED) AS c WHERE d.subscriber = c.subscriber AND d.outbox_id = c.outbox_id "
    "RETURNING d.subscriber, d.outbox_id, d.ordering_key, d.attempts, d.created_at"
)
_OUTBOX_ROWS = "SELECT id, uid, type, payload FROM webhook_outbox WHERE id IN ({ids})"


def claim_due(
    connection: Connection,
    *,
    now: datetime,
    owner: str,
    lease_until: datetime,
    limit: int,
    subscribers: Sequence[str],
) -> list[DeliveryRow]:
    """Lease up to ``limit`` due deliveries to ``owner``: each the head of its subject's queue for its
    subscriber, not leased by a live dispatcher. Call in a write transaction of its own (the lease is what
    other dispatchers see once it commits).

    Plain SQL, one ``UPDATE ... RETURNING`` and one ``SELECT`` of the events: it runs in the database's one
    writer turn on SQLite, beside the shoppers' writes, and through SQLAlchemy Core it cost about three
    times as much per delivery (18 µs; measured on 256-row claims)."""
    if not subscribers or limit <= 0:
        return []
    hot = hot_sql(connection)
    mark = "?" if hot.sqlite else "%s"
    names = ", ".join([mark] * len(subscribers))
    moment = hot.time(now)
    claim = (_CLAIM_SQLITE if hot.sqlite else _CLAIM_POSTGRES).replace("{names}", names)
    leased = execute_on(connection, claim, (owner, hot.time(lease_until), *subscribers, moment, moment, limit),
                        fetch=True)
    if not leased:
        return []
    ids = sorted({row[1] for row in leased})
    events = {
        row[0]: row[1:]
        for row in execute_on(connection, _OUTBOX_ROWS.format(ids=", ".join([mark] * len(ids))), tuple(ids),
                              fetch=True)
    }
    rows = []
    for subscriber, outbox_id, ordering_key, attempts, created_at in sorted(leased, key=lambda row: row[1]):
        uid, kind, payload = events[outbox_id]
        if isinstance(created_at, str):  # SQLite hands timestamps back as SQLAlchemy stored them
            created_at = datetime.fromisoformat(created_at)
        rows.append(DeliveryRow(subscriber=subscriber, outbox_id=outbox_id, ordering_key=ordering_key, uid=uid,
                                type=kind, payload=payload, attempts=attempts, created_at=as_utc(created_at)))
    return rows


def finish_deliveries(connection: Connection, owner: str, states: Sequence[DeliveryState]) -> int:
    """Write back attempts made under ``owner``'s lease and release it. A delivery whose lease was taken
    over meanwhile (``owner`` too slow) is left to its new holder. Plain SQL, one ``executemany``: it runs
    for every delivery, in the same writer as the shoppers' writes on SQLite."""
    if not states:
        return 0
    hot = hot_sql(connection)
    params = [
        (
            state.status,
            hot.time(state.attempted_at),
            hot.time(state.next_attempt_at),
            state.last_status,
            state.last_error[:500] if state.last_error else None,
            hot.time(state.attempted_at) if state.status == DELIVERED else None,
            state.subscriber,
            state.outbox_id,
            owner,
        )
        for state in states
    ]
    finished = sorted({(s.subscriber, s.ordering_key) for s in states if s.status != PENDING})
    if not hot.sqlite and finished:
        # Every queue's lock in one statement, in the writers' order (code point order: COLLATE "C"), so no
        # deadlock; one round trip per queue made finishing a 512-row claim on a busy server take ~0.5 s.
        keys = sorted({ordering for _, ordering in finished})
        _driver_run(connection, _QUEUE_LOCKS, [(keys,)])
    _driver_run(connection, _FINISH_SQL[hot.sqlite], params)
    if finished:
        # The queue's next pending delivery becomes its head (if the finished one kept its pending state
        # because its lease was taken over, it is still the oldest, and stays the head).
        _driver_run(connection, _PROMOTE_SQL[hot.sqlite], [(sub, sub, key) for sub, key in finished])
    return len(params)


def replay(
    connection: Connection,
    subscriber: str,
    *,
    now: datetime,
    from_id: int | None = None,
    to_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> int:
    """Make the subscriber's deliveries in the range (outbox ids ``from_id``..``to_id`` and/or recorded
    ``since``..``until``, inclusive) pending again, due now. Returns how many."""
    if connection.dialect.name == "postgresql":
        # Replay recomputes every queue head of the subscriber. A write staging a delivery meanwhile (it
        # decides its row's is_head from the pending rows it sees) or a dispatcher promoting a head could
        # leave a queue with two heads, and a subject's later event would go out beside an earlier one. The
        # table lock makes them wait for this (rare, short) transaction; reads go on. SQLite: the one writer.
        connection.exec_driver_sql("LOCK TABLE webhook_delivery IN EXCLUSIVE MODE")
    conditions = [_delivery.c.subscriber == subscriber]
    if from_id is not None:
        conditions.append(_delivery.c.outbox_id >= from_id)
    if to_id is not None:
        conditions.append(_delivery.c.outbox_id <= to_id)
    if since is not None:
        conditions.append(_delivery.c.created_at >= since)
    if until is not None:
        conditions.append(_delivery.c.created_at <= until)
    count = connection.execute(
        sa.update(_delivery)
        .where(*conditions)
        .values(status=PENDING, attempts=0, next_attempt_at=now, lease_owner=None, lease_until=None,
                delivered_at=None)
    ).rowcount
    # Older deliveries are pending again: each queue's head is its oldest pending one.
    q = _delivery.alias("q")
    heads = (
        sa.select(sa.func.min(q.c.outbox_id))
        .where(q.c.subscriber == subscriber, q.c.status == _IS_PENDING)
        .group_by(q.c.ordering_key)
        .scalar_subquery()
    )
    connection.execute(sa.update(_delivery).where(_delivery.c.subscriber == subscriber).values(is_head=False))
    connection.execute(
        sa.update(_delivery)
        .where(_delivery.c.subscriber == subscriber, _delivery.c.status == _IS_PENDING,
               _delivery.c.outbox_id.in_(heads))
        .values(is_head=True)
    )
    return count


def prune(connection: Connection, *, before: datetime) -> tuple[int, int]:
    """Delete deliveries finished (delivered or dead) before ``before`` and outbox rows recorded before it
    that no delivery refers to any more. Returns ``(deliveries, outbox rows)`` deleted."""
    finished_at = sa.func.coalesce(_delivery.c.delivered_at, _delivery.c.last_attempt_at)
    deliveries = connection.execute(
        sa.delete(_delivery).where(_delivery.c.status.in_([DELIVERED, DEAD]), finished_at < before)
    ).rowcount
    referenced = sa.select(sa.literal(1)).where(_delivery.c.outbox_id == _outbox.c.id).exists()
    outbox = connection.execute(
        sa.delete(_outbox).where(_outbox.c.created_at < before, ~referenced)
    ).rowcount
    return deliveries, outbox


def subscriber_lag(connection: Connection) -> dict[str, SubscriberLag]:
    """Queue figures per subscriber that has deliveries."""
    d = _delivery.c
    rows = connection.execute(
        sa.select(
            d.subscriber,
            sa.func.sum(sa.case((d.status == PENDING, 1), else_=0)),
            sa.func.sum(sa.case((sa.and_(d.status == PENDING, d.attempts > 0), 1), else_=0)),
            sa.func.sum(sa.case((d.status == DEAD, 1), else_=0)),
            sa.func.sum(sa.case((d.status == DELIVERED, 1), else_=0)),
            sa.func.min(sa.case((d.status == PENDING, d.created_at), else_=None)),
            sa.func.max(d.delivered_at),
        ).group_by(d.subscriber)
    ).all()
    return {
        row[0]: SubscriberLag(
            subscriber=row[0],
            pending=int(row[1] or 0),
            retrying=int(row[2] or 0),
            dead=int(row[3] or 0),
            delivered=int(row[4] or 0),
            oldest_pending_at=as_utc(row[5]) if row[5] is not None else None,
            last_delivered_at=as_utc(row[6]) if row[6] is not None else None,
        )
        for row in rows
    }


def failing_deliveries(connection: Connection, *, limit: int, subscriber: str | None = None) -> list[Any]:
    """Deliveries that failed at least once and are not delivered (retrying or dead), oldest first; no
    subject (the operator needs the event id, type and error)."""
    query = (
        sa.select(
            _delivery.c.subscriber,
            _delivery.c.outbox_id,
            _outbox.c.uid,
            _outbox.c.type,
            _delivery.c.status,
            _delivery.c.attempts,
            _delivery.c.created_at,
            _delivery.c.last_attempt_at,
            _delivery.c.next_attempt_at,
            _delivery.c.last_status,
            _delivery.c.last_error,
        )
        .join(_outbox, _outbox.c.id == _delivery.c.outbox_id)
        .where(_delivery.c.status != DELIVERED, _delivery.c.attempts > 0)
        .order_by(_delivery.c.outbox_id)
        .limit(limit)
    )
    if subscriber is not None:
        query = query.where(_delivery.c.subscriber == subscriber)
    return list(connection.execute(query).all())


def delivery_rows(connection: Connection, subscriber: str | None = None) -> list[Any]:
    """Every delivery row with its outbox type and subject (tests and the CLI)."""
    query = (
        sa.select(_delivery, _outbox.c.type, _outbox.c.subject, _outbox.c.uid)
        .join(_outbox, _outbox.c.id == _delivery.c.outbox_id)
        .order_by(_delivery.c.outbox_id)
    )
    if subscriber is not None:
        query = query.where(_delivery.c.subscriber == subscriber)
    return list(connection.execute(query).all())
