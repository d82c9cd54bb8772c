"""Who is asking: anonymous shoppers by signed cookie, customers by a token from the shop's backend.

Subjects are strings: ``anon:<32 hex digits>`` (a random 128-bit id) or ``cust:<customer id>``. The
prefixes keep the two namespaces apart, so no customer id can ever name an anonymous subject.

**Subject cookie** ``prefkit_sid`` (HttpOnly, SameSite=Lax, Path=/, Secure under https)::

    <base64url(subject)>.<expires unix time, 0 = none>.<base64url(HMAC-SHA256(PREFKIT_SECRET, "prefkit-sid-v1|" + first two parts))>

A cookie whose signature does not verify (tampered, or signed by another deployment) or that has expired
is ignored and the request gets a fresh anonymous subject: never someone else's data, never an error.

**Customer token** (issued by the shop's backend, :func:`issue_customer_token`)::

    <base64url(JSON {"sub": "<customer id>", "exp": <unix time>})>.<base64url(HMAC-SHA256(PREFKIT_SHOP_SECRET, first part))>

Presented as ``Authorization: Bearer <token>`` on each request, or once to ``POST /api/v1/session/login``
which sets the subject cookie to the customer. On first sight the anonymous subject of the same browser
(its cookie) is merged into the customer (see :meth:`bff.service.PreferenceService.merge`).

:class:`IdentityMiddleware` resolves the subject for every HTTP request and websocket handshake and
leaves it in the ASGI scope state, where :func:`subject_from_connection` reads it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

import msgspec

__all__ = [
    "CUSTOMER_PREFIX",
    "ANONYMOUS_PREFIX",
    "SUBJECT_COOKIE",
    "Identity",
    "IdentityMiddleware",
    "InvalidCustomerToken",
    "ResolvedIdentity",
    "identity_from_connection",
    "issue_customer_token",
    "subject_from_connection",
    "verify_customer_token",
]

logger = logging.getLogger("prefkit.identity")

SUBJECT_COOKIE = "prefkit_sid"
ANONYMOUS_PREFIX = "anon:"
CUSTOMER_PREFIX = "cust:"
_STATE_KEY = "prefkit_identity"
_ANONYMOUS_COOKIE_SECONDS = 365 * 24 * 3600
_MAX_CUSTOMER_ID = 128


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, message: str) -> str:
    return _b64encode(hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest())


class InvalidCustomerToken(ValueError):
    """A customer token that must not be trusted; the message says why (malformed, bad signature, expired)."""


def issue_customer_token(
    customer_id: str, secret: str, ttl: timedelta | int = 300, *, now: float | None = None
) -> str:
    """A customer token for ``customer_id`` valid for ``ttl`` (seconds or timedelta), signed with ``secret``
    (the shop's ``PREFKIT_SHOP_SECRET``). For shops' backends and tests."""
    if not customer_id or len(customer_id) > _MAX_CUSTOMER_ID:
        raise ValueError(f"customer id must have 1..{_MAX_CUSTOMER_ID} characters")
    seconds = ttl.total_seconds() if isinstance(ttl, timedelta) else ttl
    expires = int((time.time() if now is None else now) + seconds)
    payload = _b64encode(json.dumps({"sub": customer_id, "exp": expires}, separators=(",", ":")).encode())
    return f"{payload}.{_mac(secret, payload)}"


def verify_customer_token(token: str, secret: str, *, now: float | None = None) -> str:
    """The customer id in ``token``; :class:`InvalidCustomerToken` when it is malformed, forged or expired."""
    if not secret:
        raise InvalidCustomerToken("customer tokens are not enabled (PREFKIT_SHOP_SECRET is not set)")
    payload, dot, signature = token.strip().partition(".")
    if not dot or not payload or not signature:
        raise InvalidCustomerToken("malformed token: expected <payload>.<signature>")
    if not hmac.compare_digest(signature, _mac(secret, payload)):
        raise InvalidCustomerToken("token signature does not verify")
    try:
        claims = json.loads(_b64decode(payload))
    except (binascii.Error, ValueError):
        raise InvalidCustomerToken("malformed token payload") from None
    if not isinstance(claims, dict):
        raise InvalidCustomerToken("malformed token payload")
    customer_id, expires = claims.get("sub"), claims.get("exp")
    if not isinstance(customer_id, str) or not 0 < len(customer_id) <= _MAX_CUSTOMER_ID:
        raise InvalidCustomerToken(f"token 'sub' must be a customer id of 1..{_MAX_CUSTOMER_ID} characters")
    if not isinstance(expires, int) or isinstance(expires, bool):
        raise InvalidCustomerToken("token 'exp' must be a unix time")
    if expires <= (time.time() if now is None else now):
        raise InvalidCustomerToken("token has expired")
    return customer_id


class ResolvedIdentity(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of identifying one connection."""

    subject: str
    """``anon:...`` or ``cust:...``."""
    kind: Literal["anonymous", "customer"]
    """Whether the subject is an anonymous shopper or a known customer."""
    via: Literal["cookie", "bearer", "new"]
    """How it was established: a valid cookie, a bearer token, or a fresh anonymous subject."""
    token_error: str | None = None
    """Why a presented bearer token was refused (the API answers 401 then)."""
    cookie_rejected: bool = False
    """A subject cookie was present but did not verify (tampered, foreign or expired)."""


@dataclass(frozen=True, kw_only=True)
class Identity:
    """Signing and verifying subject cookies and customer tokens for one deployment."""

    secret: str
    """``PREFKIT_SECRET``: signs cookies."""
    shop_secret: str = ""
    """``PREFKIT_SHOP_SECRET``: verifies customer tokens."""
    cookie_secure: bool | None = None
    """Force the ``Secure`` cookie flag; ``None`` = only when the connection is https/wss."""
    customer_session_days: int = 30
    """Lifetime of a customer cookie set by login."""

    @staticmethod
    def new_anonymous_subject() -> str:
        return ANONYMOUS_PREFIX + secrets.token_hex(16)

    def sign_subject(self, subject: str, *, expires_at: int = 0) -> str:
        """Cookie value for ``subject`` (``expires_at`` unix time, 0 = no embedded expiry)."""
        body = f"{_b64encode(subject.encode())}.{int(expires_at)}"
        return f"{body}.{_mac(self.secret, 'prefkit-sid-v1|' + body)}"

    def verify_subject(self, value: str, *, now: float | None = None) -> str | None:
        """The subject in a cookie value, or ``None`` when it is tampered, foreign, expired or malformed."""
        body, dot, signature = value.rpartition(".")
        if not dot or not hmac.compare_digest(signature, _mac(self.secret, "prefkit-sid-v1|" + body)):
            return None
        encoded, _, expires = body.partition(".")
        try:
            subject = _b64decode(encoded).decode()
            expires_at = int(expires)
        except (binascii.Error, ValueError, UnicodeDecodeError):
            return None
        if expires_at and expires_at <= (time.time() if now is None else now):
            return None
        if not (subject.startswith(ANONYMOUS_PREFIX) or subject.startswith(CUSTOMER_PREFIX)):
            return None
        return subject

    def customer_subject(self, token: str) -> str:
        """``cust:<id>`` for a valid customer token; :class:`InvalidCustomerToken` otherwise."""
        return CUSTOMER_PREFIX + verify_customer_token(token, self.shop_secret)

    def set_cookie_header(self, subject: str, *, secure: bool) -> bytes:
        """A ``Set-Cookie`` header value carrying ``subject``."""
        if subject.startswith(CUSTOMER_PREFIX):
            max_age = self.customer_session_days * 24 * 3600
            value = self.sign_subject(subject, expires_at=int(time.time()) + max_age)
        else:
            max_age = _ANONYMOUS_COOKIE_SECONDS
            value = self.sign_subject(subject)
        secure_flag = "; Secure" if (self.cookie_secure if self.cookie_secure is not None else secure) else ""
        attributes = f"Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure_flag}"
        return f"{SUBJECT_COOKIE}={value}; {attributes}".encode()

    def resolve(self, headers: dict[str, str]) -> ResolvedIdentity:
        """Identify a connection from its (lower-cased) headers, without any I/O."""
        cookie_subject: str | None = None
        cookie_rejected = False
        raw_cookie = _read_cookie(headers.get("cookie", ""), SUBJECT_COOKIE)
        if raw_cookie is not None:
            cookie_subject = self.verify_subject(raw_cookie)
            cookie_rejected = cookie_subject is None
        authorization = headers.get("authorization", "")
        if authorization[:7].lower() == "bearer ":
            try:
                return ResolvedIdentity(
                    subject=self.customer_subject(authorization[7:]),
                    kind="customer",
                    via="bearer",
                    cookie_rejected=cookie_rejected,
                )
            except InvalidCustomerToken as exc:
                fallback = cookie_subject or self.new_anonymous_subject()
                return ResolvedIdentity(
                    subject=fallback,
                    kind=_kind(fallback),
                    via="cookie" if cookie_subject else "new",
                    token_error=str(exc),
                    cookie_rejected=cookie_rejected,
                )
        if cookie_subject is not None:
            return ResolvedIdentity(subject=cookie_subject, kind=_kind(cookie_subject), via="cookie")
        return ResolvedIdentity(
            subject=self.new_anonymous_subject(), kind="anonymous", via="new", cookie_rejected=cookie_rejected
        )

    def anonymous_cookie_subject(self, headers: dict[str, str]) -> str | None:
        """The anonymous subject of a valid cookie in ``headers`` (the one to merge on login)."""
        raw = _read_cookie(headers.get("cookie", ""), SUBJECT_COOKIE)
        subject = self.verify_subject(raw) if raw else None
        return subject if subject and subject.startswith(ANONYMOUS_PREFIX) else None


def _kind(subject: str) -> Literal["anonymous", "customer"]:
    return "customer" if subject.startswith(CUSTOMER_PREFIX) else "anonymous"


def _read_cookie(header: str, name: str) -> str | None:
    """The value of cookie ``name``; tolerant of other, garbled cookies (they are someone else's problem)."""
    if name not in header:
        return None
    for part in header.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name:
            return value.strip().strip('"')
    return None


def _headers(scope: dict[str, Any]) -> dict[str, str]:
    result: dict[str, str] = {}
    for name, value in scope.get("headers", ()):
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        result[key] = f"{result[key]}; {text}" if key == "cookie" and key in result else text
    return result


def identity_from_connection(connection: Any) -> ResolvedIdentity:
    """The identity :class:`IdentityMiddleware` resolved for a Litestar ``Request``/``WebSocket`` (or raw
    ASGI scope)."""
    scope = connection if isinstance(connection, dict) else connection.scope
    resolved = scope.get("state", {}).get(_STATE_KEY)
    if resolved is None:
        raise RuntimeError(
            "IdentityMiddleware did not run for this connection; add it to the app's middleware"
        )
    return resolved


def subject_from_connection(connection: Any) -> str:
    """The subject of a Litestar ``Request`` or ``WebSocket`` (cookies ride along on the ws handshake)."""
    return identity_from_connection(connection).subject


MergeHook = Callable[[str, str], Awaitable[Any]]


class IdentityMiddleware:
    """ASGI middleware: resolves the subject of every HTTP request and websocket handshake into
    ``scope["state"]``, merges an anonymous subject into a customer on first sight, and sets the cookie
    whenever a new anonymous subject was created or the stored one was refused."""

    def __init__(self, app: Any, identity: Identity, merge: MergeHook | None = None) -> None:
        self.app = app
        self.identity = identity
        self.merge = merge
        # Pairs already merged by this process: saves a write transaction per bearer request. The database
        # (``subject_link``) stays the authority, so a restart or another process only costs one check.
        self._merged: OrderedDict[tuple[str, str], None] = OrderedDict()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        resolved = self.identity.resolve(headers)
        state = scope.setdefault("state", {})
        state[_STATE_KEY] = resolved
        state["prefkit_subject"] = resolved.subject  # request.state.prefkit_subject in handlers
        if resolved.via == "bearer" and self.merge is not None:
            anonymous = self.identity.anonymous_cookie_subject(headers)
            if anonymous is not None:
                await self.merge_once(anonymous, resolved.subject)
        if resolved.via != "new":
            await self.app(scope, receive, send)
            return
        secure = scope.get("scheme") in ("https", "wss")
        cookie = self.identity.set_cookie_header(resolved.subject, secure=secure)
        start_type = "http.response.start" if scope["type"] == "http" else "websocket.accept"

        async def send_with_cookie(message: dict[str, Any]) -> None:
            if message["type"] == start_type and not scope["state"].get("prefkit_cookie_set"):
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie)]}
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    async def merge_once(self, anonymous: str, customer: str) -> None:
        pair = (anonymous, customer)
        if pair in self._merged or self.merge is None:
            return
        await self.merge(anonymous, customer)
        self._merged[pair] = None
        if len(self._merged) > 10_000:
            self._merged.popitem(last=False)
