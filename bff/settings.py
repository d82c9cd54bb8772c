"""BFF configuration, read from the environment (``PREFKIT_*``) once at start."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .origins import normalize_origins

__all__ = ["MIN_SECRET_LENGTH", "Settings", "SettingsError"]

MIN_SECRET_LENGTH = 32
"""Shortest accepted signing secret (characters); HMAC keys shorter than this are guessable offline."""


_MIN_DISTINCT_SECRET_CHARACTERS = 10
"""A random 32-character secret has ~25 distinct characters; fewer than this means it is not random."""


class SettingsError(ValueError):
    """The environment does not describe a BFF that may start; the message says what to set."""


def _check_secret(name: str, value: str) -> None:
    """Refuse a set but weak secret or key: shorter than :data:`MIN_SECRET_LENGTH` (32 random characters
    carry at least 128 bits), or long but a placeholder. Empty is the caller's business (it disables the
    feature, except for ``PREFKIT_SECRET``)."""
    if not value:
        return
    if len(value) < MIN_SECRET_LENGTH:
        raise SettingsError(
            f"{name} has only {len(value)} characters; use at least {MIN_SECRET_LENGTH} random characters "
            "(128 bits or more), e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`, "
            "or leave it unset"
        )
    # Long but not random ("xxxx...", "changemechangeme..."): a placeholder someone forgot to replace.
    if len(set(value)) < _MIN_DISTINCT_SECRET_CHARACTERS:
        raise SettingsError(
            f"{name} looks like a placeholder (only {len(set(value))} different "
            f"characters); use {MIN_SECRET_LENGTH} or more random characters"
        )


def _bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise SettingsError(f"{name} must be a boolean (1/0, true/false, yes/no), got {value!r}")


def _int(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {value!r}") from None


def _origins(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the BFF needs to know about its deployment. Build it with :meth:`from_env`."""

    registry_path: str | None = None
    """``PREFKIT_REGISTRY``: registry file (TOML/YAML/JSON), watched for changes."""
    database_url: str = "sqlite:///./prefkit.db"
    """``PREFKIT_DATABASE_URL``: SQLAlchemy URL; ``sqlite:///FILE`` or ``postgresql+psycopg://...``."""
    secret: str = ""
    """``PREFKIT_SECRET``: signs the subject cookie. At least 32 characters outside demo mode."""
    shop_secret: str = ""
    """``PREFKIT_SHOP_SECRET``: shared with the shop's backend, signs customer tokens. Empty disables
    customer login."""
    admin_key: str = ""
    """``PREFKIT_ADMIN_KEY``: required in ``X-Admin-Key`` by ``/api/v1/admin/*``. Empty disables admin; else
    at least 32 random characters (checked at start, demo mode included)."""
    api_key: str = ""
    """``PREFKIT_API_KEY``: lets a server read any subject's profile (``X-API-Key``). Empty disables it; else
    at least 32 random characters (checked at start, demo mode included)."""
    metrics_key: str = ""
    """``PREFKIT_METRICS_KEY``: what a Prometheus scrape of ``/metrics`` sends as ``Authorization: Bearer
    <key>``. Empty disables the endpoint (403); else at least 32 random characters (checked at start)."""
    allowed_origins: tuple[str, ...] = ()
    """``PREFKIT_ALLOWED_ORIGINS``: comma list of ``scheme://host[:port]`` allowed for CORS, component
    websockets, CSRF-checked writes and framing (``frame-ancestors``). Same origin is always allowed."""
    demo: bool = False
    """``PREFKIT_DEMO``: demo mode; missing secrets are replaced by random per-process ones."""
    write_rate_limit_per_minute: int = 600
    """``PREFKIT_WRITE_RATE_LIMIT``: state-changing actions per client IP per minute (0 disables): HTTP
    writes and admin calls, widget writes over component websockets and merges share this one budget."""
    max_body_bytes: int = 64 * 1024
    """``PREFKIT_MAX_BODY_BYTES``: largest request body accepted (413 beyond)."""
    max_sockets_per_client: int = 32
    """``PREFKIT_MAX_SOCKETS_PER_CLIENT``: websockets one client address may hold open at once, of every kind
    together (one per widget on a page, plus the page API's change socket); more are closed with 1013 "try again later" (0 disables). Behind a proxy every
    shopper shares its address: raise it there, or limit in the proxy."""
    cookie_secure: bool | None = None
    """``PREFKIT_COOKIE_SECURE``: force the cookie's ``Secure`` flag; unset means "when the request is
    https"."""
    customer_session_days: int = 30
    """``PREFKIT_CUSTOMER_SESSION_DAYS``: lifetime of the cookie set by ``/session/login``."""
    webhooks_file: str | None = None
    """``PREFKIT_WEBHOOKS``: TOML file of webhook subscribers and delivery policy (docs/bff.md, "Webhooks");
    unset: no outbox, no webhooks. Each subscriber's signing secret comes from the variable it names."""
    webhook_dispatcher_in_app: bool = True
    """``PREFKIT_WEBHOOK_DISPATCHER_IN_APP``: the app runs a webhook dispatcher in its own event loop (when the
    file's ``dispatch.in_bff`` says the BFF delivers). ``prefkit serve`` turns it off in its workers when it
    runs the dispatcher as a process of its own beside them (``dispatch.process``, the default)."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Free-form settings for other parts of the kit (demo, catalog); not read from the environment."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``environ`` (default ``os.environ``); ``overrides`` win (CLI options).

        Raises :class:`SettingsError` with a message naming the variable to fix.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        if "PREFKIT_REGISTRY" in env:
            values["registry_path"] = env["PREFKIT_REGISTRY"] or None
        if env.get("PREFKIT_DATABASE_URL"):
            values["database_url"] = env["PREFKIT_DATABASE_URL"]
        for name, attr in (
            ("PREFKIT_SECRET", "secret"),
            ("PREFKIT_SHOP_SECRET", "shop_secret"),
            ("PREFKIT_ADMIN_KEY", "admin_key"),
            ("PREFKIT_API_KEY", "api_key"),
            ("PREFKIT_METRICS_KEY", "metrics_key"),
        ):
            if name in env:
                values[attr] = env[name]
        if "PREFKIT_ALLOWED_ORIGINS" in env:
            values["allowed_origins"] = _origins(env["PREFKIT_ALLOWED_ORIGINS"])
        if "PREFKIT_DEMO" in env:
            values["demo"] = _bool("PREFKIT_DEMO", env["PREFKIT_DEMO"])
        if "PREFKIT_WRITE_RATE_LIMIT" in env:
            values["write_rate_limit_per_minute"] = _int(
                "PREFKIT_WRITE_RATE_LIMIT", env["PREFKIT_WRITE_RATE_LIMIT"]
            )
        if "PREFKIT_MAX_BODY_BYTES" in env:
            values["max_body_bytes"] = _int("PREFKIT_MAX_BODY_BYTES", env["PREFKIT_MAX_BODY_BYTES"])
        if "PREFKIT_MAX_SOCKETS_PER_CLIENT" in env:
            values["max_sockets_per_client"] = _int(
                "PREFKIT_MAX_SOCKETS_PER_CLIENT", env["PREFKIT_MAX_SOCKETS_PER_CLIENT"]
            )
        if env.get("PREFKIT_COOKIE_SECURE"):
            values["cookie_secure"] = _bool("PREFKIT_COOKIE_SECURE", env["PREFKIT_COOKIE_SECURE"])
        if "PREFKIT_CUSTOMER_SESSION_DAYS" in env:
            values["customer_session_days"] = _int(
                "PREFKIT_CUSTOMER_SESSION_DAYS", env["PREFKIT_CUSTOMER_SESSION_DAYS"]
            )
        if "PREFKIT_WEBHOOKS" in env:
            values["webhooks_file"] = env["PREFKIT_WEBHOOKS"] or None
        if env.get("PREFKIT_WEBHOOK_DISPATCHER_IN_APP"):
            values["webhook_dispatcher_in_app"] = _bool(
                "PREFKIT_WEBHOOK_DISPATCHER_IN_APP", env["PREFKIT_WEBHOOK_DISPATCHER_IN_APP"]
            )
        values.update({k: v for k, v in overrides.items() if v is not None})
        if isinstance(values.get("allowed_origins"), str):
            values["allowed_origins"] = _origins(values["allowed_origins"])
        return cls(**values).checked()

    def checked(self) -> Settings:
        """These settings made ready to serve: demo fills in secrets, production refuses weak ones."""
        settings = self
        if settings.demo:
            # A random secret per process: demo cookies simply stop matching after a restart.
            fills = {
                attr: secrets.token_urlsafe(32)
                for attr in ("secret", "shop_secret")
                if len(getattr(settings, attr)) < MIN_SECRET_LENGTH
            }
            settings = replace(settings, **fills)
        elif len(settings.secret) < MIN_SECRET_LENGTH:
            state = "is not set" if not settings.secret else f"has only {len(settings.secret)} characters"
            raise SettingsError(
                f"PREFKIT_SECRET {state}; it signs the shopper's cookie and must be at least "
                f"{MIN_SECRET_LENGTH} random characters, e.g. "
                "`export PREFKIT_SECRET=$(python -c 'import secrets; print(secrets.token_urlsafe(32))')` "
                "(or run `prefkit demo` for a local demo)"
            )
        # Keys are checked in demo mode too: demo mode never invents them, and a guessable admin key on a
        # demo reachable from the network is as bad as anywhere else.
        checked = [
            ("PREFKIT_ADMIN_KEY", settings.admin_key),
            ("PREFKIT_API_KEY", settings.api_key),
            ("PREFKIT_METRICS_KEY", settings.metrics_key),
        ]
        if not settings.demo:
            checked[:0] = [("PREFKIT_SECRET", settings.secret), ("PREFKIT_SHOP_SECRET", settings.shop_secret)]
        for name, value in checked:
            _check_secret(name, value)
        if settings.max_body_bytes <= 0:
            raise SettingsError(f"PREFKIT_MAX_BODY_BYTES must be positive, got {settings.max_body_bytes}")
        if settings.max_sockets_per_client < 0:
            raise SettingsError(
                "PREFKIT_MAX_SOCKETS_PER_CLIENT must be 0 (off) or positive, "
                f"got {settings.max_sockets_per_client}"
            )
        if settings.write_rate_limit_per_minute < 0:
            raise SettingsError(
                "PREFKIT_WRITE_RATE_LIMIT must be 0 (off) or positive, "
                f"got {settings.write_rate_limit_per_minute}"
            )
        try:
            # Kept as browsers send them: CORS and the origin checks then compare like with like.
            allowed = normalize_origins(settings.allowed_origins)
        except ValueError as exc:
            raise SettingsError(f"PREFKIT_ALLOWED_ORIGINS: {exc}") from None
        if allowed != settings.allowed_origins:
            settings = replace(settings, allowed_origins=allowed)
        return settings
