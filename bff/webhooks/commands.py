"""What the ``prefkit dispatch`` and ``prefkit webhooks test`` commands run (the CLI only parses options)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import uuid
from datetime import UTC, datetime

import msgspec

from ..storage import Database
from .config import DispatchPolicy, Subscriber, WebhookConfig
from .dispatcher import Attempt, Dispatcher, http_client, post
from .wire import render_body, sign_headers

__all__ = ["SAMPLE_TYPE", "run_dispatcher", "send_sample"]

logger = logging.getLogger("prefkit.webhooks")

SAMPLE_TYPE = "webhook.test"
"""Type of the sample event ``prefkit webhooks test`` sends (receivers should accept and ignore it)."""


PARENT_CHECK_SECONDS = 1.0
"""How often a dispatcher started by ``prefkit serve`` checks that ``serve`` still runs."""


def run_dispatcher(database: Database, config: WebhookConfig, *, parent_pid: int | None = None) -> None:
    """Deliver until SIGTERM or SIGINT, or (``parent_pid``) until that process is gone: ``prefkit serve``
    killed with SIGKILL cannot stop its dispatcher, which then stops by itself. Sends in flight are finished
    and recorded first."""

    async def watch_parent(stop: asyncio.Event) -> None:
        while not stop.is_set():
            if os.getppid() != parent_pid:  # re-parented: serve is gone
                logger.warning("prefkit serve (pid %s) is gone: the webhook dispatcher stops", parent_pid)
                stop.set()
                return
            try:
                await asyncio.wait_for(stop.wait(), PARENT_CHECK_SECONDS)
            except TimeoutError:
                pass

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        watcher = asyncio.create_task(watch_parent(stop)) if parent_pid is not None else None
        dispatcher = Dispatcher(database, config)
        logger.info("webhook dispatcher %s delivering to %s", dispatcher.owner,
                    ", ".join(s.name for s in config.subscribers))
        try:
            await dispatcher.run(stop)
        finally:
            await dispatcher.close()
            if watcher is not None:
                watcher.cancel()

    asyncio.run(main())


def send_sample(url: str, secret: str, *, timeout: float = 10.0) -> tuple[str, Attempt]:
    """POST one signed sample event to ``url``; returns its ``webhook-id`` and the outcome."""
    subscriber = Subscriber(name="test", url=url, secret_env="UNUSED")
    config = WebhookConfig(subscribers=(subscriber,), policy=DispatchPolicy(timeout_seconds=timeout),
                           secrets={"test": secret})
    now = datetime.now(UTC)
    data = msgspec.json.encode({"message": "a sample event from `prefkit webhooks test`", "at": now.isoformat()})
    body = render_body(subscriber, SAMPLE_TYPE, 0, now, data.decode())
    message_id = f"evt_{uuid.uuid4().hex}"
    headers = sign_headers(secret, message_id, body)

    async def send() -> Attempt:
        async with http_client(config.policy) as client:
            return await post(client, url, headers, body, timeout)

    return message_id, asyncio.run(send())
