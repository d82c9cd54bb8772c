"""Who is asking: anonymous shoppers by signed cookie, customers by a token from the shop's backend.

Subjects are strings: ``anon:<32 hex digits>`` (a random 128-bit id) or ``cust:<customer id>`` (1..128
printable ASCII characters, no space or control character). The prefixes keep the two namespaces apart, so
no customer id can ever name an anonymous subject; every subject id is checked against
:data:`SUBJECT_PATTERN` (full match) before it reaches the database.

**Subject cookie** ``__Host-prefkit_sid`` when the cookie is ``Secure`` (https, or
``PREFKIT_COOKIE_SECURE=1`` behind a TLS-terminating proxy), ``prefkit_sid`` on plain http (local dev,
demo); always HttpOnly, SameSite=Lax, Path=/, no Domain::

    anonymous: <base64url(subject)>.0.<mac>
    customer:  <base64url(subject)>.<expires unix time>.<session id>.<mac>
    mac = base64url(HMAC-SHA256(PREFKIT_SECRET, "prefkit-sid-v1|" + everything before it))

A cookie that does not match this grammar, whose signature does not verify (tampered, or signed by another
deployment), that has expired, or whose customer session was revoked by logout is ignored and the request
gets a fresh anonymous subject (and a fresh cookie): never someone else's data, never an error. When
several *different* valid cookies of the name in use arrive (a related origin planted one with a narrower
``Path`` or a parent ``Domain``), the BFF cannot tell which one it issued, so it trusts none of them: the
request is a fresh anonymous subject and nothing is merged at login. Over https only the ``__Host-`` name
is read, which no other origin can set. See SECURITY.md ("Cookie scheme").

**Customer token** (issued by the shop's backend, :func:`issue_customer_token`)::

    <base64url(JSON {"sub": "<customer id>", "exp": <unix time>})>.<base64url(HMAC-SHA256(PREFKIT_SHOP_SECRET, first part))>

Presented as ``Authorization: Bearer <token>`` on each request, or once to ``POST /api/v1/session/login``
which sets the subject cookie to the customer. On first sight the anonymous subject of the same browser
(its cookie) is merged into the customer (see :meth:`bff.service.PreferenceService.merge`).

:class:`IdentityMiddleware` resolves the subject for every HTTP request and websocket handshake and
leaves it in the ASGI scope state, where :func:`subject_from_connection` reads it. Responses of handlers
that read the subject are marked personal and get ``Cache-Control: no-store`` and
``Vary: Cookie, Authorization``; a fresh anonymous subject's cookie is issued on those responses only.
Static and public responses (scripts, ReactPy's chunks, theme CSS, API docs, health) never carry a cookie:
a shared cache keeping one would hand the same subject to every visitor, and every asset fetch would
create a subject.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

import msgspec

__all__ = [
    "ANONYMOUS_PREFIX",
    "CUSTOMER_ID_PATTERN",
    "CUSTOMER_PREFIX",
    "SECURE_SUBJECT_COOKIE",
    "SUBJECT_COOKIE",
    "SUBJECT_PATTERN",
    "CookieClaims",
    "Identity",
    "IdentityMiddleware",
    "InvalidCustomerToken",
    "ResolvedIdentity",
    "identity_from_connection",
    "is_subject_id",
    "issue_customer_token",
    "mark_personal",
    "subject_from_connection",
    "use_subject",
    "verify_customer_token",
]

logger = logging.getLogger("prefkit.identity")

SUBJECT_COOKIE = "prefkit_sid"
"""The cookie's name on plain http (no ``Secure`` flag possible, so no ``__Host-`` prefix)."""
SECURE_SUBJECT_COOKIE = "__Host-" + SUBJECT_COOKIE
"""The cookie's name whenever it is ``Secure``: browsers accept it only from this very host, with
``Path=/`` and without ``Domain``, so no sibling subdomain can plant or shadow it."""
ANONYMOUS_PREFIX = "anon:"
CUSTOMER_PREFIX = "cust:"
_MAX_CUSTOMER_ID = 128
CUSTOMER_ID_PATTERN = re.compile(r"[!-~]{1,%d}" % _MAX_CUSTOMER_ID)
"""A customer id (full match): printable ASCII without space. No NUL (PostgreSQL refuses it in text), no
control characters (logs, headers), no surrogates (not encodable), bounded (the columns hold 200)."""
SUBJECT_PATTERN = re.compile(r"anon:[0-9a-f]{32}|cust:[!-~]{1,%d}" % _MAX_CUSTOMER_ID)
"""Every subject id the BFF accepts (full match)."""
_STATE_KEY = "prefkit_identity"
_PERSONAL_KEY = "prefkit_personal"
# Set when a handler used the caller's subject: only then is a fresh subject's cookie issued.
_USED_KEY = "prefkit_subject_used"
_ANONYMOUS_COOKIE_SECONDS = 365 * 24 * 3600
_MAX_COOKIE_CANDIDATES = 8
"""More distinct values than this for the session cookie are not even verified: the request is ambiguous."""

# Grammars of what clients send, matched in full before anything is decoded or compared: a value that does
# not match is malformed, whatever bytes it holds (non-ASCII included), so no later step can raise.
_B64 = "[A-Za-z0-9_-]"
_COOKIE_VALUE = re.compile(rf"({_B64}{{1,200}})\.(0|[1-9][0-9]{{0,11}})(?:\.({_B64}{{22}}))?\.({_B64}{{43}})")
_TOKEN = re.compile(rf"({_B64}{{1,2048}}={{0,2}})\.({_B64}{{43}})")


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, message: str) -> str:
    return _b64encode(hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest())


def _same(presented: str, expected: str) -> bool:
    """Constant-time comparison of two MACs. On bytes: ``compare_digest`` raises ``TypeError`` for ``str``
    holding non-ASCII characters (the grammars above already exclude them; this holds even without)."""
    return hmac.compare_digest(presented.encode("utf-8", "surrogatepass"), expected.encode("ascii"))


def is_subject_id(value: str) -> bool:
    """Whether ``value`` is a well-formed subject id (:data:`SUBJECT_PATTERN`, full match)."""
    return SUBJECT_PATTERN.fullmatch(value) is not None


class InvalidCustomerToken(ValueError):
    """A customer token that must not be trusted; the message says why (malformed, bad signature, expired)."""


_BAD_SUB = (
    f"token 'sub' must be a customer id of 1..{_MAX_CUSTOMER_ID} printable ASCII characters "
    "(no space or control character)"
)


def issue_customer_token(
    customer_id: str, secret: str, ttl: timedelta | int = 300, *, now: float | None = None
) -> str:
    """A customer token for ``customer_id`` valid for ``ttl`` (seconds or timedelta), signed with ``secret``
    (the shop's ``PREFKIT_SHOP_SECRET``). For shops' backends and tests."""
    if not isinstance(customer_id, str) or CUSTOMER_ID_PATTERN.fullmatch(customer_id) is None:
        raise ValueError(
            f"customer id must have 1..{_MAX_CUSTOMER_ID} printable ASCII characters "
            f"(no space or control character), got {customer_id!r}"
        )
    seconds = ttl.total_seconds() if isinstance(ttl, timedelta) else ttl
    expires = int((time.time() if now is None else now) + seconds)
    payload = _b64encode(json.dumps({"sub": customer_id, "exp": expires}, separators=(",", ":")).encode())
    return f"{payload}.{_mac(secret, payload)}"


def verify_customer_token(token: str, secret: str, *, now: float | None = None) -> str:
    """The customer id in ``token``; :class:`InvalidCustomerToken` when it is malformed, forged or expired."""
    if not secret:
        raise InvalidCustomerToken("customer tokens are not enabled (PREFKIT_SHOP_SECRET is not set)")
    match = _TOKEN.fullmatch(token.strip())
    if match is None:
        raise InvalidCustomerToken("malformed token: expected <base64url payload>.<base64url signature>")
    payload, signature = match.groups()
    if not _same(signature, _mac(secret, payload)):
        raise InvalidCustomerToken("token signature does not verify")
    try:
        claims = json.loads(_b64decode(payload))
    except (binascii.Error, ValueError, RecursionError):
        raise InvalidCustomerToken("malformed token payload") from None
    if not isinstance(claims, dict):
        raise InvalidCustomerToken("malformed token payload")
    customer_id, expires = claims.get("sub"), claims.get("exp")
    # Signed by the shop, still not trusted blindly: a NUL in a subject id is a 500 on PostgreSQL.
    if not isinstance(customer_id, str) or CUSTOMER_ID_PATTERN.fullmatch(customer_id) is None:
        raise InvalidCustomerToken(_BAD_SUB)
    if not isinstance(expires, int) or isinstance(expires, bool):
        raise InvalidCustomerToken("token 'exp' must be a unix time")
    if expires <= (time.time() if now is None else now):
        raise InvalidCustomerToken("token has expired")
    return customer_id


class CookieClaims(msgspec.Struct, frozen=True, kw_only=True):
    """What a verified subject cookie says."""

    subject: str
    """``anon:...`` or ``cust:...``."""
    expires_at: int = 0
    """Unix time the cookie stops being valid (0: no embedded expiry, anonymous cookies)."""
    session: str | None = None
    """Customer cookies: the login session's random id, which logout revokes."""


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
    """A subject cookie was present but not used (malformed, tampered, foreign, expired, revoked, or
    ambiguous: several different valid ones)."""
    cookie: CookieClaims | None = None
    """The one valid subject cookie of the request, when there is exactly one (also when a bearer token
    names the subject: the cookie is what an anonymous visit is merged from, or what logout revokes)."""


@dataclass(frozen=True, kw_only=True)
class Identity:
    """Signing and verifying subject cookies and customer tokens for one deployment."""

    secret: str
    """``PREFKIT_SECRET``: signs cookies."""
    shop_secret: str = ""
    """``PREFKIT_SHOP_SECRET``: verifies customer tokens."""
    cookie_secure: bool | None = None
    """Force the ``Secure`` cookie flag (and so the ``__Host-`` name); ``None`` = only when the connection
    is https/wss."""
    customer_session_days: int = 30
    """Lifetime of a customer cookie set by login."""

    @staticmethod
    def new_anonymous_subject() -> str:
        return ANONYMOUS_PREFIX + secrets.token_hex(16)

    def secure(self, scheme: str | None) -> bool:
        """Whether cookies on a connection of ``scheme`` are ``Secure`` (and named ``__Host-prefkit_sid``)."""
        return self.cookie_secure if self.cookie_secure is not None else scheme in ("https", "wss")

    @staticmethod
    def cookie_name(secure: bool) -> str:
        return SECURE_SUBJECT_COOKIE if secure else SUBJECT_COOKIE

    def sign_subject(self, subject: str, *, expires_at: int = 0, session: str | None = None) -> str:
        """Cookie value for ``subject`` (``expires_at`` unix time, 0 = no embedded expiry; ``session``: the
        login session id customer cookies carry)."""
        body = f"{_b64encode(subject.encode())}.{int(expires_at)}" + (f".{session}" if session else "")
        return f"{body}.{_mac(self.secret, 'prefkit-sid-v1|' + body)}"

    def verify_cookie(self, value: str, *, now: float | None = None) -> CookieClaims | None:
        """What a cookie value says, or ``None`` when it is malformed, tampered, foreign or expired."""
        match = _COOKIE_VALUE.fullmatch(value)
        if match is None:
            return None
        encoded, expires, session, signature = match.groups()
        body = value[: match.start(4) - 1]
        if not _same(signature, _mac(self.secret, "prefkit-sid-v1|" + body)):
            return None
        try:
            subject = _b64decode(encoded).decode("ascii")
        except (binascii.Error, ValueError):
            return None
        expires_at = int(expires)
        if expires_at and expires_at <= (time.time() if now is None else now):
            return None
        # Customer cookies expire and carry a revocable session; anonymous ones neither (anything else is
        # not a cookie this version issued).
        customer = subject.startswith(CUSTOMER_PREFIX)
        if not is_subject_id(subject) or customer != bool(session) or customer != bool(expires_at):
            return None
        return CookieClaims(subject=subject, expires_at=expires_at, session=session)

    def verify_subject(self, value: str, *, now: float | None = None) -> str | None:
        """The subject in a cookie value, or ``None`` when it is tampered, foreign, expired or malformed."""
        claims = self.verify_cookie(value, now=now)
        return claims.subject if claims else None

    def customer_subject(self, token: str) -> str:
        """``cust:<id>`` for a valid customer token; :class:`InvalidCustomerToken` otherwise."""
        return CUSTOMER_PREFIX + verify_customer_token(token, self.shop_secret)

    def cookie_value(self, subject: str) -> tuple[str, int]:
        """A fresh cookie value for ``subject`` and its ``Max-Age`` (customers get a new session id)."""
        if subject.startswith(CUSTOMER_PREFIX):
            max_age = self.customer_session_days * 24 * 3600
            value = self.sign_subject(
                subject, expires_at=int(time.time()) + max_age, session=secrets.token_urlsafe(16)
            )
            return value, max_age
        return self.sign_subject(subject), _ANONYMOUS_COOKIE_SECONDS

    def set_cookie_header(self, subject: str, *, secure: bool) -> bytes:
        """A ``Set-Cookie`` header value carrying ``subject`` (``secure``: see :meth:`secure`)."""
        value, max_age = self.cookie_value(subject)
        return f"{self.cookie_name(secure)}={value}; {_attributes(secure)}; Max-Age={max_age}".encode()

    def clear_cookie_header(self, *, secure: bool) -> str:
        """A ``Set-Cookie`` header value deleting the subject cookie (same name and attributes, expired)."""
        expired = "Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
        return f"{self.cookie_name(secure)}=; {_attributes(secure)}; {expired}"

    def resolve(self, headers: dict[str, str], *, secure: bool = False) -> ResolvedIdentity:
        """Identify a connection from its (lower-cased) headers, without any I/O. ``secure``: whether the
        connection's cookies are ``Secure`` (:meth:`secure`), which decides the cookie name read."""
        cookie, cookie_rejected = self._cookie(headers.get("cookie", ""), secure)
        cookie_subject = cookie.subject if cookie else None
        authorization = headers.get("authorization", "")
        if authorization[:7].lower() == "bearer ":
            try:
                return ResolvedIdentity(
                    subject=self.customer_subject(authorization[7:]),
                    kind="customer",
                    via="bearer",
                    cookie_rejected=cookie_rejected,
                    cookie=cookie,
                )
            except InvalidCustomerToken as exc:
                fallback = cookie_subject or self.new_anonymous_subject()
                return ResolvedIdentity(
                    subject=fallback,
                    kind=_kind(fallback),
                    via="cookie" if cookie_subject else "new",
                    token_error=str(exc),
                    cookie_rejected=cookie_rejected,
                    cookie=cookie,
                )
        if cookie_subject is not None:
            return ResolvedIdentity(
                subject=cookie_subject, kind=_kind(cookie_subject), via="cookie", cookie=cookie
            )
        return ResolvedIdentity(
            subject=self.new_anonymous_subject(), kind="anonymous", via="new", cookie_rejected=cookie_rejected
        )

    def _cookie(self, header: str, secure: bool) -> tuple[CookieClaims | None, bool]:
        """The one valid subject cookie in a ``Cookie`` header, and whether any candidate was refused.

        Invalid candidates (garbage a sibling origin planted) are skipped; several *different* valid ones
        are ambiguous and all refused: the BFF cannot tell which one it issued to this browser."""
        values = set(_cookie_values(header, self.cookie_name(secure)))
        if not values:
            return None, False
        if len(values) > _MAX_COOKIE_CANDIDATES:
            return None, True
        valid = {claims for claims in map(self.verify_cookie, values) if claims is not None}
        if len(valid) != 1:
            return None, True
        (claims,) = valid
        return claims, len(values) > 1

    def anonymous_cookie_subject(self, headers: dict[str, str], *, secure: bool = False) -> str | None:
        """The anonymous subject of the one valid cookie in ``headers`` (the one to merge on login)."""
        cookie, _ = self._cookie(headers.get("cookie", ""), secure)
        return cookie.subject if cookie and cookie.subject.startswith(ANONYMOUS_PREFIX) else None


def _attributes(secure: bool) -> str:
    # Path=/ and no Domain: required for the __Host- prefix, and the narrowest scope that works everywhere.
    return "Path=/; HttpOnly; SameSite=Lax" + ("; Secure" if secure else "")


def _kind(subject: str) -> Literal["anonymous", "customer"]:
    return "customer" if subject.startswith(CUSTOMER_PREFIX) else "anonymous"


def _cookie_values(header: str, name: str) -> list[str]:
    """Every value of cookie ``name`` in a ``Cookie`` header (a browser sends one per matching
    path/domain); tolerant of other, garbled cookies (they are someone else's problem)."""
    if name not in header:
        return []
    values = []
    for part in header.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name:
            values.append(value.strip().strip('"'))
    return values


def _headers(scope: dict[str, Any]) -> dict[str, str]:
    result: dict[str, str] = {}
    for name, value in scope.get("headers", ()):
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        result[key] = f"{result[key]}; {text}" if key == "cookie" and key in result else text
    return result


def identity_from_connection(connection: Any, *, personal: bool = True) -> ResolvedIdentity:
    """The identity :class:`IdentityMiddleware` resolved for a Litestar ``Request``/``WebSocket`` (or raw
    ASGI scope). Reading it marks the response as personal (see :func:`mark_personal`) unless ``personal``
    is false (middleware that only inspects how the request authenticated)."""
    scope = connection if isinstance(connection, dict) else connection.scope
    state = scope.get("state", {})
    resolved = state.get(_STATE_KEY)
    if resolved is None:
        raise RuntimeError(
            "IdentityMiddleware did not run for this connection; add it to the app's middleware"
        )
    if personal:
        state[_PERSONAL_KEY] = True
        state[_USED_KEY] = True
    return resolved


def use_subject(connection: Any) -> None:
    """Have :class:`IdentityMiddleware` issue the subject cookie on the response to ``connection`` when the
    subject is new, without reading it (reading it does this too). For endpoints whose whole purpose is to
    establish the subject before other requests need it, like the widgets' ``/_prefkit/session``. Harmless
    where the middleware does not run."""
    scope = connection if isinstance(connection, dict) else connection.scope
    scope.setdefault("state", {})[_USED_KEY] = True


def mark_personal(connection: Any) -> None:
    """Mark the response to ``connection`` as subject-specific: :class:`IdentityMiddleware` then sends it
    with ``Cache-Control: no-store`` and ``Vary: Cookie, Authorization``, so no cache keeps or shares it.
    Done automatically for every handler that reads the caller's identity; call it for others (e.g. a
    profile read for ``?subject=`` with the API key)."""
    scope = connection if isinstance(connection, dict) else connection.scope
    scope.setdefault("state", {})[_PERSONAL_KEY] = True


def subject_from_connection(connection: Any) -> str:
    """The subject of a Litestar ``Request`` or ``WebSocket`` (cookies ride along on the ws handshake)."""
    return identity_from_connection(connection).subject


def _private(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """``headers`` with ``Cache-Control: no-store`` and ``Vary`` naming ``Cookie`` and ``Authorization``."""
    kept: list[tuple[bytes, bytes]] = []
    cache: bytes | None = None
    vary: list[str] = []
    for name, value in headers:
        lowered = name.lower()
        if lowered == b"cache-control":
            cache = value
        elif lowered == b"vary":
            vary.extend(part.strip() for part in value.decode("latin-1").split(",") if part.strip())
        else:
            kept.append((name, value))
    if cache is None or b"no-store" not in cache.lower():
        cache = b"private, no-store"
    present = {part.lower() for part in vary}
    vary.extend(name for name in ("Cookie", "Authorization") if name.lower() not in present)
    return [*kept, (b"cache-control", cache), (b"vary", ", ".join(vary).encode("latin-1"))]


MergeHook = Callable[[str, str], Awaitable[Any]]
MergeableHook = Callable[[str], Awaitable[bool]]
RevokedHook = Callable[[str], Awaitable[bool]]
ChargeHook = Callable[[dict[str, Any]], None]


def _sets_subject_cookie(set_cookie: bytes) -> bool:
    """Whether a ``Set-Cookie`` header value sets (or clears) the subject cookie, under either name."""
    name = set_cookie.split(b"=", 1)[0].strip()
    return name in (SUBJECT_COOKIE.encode(), SECURE_SUBJECT_COOKIE.encode())


class IdentityMiddleware:
    """ASGI middleware: resolves the subject of every HTTP request and websocket handshake into
    ``scope["state"]``, refuses customer cookies whose session was revoked, merges an anonymous subject
    into a customer on first sight, sets the cookie when a new anonymous subject was created (or the
    stored one was refused) and the handler used it, and keeps personal responses out of caches.

    The cookie is decided when the response starts (the websocket accept, the HTTP response start), by
    which time the handler has read the subject or not: responses that never touch it stay cookieless
    and as cacheable as their handler made them."""

    def __init__(
        self,
        app: Any,
        identity: Identity,
        merge: MergeHook | None = None,
        revoked: RevokedHook | None = None,
        mergeable: MergeableHook | None = None,
        charge: ChargeHook | None = None,
    ) -> None:
        self.app = app
        self.identity = identity
        self.merge = merge
        """``await merge(anonymous, customer)``: take the anonymous subject's choices over (once)."""
        self.mergeable = mergeable
        """``await mergeable(anonymous)``: whether a merge would write anything (a cheap read)."""
        self.charge = charge
        """``charge(scope)``: count a merge this middleware runs against the client's write budget (raises
        the 429 when it is used up); merges that write nothing are not counted."""
        self.revoked = revoked
        """``await revoked(session_id)``: whether logout revoked that customer session (database-backed, so
        every process sharing the database agrees)."""
        # Pairs this process merged: saves even the read on later requests. The database (``subject_link``)
        # stays the authority, so a restart or another process only costs that read.
        self._merged: OrderedDict[tuple[str, str], None] = OrderedDict()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        secure = self.identity.secure(scope.get("scheme"))
        resolved = await self._unrevoked(self.identity.resolve(headers, secure=secure))
        state = scope.setdefault("state", {})
        # Read through identity_from_connection / subject_from_connection only: that is how a handler says
        # it uses the subject (and so whether a fresh one gets its cookie).
        state[_STATE_KEY] = resolved
        cookie = resolved.cookie
        if resolved.via == "bearer" and cookie is not None and cookie.subject.startswith(ANONYMOUS_PREFIX):
            await self.merge_once(cookie.subject, resolved.subject, scope)
        if scope["type"] == "websocket":
            if resolved.via != "new":
                await self.app(scope, receive, send)
                return

            async def send_with_cookie(message: dict[str, Any]) -> None:
                if message["type"] == "websocket.accept":
                    headers = list(message.get("headers", []))
                    if self._issues_cookie(resolved, state, headers):
                        set_cookie = self.identity.set_cookie_header(resolved.subject, secure=secure)
                        message = {**message, "headers": [*headers, (b"set-cookie", set_cookie)]}
                await send(message)

            await self.app(scope, receive, send_with_cookie)
            return

        async def send_http(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if self._issues_cookie(resolved, state, headers):
                    set_cookie = self.identity.set_cookie_header(resolved.subject, secure=secure)
                    headers.append((b"set-cookie", set_cookie))
                if state.get(_PERSONAL_KEY):
                    headers = _private(headers)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_http)

    @staticmethod
    def _issues_cookie(
        resolved: ResolvedIdentity, state: dict[str, Any], headers: list[tuple[bytes, bytes]]
    ) -> bool:
        """Whether the response carries the new subject's cookie: the subject is new, the handler used it,
        and the response does not set the subject cookie itself (login, logout and erasure do: theirs is
        the one meant, the response says so, and no flag on the side has to)."""
        return (
            resolved.via == "new"
            and bool(state.get(_USED_KEY))
            and not any(name.lower() == b"set-cookie" and _sets_subject_cookie(v) for name, v in headers)
        )

    async def _unrevoked(self, resolved: ResolvedIdentity) -> ResolvedIdentity:
        """``resolved`` without a customer cookie whose session logout revoked (replayed after logout)."""
        cookie = resolved.cookie
        if cookie is None or cookie.session is None or self.revoked is None:
            return resolved
        if not await self.revoked(cookie.session):
            return resolved
        if resolved.via == "cookie":
            return ResolvedIdentity(
                subject=self.identity.new_anonymous_subject(),
                kind="anonymous",
                via="new",
                token_error=resolved.token_error,
                cookie_rejected=True,
            )
        return msgspec.structs.replace(resolved, cookie=None, cookie_rejected=True)

    async def merge_once(self, anonymous: str, customer: str, scope: dict[str, Any] | None = None) -> None:
        pair = (anonymous, customer)
        if pair in self._merged or self.merge is None:
            return
        if self.mergeable is not None and not await self.mergeable(anonymous):
            return  # nothing to take over (or merged already, maybe by another process): no write, no charge
        if self.charge is not None and scope is not None:
            self.charge(scope)  # a merge is a state change like any other
        await self.merge(anonymous, customer)
        self._merged[pair] = None
        if len(self._merged) > 10_000:
            self._merged.popitem(last=False)
