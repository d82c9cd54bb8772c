"""The insights as a plugin: the admin endpoints, the conversions endpoint, and the rule that a reported order
stops naming its shopper once they withdraw the conversion purpose."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from ..events import ChangeEvent, Event
from ..plugins import PluginSetup, PrefkitPlugin
from ..storage.conversions import unlink_subjects
from ..storage.insights import max_event_id
from .api import INDEX_STATE_KEY, ConversionsController, InsightsController
from .index import LedgerIndex

__all__ = ["InsightsPlugin"]

logger = logging.getLogger("prefkit.insights")


class InsightsPlugin(PrefkitPlugin):
    """``/api/v1/admin/insights*`` and ``POST /api/v1/conversions`` (in :func:`bff.app.default_plugins`)."""

    def on_prefkit_init(self, setup: PluginSetup) -> None:
        service = setup.service
        index = LedgerIndex()
        setup.set_state(INDEX_STATE_KEY, index)
        setup.add_route_handlers(InsightsController, ConversionsController)

        def read_max_id() -> int:
            with service.database.read() as connection:
                return max_event_id(connection)

        async def on_change(event: Event) -> None:
            if isinstance(event, ChangeEvent) and event.method == "erasure":
                # The erased subjects leave the index at once (their earlier counts stay: they name nobody).
                index.forget(
                    [event.subject, *event.linked_subjects], await service.database.offload.call(read_max_id)
                )
                return
            # A withdrawal (or an expiry / GPC override) of the conversion purpose ends the link of the
            # shopper's orders: they stay counted, as unattributed. (Erasure unlinks in its own transaction.)
            if not isinstance(event, ChangeEvent) or not event.changes:
                return
            insights = service.registry.current.document.insights
            purpose = insights.conversion_purpose if insights is not None else None
            if purpose is None:
                return
            snapshot = service.registry.current
            keys = {c.key for c in snapshot.consents() if c.purpose == purpose}
            if any(change.key in keys and change.new_value is not True for change in event.changes):
                subjects = [event.subject, *event.linked_subjects]
                await service.database.run_write_async(subjects, lambda c: unlink_subjects(c, subjects))

        def warm() -> None:
            try:
                with service.database.read() as connection:
                    index.refresh(connection)
            except Exception as exc:  # noqa: BLE001 - the first report folds in what is missing instead
                logger.warning("insights index not warmed at start-up: %s", type(exc).__name__)

        @asynccontextmanager
        async def listen(_app: Any) -> AsyncIterator[None]:
            unsubscribe = service.events.subscribe(on_change)
            # Fold the ledger in while the app serves, so the first report does not pay for it (seconds for a
            # million events); a report meanwhile waits for the index's lock, then reads only what is new.
            warming = asyncio.ensure_future(service.database.offload.call(warm))
            try:
                yield
            finally:
                unsubscribe()
                if not warming.done():
                    warming.cancel()
                with contextlib.suppress(BaseException):
                    await warming

        setup.add_lifespan(listen)
