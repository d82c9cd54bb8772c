"""Studio sessions: the admin key is exchanged once, at the login form, for a short-lived signed HttpOnly
cookie naming a server-side session; every action carries that session's CSRF token.

* The key travels only in the login form's POST body (never in a URL, never stored in the browser); the
  check is :func:`bff.api.context.keys_match` (constant time) behind the kit's per-client key-failure
  throttle (the same one ``X-Admin-Key`` uses: 10 failures a minute, then 429 for right and wrong keys).
* The cookie is ``sid.expires.HMAC`` (keyed with ``PREFKIT_SECRET``, domain-separated from the subject
  cookie), ``HttpOnly; SameSite=Strict; Path=/`` (``__Host-`` and ``Secure`` under https). The session lives
  in process memory: logout or expiry ends it, and a replayed cookie of an ended session is refused.
* CSRF: a random per-session token, compared in constant time, in a hidden field of every form and the
  ``X-Studio-CSRF`` header of every ``fetch``; the login form has its own token bound to a pre-login cookie.
  The kit's Origin check (:class:`bff.api.security.CsrfMiddleware`) runs before all of it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from litestar.datastructures import Cookie

from .draft import Draft

__all__ = ["COOKIE", "CSRF_HEADER", "LOGIN_COOKIE", "StudioSession", "StudioSessions", "cookie_of", "label_for_key",
           "studio_cookie"]

COOKIE = "prefkit_studio"
LOGIN_COOKIE = "prefkit_studio_login"
CSRF_HEADER = "X-Studio-CSRF"
_MAX_SESSIONS = 64


def _mac(secret: str, purpose: str, message: str) -> str:
    digest = hmac.new(secret.encode(), f"prefkit-studio/{purpose}\n{message}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def label_for_key(presented: str, keys: Mapping[str, str]) -> str | None:
    """The label of the admin key ``presented`` among ``label -> key``; every key is compared (constant
    time each), so the answer's timing does not tell which label nearly matched."""
    from ..api.context import keys_match  # the kit's one constant-time key comparison

    found = None
    for label, key in keys.items():
        if keys_match(presented, key) and found is None:
            found = label
    return found


@dataclass(eq=False)
class StudioSession:
    sid: str
    label: str
    """Who is editing: the label of the admin key used at login (shown in the history)."""
    csrf: str
    expires_at: float
    locale: str = "en"
    """The studio's language for this merchant (``?lang=pl|en`` changes it)."""
    drafts: dict[str, Draft] = field(default_factory=dict)
    """The session's draft (key ``"main"``): one per session, edited by the forms and the raw tab."""

    def csrf_ok(self, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(presented.encode("utf-8", "surrogatepass"),
                                                             self.csrf.encode())


class StudioSessions:
    """The live studio sessions of one app (process memory, bounded: the oldest go first)."""

    def __init__(self, secret: str, *, ttl_s: float = 1800, clock: Callable[[], float] = time.time) -> None:
        self.secret = secret
        self.ttl_s = ttl_s
        self.clock = clock
        self._sessions: OrderedDict[str, StudioSession] = OrderedDict()
        self._lock = threading.Lock()

    def create(self, label: str) -> tuple[StudioSession, str]:
        """A new session and its cookie value."""
        sid = secrets.token_urlsafe(24)
        expires = int(self.clock() + self.ttl_s)
        session = StudioSession(sid, label, secrets.token_urlsafe(24), expires)
        with self._lock:
            self._sessions[sid] = session
            while len(self._sessions) > _MAX_SESSIONS:
                self._sessions.popitem(last=False)
        return session, f"{sid}.{expires}.{_mac(self.secret, 'session', f'{sid}.{expires}')}"

    def resolve(self, cookie: str | None) -> StudioSession | None:
        """The live session a cookie value names, or ``None`` (malformed, forged, expired, ended)."""
        if not cookie or len(cookie) > 200:
            return None
        sid, _, rest = cookie.partition(".")
        expires, _, mac = rest.partition(".")
        if not sid or not expires.isdigit() or not hmac.compare_digest(
                mac.encode("utf-8", "surrogatepass"), _mac(self.secret, "session", f"{sid}.{expires}").encode()):
            return None
        if int(expires) <= self.clock():
            self.end(sid)
            return None
        with self._lock:
            session = self._sessions.get(sid)
        if session is None or session.expires_at != int(expires):
            return None
        return session

    def end(self, sid: str) -> None:
        with self._lock:
            self._sessions.pop(sid, None)

    # -- the login form's own CSRF token --------------------------------------------------------
    def login_nonce(self) -> tuple[str, str]:
        """``(cookie value, form token)`` for one login form."""
        nonce = secrets.token_urlsafe(18)
        return nonce, _mac(self.secret, "login", nonce)

    def login_token_ok(self, nonce: str | None, token: str | None) -> bool:
        if not nonce or not token or len(nonce) > 64:
            return False
        return hmac.compare_digest(token.encode("utf-8", "surrogatepass"),
                                   _mac(self.secret, "login", nonce).encode())


def studio_cookie(name: str, value: str, *, secure: bool, max_age: int) -> Cookie:
    """A host-only, HttpOnly, SameSite=Strict cookie on ``/`` (the preview's websocket under ``/_prefkit``
    needs it too); ``__Host-`` prefixed and ``Secure`` under https. ``max_age=0`` deletes it."""
    return Cookie(key=f"__Host-{name}" if secure else name, value=value, path="/", httponly=True,
                  samesite="strict", secure=secure, max_age=max_age)


def cookie_of(cookies: Mapping[str, Any], name: str, *, secure: bool) -> str | None:
    value = cookies.get(f"__Host-{name}" if secure else name)
    return value if isinstance(value, str) else None
