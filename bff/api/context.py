"""Per-request access to the app's prefkit objects and the caller's identity, and key checks."""

from __future__ import annotations

import hmac
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection

from preference_registry import RegistrySnapshot, negotiate_locale

from ..identity import Identity, ResolvedIdentity, identity_from_connection
from ..limits import client_address
from ..service import PreferenceService
from ..sessions import SessionRevocations
from ..settings import Settings
from .problems import ProblemError

__all__ = [
    "KEY_FAILURE_LIMIT",
    "KEY_FAILURE_WINDOW_S",
    "KeyFailureThrottle",
    "check_key",
    "gpc_of",
    "identity_helper_of",
    "identity_of",
    "keys_match",
    "request_locale",
    "service_of",
    "sessions_of",
    "settings_of",
    "token_refused",
]

KEY_FAILURE_LIMIT = 10
"""Failed checks of one key (API or admin) one client may make per window before it is locked out."""
KEY_FAILURE_WINDOW_S = 60
"""The window, in seconds, counted from the client's first failure in it."""


def service_of(request: Request[Any, Any, Any]) -> PreferenceService:
    return request.app.state.prefkit


def settings_of(request: Request[Any, Any, Any]) -> Settings:
    return request.app.state.prefkit_settings


def identity_helper_of(request: Request[Any, Any, Any]) -> Identity:
    return request.app.state.prefkit_identity


def sessions_of(request: Request[Any, Any, Any]) -> SessionRevocations:
    return request.app.state.prefkit_sessions


def gpc_of(request: Request[Any, Any, Any]) -> bool:
    """``Sec-GPC: 1`` (the only value the GPC specification defines)."""
    # Straight from the ASGI scope (names are lower-case there): building Litestar's Headers object costs
    # more than the rest of this check on the hot read path.
    for name, value in request.scope["headers"]:
        if name == b"sec-gpc":
            return value.strip() == b"1"
    return False


def request_locale(
    connection: ASGIConnection[Any, Any, Any, Any],
    requested: str | None,
    snapshot: RegistrySnapshot | None = None,
) -> str:
    """The locale to answer in: ``requested`` (``?locale=``, a widget's ``data-locale``) if the registry
    offers it, then the best ``Accept-Language`` match, then the registry's default locale. ``snapshot``:
    the registry the answer is built from (default: the live one)."""
    if snapshot is None:
        snapshot = connection.app.state.prefkit.registry.current
    return negotiate_locale(
        requested, connection.headers.get("accept-language"), snapshot.locales, snapshot.default_locale
    )


def identity_of(request: Request[Any, Any, Any]) -> ResolvedIdentity:
    """The caller's identity; 401 when a bearer token was presented but refused."""
    identity = identity_from_connection(request)
    if identity.token_error:
        raise token_refused(identity.token_error)
    return identity


def token_refused(reason: str) -> ProblemError:
    """The 401 problem for a bearer token that did not verify (``reason`` says why)."""
    return ProblemError(
        401,
        "invalid-token",
        f"customer token refused: {reason}",
        title="Invalid customer token",
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def keys_match(presented: str | None, expected: str) -> bool:
    """Constant-time comparison (of bytes: ``compare_digest`` refuses non-ASCII ``str``); an unset expected
    key never matches."""
    return (
        bool(expected)
        and presented is not None
        and hmac.compare_digest(presented.encode("utf-8", "surrogatepass"), expected.encode())
    )


class KeyFailureThrottle:
    """Counts failed key checks per (key, client) in fixed windows: after ``limit`` failures within
    ``window`` seconds of the first one, every further check of that key from that client is refused until
    the window ends — right key or not, so guessing gains nothing. Successful checks are not counted.

    In process memory, like the write budget (:mod:`bff.limits`), and used on the event loop only: each BFF
    process counts on its own, and client addresses are kept for one window only. Unlike the budget, a
    check first asks whether the client is locked out (:meth:`retry_after`) and only failures are counted. ``max_clients`` bounds the memory an address-hopping client
    can make it use (the oldest windows are forgotten first)."""

    def __init__(
        self,
        *,
        limit: int = KEY_FAILURE_LIMIT,
        window: float = KEY_FAILURE_WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 10_000,
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self.max_clients = max_clients
        self._windows: OrderedDict[tuple[str, str], tuple[float, int]] = OrderedDict()

    def retry_after(self, key: str, client: str) -> int | None:
        """Seconds until ``client`` may try ``key`` again, or ``None`` when it may now."""
        entry = self._windows.get((key, client))
        if entry is None:
            return None
        started, failures = entry
        remaining = started + self.window - self.clock()
        if remaining <= 0:
            del self._windows[(key, client)]
            return None
        return math.ceil(remaining) if failures >= self.limit else None

    def failed(self, key: str, client: str) -> None:
        """Count one failed check of ``key`` by ``client``."""
        now = self.clock()
        started, failures = self._windows.pop((key, client), (now, 0))
        if started + self.window <= now:
            started, failures = now, 0
        self._windows[(key, client)] = (started, failures + 1)
        while len(self._windows) > self.max_clients:
            self._windows.popitem(last=False)


def check_key(request: Request[Any, Any, Any], header: str, expected: str) -> bool:
    """Whether the request's ``header`` holds the key ``expected`` (constant time), with failed checks
    throttled per client (429 problem with ``Retry-After`` once a client used up its failures)."""
    throttle: KeyFailureThrottle = request.app.state.prefkit_key_throttle
    client = client_address(request.scope)  # the same key the write budget uses
    wait = throttle.retry_after(header, client)
    if wait is not None:
        raise ProblemError(
            429,
            "key-throttled",
            f"too many failed {header} checks from this client ({throttle.limit} within "
            f"{int(throttle.window)} s); try again in {wait} s",
            title="Too many failed key checks",
            headers={"Retry-After": str(wait)},
        )
    if keys_match(request.headers.get(header), expected):
        return True
    throttle.failed(header, client)
    return False
