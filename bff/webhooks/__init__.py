"""Signed webhooks from a transactional outbox: every recorded change reaches downstream systems.

Every write transaction that appends to the ledger (and every erasure and registry activation) stages its
event in ``webhook_outbox`` / ``webhook_delivery`` before it commits (:class:`OutboxStager`, installed on
:attr:`bff.service.PreferenceService.outbox` by :class:`WebhooksPlugin`), so an acknowledged write without
its outbox record cannot exist. :class:`Dispatcher` (in the BFF and/or ``prefkit dispatch``) delivers it:
signed per Standard Webhooks, retried with backoff for at least 24 h, then dead-lettered; ordered per
subject and subscriber; leased so that dispatchers never double-send. Subscribers are deployment
configuration (:mod:`bff.webhooks.config`); the wire format is :mod:`bff.webhooks.wire`; operators have
``/api/v1/admin/webhooks`` (:mod:`bff.webhooks.admin`). See docs/bff.md, "Webhooks".
"""

from __future__ import annotations

from .config import EVENT_TYPES, DispatchPolicy, Subscriber, WebhookConfig, WebhookConfigError, load_webhooks, parse_webhooks
from .dispatcher import Dispatcher
from .plugin import OutboxStager, WebhooksPlugin, webhooks_plugins
from .wire import event_type, render_body, sign_headers

__all__ = [
    "EVENT_TYPES",
    "DispatchPolicy",
    "Dispatcher",
    "OutboxStager",
    "Subscriber",
    "WebhookConfig",
    "WebhookConfigError",
    "WebhooksPlugin",
    "event_type",
    "load_webhooks",
    "parse_webhooks",
    "render_body",
    "sign_headers",
    "webhooks_plugins",
]
