"""Operator endpoints of the webhooks (``X-Admin-Key``, like every ``/api/v1/admin`` endpoint):

* ``GET  /api/v1/admin/webhooks`` — every subscriber with its queue: pending, retrying, dead, lag;
* ``GET  /api/v1/admin/webhooks/failing?subscriber=&limit=`` — deliveries that failed, with the last error;
* ``POST /api/v1/admin/webhooks/{name}/replay`` — re-send a range: ``{"from_id": 10, "to_id": 20}`` and/or
  ``{"since": "2026-12-01T00:00:00Z", "until": ...}`` (outbox ids are the bodies' ``sequence``).

No subject appears in these answers: an operator needs event ids, types and errors.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery, JSONBody
from msgspec import Meta

from ..api.problems import ProblemError
from ..api.system import require_admin
from ..storage.outbox import failing_deliveries, replay, subscriber_lag
from ..storage.times import as_utc
from .config import WebhookConfig

__all__ = ["FailingDelivery", "ReplayRequest", "SubscriberStatus", "WebhooksAdminController", "WEBHOOKS_STATE_KEY"]

WEBHOOKS_STATE_KEY = "prefkit_webhooks"
"""``app.state`` key of the running :class:`~bff.webhooks.WebhookConfig`."""


class SubscriberStatus(msgspec.Struct, frozen=True, kw_only=True):
    """A subscriber and its queue."""

    name: str
    url: str
    events: tuple[str, ...]
    keys: tuple[str, ...]
    pending: int
    """Deliveries not acknowledged yet."""
    retrying: int
    """Pending deliveries that failed at least once."""
    dead: int
    """Deliveries given up after the retry window (replay re-sends them)."""
    delivered: int
    """Acknowledged deliveries still kept (retention)."""
    lag_seconds: float
    """Age of the oldest pending event (0 when nothing is pending)."""
    oldest_pending_at: datetime | None
    last_delivered_at: datetime | None


class FailingDelivery(msgspec.Struct, frozen=True, kw_only=True):
    """A delivery that failed at least once and is not delivered."""

    subscriber: str
    sequence: int
    """The outbox id (``sequence`` in the body; replay ranges use it)."""
    webhook_id: str
    type: str
    status: str
    """``pending`` (will be retried at ``next_attempt_at``) or ``dead``."""
    attempts: int
    recorded_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None


class ReplayRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The range to re-send (inclusive bounds; at least one)."""

    from_id: Annotated[int, Meta(ge=1)] | None = None
    to_id: Annotated[int, Meta(ge=1)] | None = None
    since: datetime | None = None
    until: datetime | None = None


def _config(request: Request[Any, Any, Any]) -> WebhookConfig:
    return request.app.state[WEBHOOKS_STATE_KEY]


class WebhooksAdminController(Controller):
    """Needs ``X-Admin-Key`` = ``PREFKIT_ADMIN_KEY``."""

    path = "/api/v1/admin/webhooks"
    tags = ["admin"]

    @get("/", summary="Webhook subscribers with their queue and lag")
    async def subscribers(self, request: Request[Any, Any, Any]) -> list[SubscriberStatus]:
        require_admin(request)
        config = _config(request)
        service = request.app.state.prefkit

        def read() -> Any:
            with service.database.read() as connection:
                return subscriber_lag(connection)

        lags = await service.database.offload.call(read)
        now = service.clock()
        answer = []
        for subscriber in config.subscribers:
            lag = lags.get(subscriber.name)
            oldest = lag.oldest_pending_at if lag else None
            answer.append(
                SubscriberStatus(
                    name=subscriber.name,
                    url=subscriber.url.split("?", 1)[0],  # a query may carry a receiver's token
                    events=subscriber.events,
                    keys=subscriber.keys,
                    pending=lag.pending if lag else 0,
                    retrying=lag.retrying if lag else 0,
                    dead=lag.dead if lag else 0,
                    delivered=lag.delivered if lag else 0,
                    lag_seconds=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
                    oldest_pending_at=oldest,
                    last_delivered_at=lag.last_delivered_at if lag else None,
                )
            )
        return answer

    @get("/failing", summary="Deliveries that failed (retrying or dead), with the last error")
    async def failing(
        self,
        request: Request[Any, Any, Any],
        subscriber: FromQuery[str | None] = None,
        limit: FromQuery[Annotated[int, Meta(ge=1, le=1000)]] = 100,
    ) -> list[FailingDelivery]:
        require_admin(request)
        if subscriber is not None and _config(request).subscriber(subscriber) is None:
            raise ProblemError(404, "not-found", f"no webhook subscriber {subscriber[:64]!r}")
        service = request.app.state.prefkit

        def read() -> Any:
            with service.database.read() as connection:
                return failing_deliveries(connection, limit=limit, subscriber=subscriber)

        rows = await service.database.offload.call(read)
        return [
            FailingDelivery(
                subscriber=row.subscriber,
                sequence=row.outbox_id,
                webhook_id=f"evt_{row.uid}",
                type=row.type,
                status=row.status,
                attempts=row.attempts,
                recorded_at=as_utc(row.created_at),
                last_attempt_at=as_utc(row.last_attempt_at) if row.last_attempt_at else None,
                next_attempt_at=as_utc(row.next_attempt_at) if row.status != "dead" else None,
                last_status=row.last_status,
                last_error=row.last_error,
            )
            for row in rows
        ]

    @post("/{name:str}/replay", summary="Re-send a subscriber's deliveries in a range of ids or times",
          status_code=200)
    async def replay(
        self, request: Request[Any, Any, Any], name: FromPath[str], data: JSONBody[ReplayRequest]
    ) -> dict[str, int]:
        require_admin(request)
        if _config(request).subscriber(name) is None:
            raise ProblemError(404, "not-found", f"no webhook subscriber {name[:64]!r}")
        if data.from_id is None and data.to_id is None and data.since is None and data.until is None:
            raise ProblemError(
                400, "invalid-request",
                "say what to replay: from_id/to_id (the bodies' sequence) and/or since/until (times)",
            )
        service = request.app.state.prefkit
        now = service.clock()
        since = as_utc(data.since) if data.since else None
        until = as_utc(data.until) if data.until else None
        count = await service.database.run_write_async(
            [],
            lambda connection: replay(connection, name, now=now, from_id=data.from_id, to_id=data.to_id,
                                      since=since, until=until),
        )
        dispatcher = request.app.state.get("prefkit_webhooks_dispatcher")
        if dispatcher is not None:
            dispatcher.wake()
        return {"replayed": count}
