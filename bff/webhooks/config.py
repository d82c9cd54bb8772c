"""Webhook subscribers and the delivery policy: deployment configuration, never registry content.

A TOML file named by ``PREFKIT_WEBHOOKS`` (``Settings.webhooks_file``; ``prefkit dispatch --webhooks``)::

    [dispatch]                      # optional; these are the defaults
    timeout_seconds = 10            # per attempt (connect + send + answer)
    retry_window_hours = 24         # retried with backoff for this long (at least 24), then dead-lettered
    first_retry_seconds = 5         # first backoff; doubles per failure, with jitter
    max_retry_interval_seconds = 3600
    retention_hours = 168           # delivered / dead deliveries are pruned this long after they finished
    in_bff = true                   # the BFF delivers too; false: only `prefkit dispatch` processes do

    [[subscribers]]
    name = "crm"                               # [a-z0-9_-], shown to operators
    url = "https://crm.example/hooks/prefkit"  # http(s); redirects are not followed
    secret_env = "PREFKIT_WEBHOOK_SECRET_CRM"  # the variable holding the signing secret (whsec_<base64>)
    events = ["preference.*", "subject.erased"]  # event types (globs); default every type
    keys = ["newsletter"]                      # preference keys; default every key

Secrets come from the environment only (the file can be committed); a missing, non-base64 or too short
secret refuses the start with the variable's name. Shoppers can neither add nor see subscribers.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import msgspec
from msgspec import Meta

__all__ = [
    "EVENT_TYPES",
    "DispatchPolicy",
    "Subscriber",
    "WebhookConfig",
    "WebhookConfigError",
    "check_secret",
    "check_url",
    "load_webhooks",
    "parse_webhooks",
]

EVENT_TYPES: tuple[str, ...] = (
    "preference.ui",
    "preference.api",
    "preference.accept_all",
    "preference.reject_all",
    "preference.expiry",
    "preference.gpc",
    "preference.merge",
    "subject.erased",
    "registry.activated",
)
"""Every event type a subscriber can ask for (``preference.<ledger method>``, erasure, activation)."""

MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64
"""Standard Webhooks: a symmetric secret of 24 to 64 random bytes."""


class WebhookConfigError(ValueError):
    """The webhook file cannot be used; the message names the field or variable to fix."""


class DispatchPolicy(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How deliveries are attempted, retried and kept."""

    timeout_seconds: Annotated[float, Meta(gt=0, le=120)] = 10.0
    """Seconds one attempt may take, answer included; then it counts as failed."""
    retry_window_hours: Annotated[float, Meta(ge=24, le=24 * 30)] = 24.0
    """A failing delivery is retried for this long after its event was recorded, then it is dead."""
    first_retry_seconds: Annotated[float, Meta(gt=0, le=3600)] = 5.0
    """Backoff after the first failure; doubled per further failure, full jitter down to half."""
    max_retry_interval_seconds: Annotated[float, Meta(gt=0, le=24 * 3600)] = 3600.0
    """Longest wait between two attempts."""
    retention_hours: Annotated[float, Meta(ge=0, le=24 * 365)] = 168.0
    """Delivered and dead deliveries (and their outbox rows) are pruned this long after they finished."""
    batch_size: Annotated[int, Meta(ge=1, le=1000)] = 512
    """Deliveries one dispatcher claims at once and has in flight at most (over at most 64 connections per
    subscriber). With a claim at most every 100 ms while busy, this bounds one dispatcher's rate; the
    default is above what one BFF process writes on SQLite (bench/webhooks.py)."""
    poll_interval_seconds: Annotated[float, Meta(gt=0, le=60)] = 0.1
    """How often an idle dispatcher looks for due deliveries (one indexed read, no write; a dispatcher in the
    BFF's event loop is also woken by each commit). The delivery lag of a dispatcher process is this plus
    the POST."""
    use_env_proxy: bool = False
    """Send through ``HTTP(S)_PROXY`` from the environment (off: straight to the subscriber)."""
    in_bff: bool = True
    """The BFF runs a dispatcher; ``false`` when only separately started ``prefkit dispatch`` processes deliver."""
    process: bool = True
    """``prefkit serve`` runs the BFF's dispatcher as a child process of its own, one for all its workers
    (its CPU then comes from another core than the shoppers' requests: bench/webhooks.py); ``false``: each
    worker runs one in its event loop, woken by each commit. An app built with ``create_app`` outside
    ``prefkit serve`` always runs it in its event loop."""

    lease_seconds: Annotated[float, Meta(gt=0, le=3600)] | None = None
    """How long a claimed delivery stays with its dispatcher (default: 3 x the timeout + 30 s). Longer than
    an attempt, so a live dispatcher never loses a delivery it is sending; a killed one's deliveries are
    sent again this long after it claimed them."""

    def __post_init__(self) -> None:
        if self.lease_seconds is not None and self.lease_seconds <= self.timeout_seconds:
            raise ValueError(f"lease_seconds ({self.lease_seconds:g}) must exceed timeout_seconds "
                             f"({self.timeout_seconds:g}): a lease must outlast the attempt it covers")

    @property
    def lease(self) -> float:
        """:attr:`lease_seconds` or its default."""
        return self.lease_seconds if self.lease_seconds is not None else self.timeout_seconds * 3 + 30


class Subscriber(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One downstream system."""

    name: Annotated[str, Meta(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
    """Its name (operators see it; deliveries are stored under it)."""
    url: Annotated[str, Meta(max_length=2000)]
    """Where events are POSTed (``http`` or ``https``)."""
    secret_env: Annotated[str, Meta(pattern=r"^[A-Z_][A-Z0-9_]{0,127}$")]
    """Environment variable holding its signing secret (``whsec_`` + base64 of 24..64 random bytes)."""
    events: tuple[str, ...] = ("*",)
    """Event types it wants (:data:`EVENT_TYPES`; ``*`` globs allowed)."""
    keys: tuple[str, ...] = ()
    """Preference keys it wants (empty: all). Change events carry only these keys; an erasure always goes."""

    def wants_type(self, event_type: str) -> bool:
        return any(fnmatch.fnmatchcase(event_type, pattern) for pattern in self.events)


class _File(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    dispatch: DispatchPolicy = DispatchPolicy()
    subscribers: tuple[Subscriber, ...] = ()


class WebhookConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Subscribers with their secrets resolved, and the policy."""

    subscribers: tuple[Subscriber, ...] = ()
    policy: DispatchPolicy = DispatchPolicy()
    secrets: Mapping[str, str] = msgspec.field(default_factory=dict)
    """Subscriber name -> signing secret (never printed: see ``__repr__``)."""

    def __repr__(self) -> str:
        return f"WebhookConfig(subscribers={[s.name for s in self.subscribers]!r}, policy={self.policy!r})"

    def subscriber(self, name: str) -> Subscriber | None:
        return next((s for s in self.subscribers if s.name == name), None)


def check_secret(variable: str, value: str | None) -> str:
    """``value`` if it is a usable signing secret, else :class:`WebhookConfigError` naming ``variable``."""
    if not value:
        raise WebhookConfigError(f"{variable} is not set; it must hold the subscriber's signing secret "
                                 "(whsec_ + base64 of 24..64 random bytes)")
    raw = value[len("whsec_"):] if value.startswith("whsec_") else value
    try:
        decoded = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise WebhookConfigError(f"{variable} is not base64 (expected whsec_<base64>)") from None
    if not MIN_SECRET_BYTES <= len(decoded) <= MAX_SECRET_BYTES:
        raise WebhookConfigError(
            f"{variable} decodes to {len(decoded)} bytes; a signing secret has {MIN_SECRET_BYTES} to "
            f"{MAX_SECRET_BYTES} random bytes, e.g. `python -c 'import base64, secrets; "
            "print(\"whsec_\" + base64.b64encode(secrets.token_bytes(32)).decode())'`"
        )
    return value


def check_url(where: str, url: str) -> None:
    """Refuse what is not an ``http(s)://host...`` URL without credentials (:class:`WebhookConfigError`)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        host = None
    if host is None or parts.scheme not in ("http", "https"):
        raise WebhookConfigError(f"{where}: expected an http(s) URL with a host, got {url[:200]!r}")
    if parts.username or parts.password:
        raise WebhookConfigError(f"{where}: credentials do not belong in the URL (events are signed)")


def _check_subscriber(index: int, subscriber: Subscriber) -> None:
    where = f"subscribers[{index}]"
    check_url(f"{where}.url", subscriber.url)
    for position, pattern in enumerate(subscriber.events):
        if not any(fnmatch.fnmatchcase(event_type, pattern) for event_type in EVENT_TYPES):
            raise WebhookConfigError(
                f"{where}.events[{position}]: {pattern!r} matches no event type; expected one of "
                + ", ".join(EVENT_TYPES)
            )


def parse_webhooks(text: str, environ: Mapping[str, str] | None = None, *, source: str = "webhooks") -> WebhookConfig:
    """The configuration in TOML ``text``, secrets read from ``environ`` (default ``os.environ``)."""
    env = os.environ if environ is None else environ
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise WebhookConfigError(f"{source}: not TOML: {exc}") from None
    try:
        parsed = msgspec.convert(document, _File)
    except msgspec.ValidationError as exc:
        raise WebhookConfigError(f"{source}: {exc}") from None
    names: set[str] = set()
    secrets: dict[str, str] = {}
    for index, subscriber in enumerate(parsed.subscribers):
        if subscriber.name in names:
            raise WebhookConfigError(f"{source}: subscribers[{index}].name: {subscriber.name!r} is used twice")
        names.add(subscriber.name)
        try:
            _check_subscriber(index, subscriber)
        except WebhookConfigError as exc:
            raise WebhookConfigError(f"{source}: {exc}") from None
        secrets[subscriber.name] = check_secret(subscriber.secret_env, env.get(subscriber.secret_env))
    return WebhookConfig(subscribers=parsed.subscribers, policy=parsed.dispatch, secrets=secrets)


def load_webhooks(path: str | Path, environ: Mapping[str, str] | None = None) -> WebhookConfig:
    """:func:`parse_webhooks` of the file at ``path``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise WebhookConfigError(f"cannot read webhook configuration {path}: {exc}") from None
    return parse_webhooks(text, environ, source=str(path))
