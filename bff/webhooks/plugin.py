"""The webhooks as a plugin: the outbox hook on the service, the admin endpoints, a dispatcher in the BFF."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.engine import Connection

from ..events import ChangeEvent, Event
from ..settings import Settings
from ..plugins import PluginSetup, PrefkitPlugin
from ..storage.outbox import forget_subjects, stage
from .admin import WEBHOOKS_STATE_KEY, WebhooksAdminController
from .config import WebhookConfig, load_webhooks
from .dispatcher import Dispatcher
from .wire import outbox_records

__all__ = ["DISPATCHER_STATE_KEY", "OutboxStager", "WebhooksPlugin", "webhooks_plugins"]

DISPATCHER_STATE_KEY = "prefkit_webhooks_dispatcher"


class OutboxStager:
    """The service's outbox hook: called with the connection and the events of every write transaction
    before it commits, it stages their outbox rows (and, for an erasure, first deletes the erased subjects'
    earlier outbox rows: only the erasure's identifiers remain)."""

    def __init__(self, config: WebhookConfig) -> None:
        self.config = config

    def __call__(self, connection: Connection, events: Sequence[Event]) -> None:
        for event in events:
            if isinstance(event, ChangeEvent) and event.method == "erasure":
                forget_subjects(connection, [event.subject, *event.linked_subjects])
        stage(connection, outbox_records(self.config, events))


class WebhooksPlugin(PrefkitPlugin):
    """Signed webhooks to ``config``'s subscribers (added by :func:`bff.app.default_plugins` when
    ``PREFKIT_WEBHOOKS`` names a file)."""

    def __init__(self, config: WebhookConfig, *, run_dispatcher: bool = True) -> None:
        self.config = config
        self.run_dispatcher = run_dispatcher
        """Run a dispatcher in the app's event loop (when ``dispatch.in_bff``); ``False`` when another
        process delivers (``prefkit serve``'s own dispatcher process)."""

    def on_prefkit_init(self, setup: PluginSetup) -> None:
        service = setup.service
        service.outbox = OutboxStager(self.config)
        setup.set_state(WEBHOOKS_STATE_KEY, self.config)
        setup.add_route_handlers(WebhooksAdminController)
        if not (self.run_dispatcher and self.config.policy.in_bff and self.config.subscribers):
            return
        dispatcher = Dispatcher(service.database, self.config, clock=service.clock)
        setup.set_state(DISPATCHER_STATE_KEY, dispatcher)

        @asynccontextmanager
        async def run_dispatcher(_app: Any) -> AsyncIterator[None]:
            stop = asyncio.Event()
            # Woken by every commit (after it), so a change goes out at once rather than at the next poll.
            unsubscribe = service.events.subscribe(dispatcher.wake, loop=asyncio.get_running_loop())
            task = asyncio.create_task(dispatcher.run(stop), name="prefkit-webhooks")
            try:
                yield
            finally:
                unsubscribe()
                stop.set()
                try:
                    await asyncio.wait_for(task, timeout=self.config.policy.timeout_seconds + 10)
                except (asyncio.TimeoutError, asyncio.CancelledError):
                    task.cancel()
                await dispatcher.close()

        setup.add_lifespan(run_dispatcher)


def webhooks_plugins(settings: Settings) -> list[PrefkitPlugin]:
    """``[WebhooksPlugin]`` when ``settings.webhooks_file`` names a file with subscribers, else ``[]``: no
    subscriber, no outbox rows and no dispatcher. A broken file is a :class:`WebhookConfigError` (a
    ``ValueError``: the app does not start)."""
    if not settings.webhooks_file:
        return []
    config = load_webhooks(settings.webhooks_file)
    if not config.subscribers:
        return []
    return [WebhooksPlugin(config, run_dispatcher=settings.webhook_dispatcher_in_app)]
