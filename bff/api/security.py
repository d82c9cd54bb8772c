"""Browser-facing protections: CSRF (Origin) check, security headers, write rate limit.

**CSRF.** A state-changing request (POST/PUT/PATCH/DELETE) authenticated by the subject cookie is
accepted only when

* its ``Origin`` header is the BFF's own origin or one of ``PREFKIT_ALLOWED_ORIGINS``, or
* it has no ``Origin`` and no ``Sec-Fetch-Site: cross-site``/``same-site``, and it carries the header
  ``X-Prefkit-CSRF`` (any non-empty value). HTML forms cannot set custom headers and cross-origin
  ``fetch`` needs a CORS preflight for it, which the allowlist refuses.

Browsers send ``Origin`` on every non-GET request, so the frontend needs nothing special; non-browser
clients add ``X-Prefkit-CSRF: 1``. Exempt are only requests the cookie does not authenticate: those whose
``Authorization: Bearer`` token *verified* (the token, which a browser never attaches on its own, names the
subject; :class:`~bff.identity.IdentityMiddleware` runs first and says so; a token that was presented but
refused is a 401 problem here, before anything runs), and paths that never act on the
cookie's subject (``cookieless_paths``: the admin API, which needs ``X-Admin-Key`` in its handlers). The mere
presence of an ``X-API-Key``, ``X-Admin-Key`` or ``Authorization`` header exempts nothing: a cookie-
authenticated write stays a cookie-authenticated write. The ReactPy component websockets check the
handshake's Origin themselves.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ..identity import identity_from_connection
from ..origins import normalize_origins, origin_allowed
from .context import token_refused
from .problems import PROBLEM_MEDIA_TYPE, Problem

__all__ = ["CSRF_HEADER", "CsrfMiddleware", "SecurityHeadersMiddleware", "frame_ancestors", "is_write"]

CSRF_HEADER = "x-prefkit-csrf"
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def is_write(method: str) -> bool:
    return method.upper() in _WRITE_METHODS


async def _refuse(scope: dict[str, Any], send: Any, detail: str) -> None:
    body = msgspec.json.encode(
        Problem(
            type="urn:prefkit:problem:csrf",
            title="Cross-site request refused",
            status=403,
            detail=detail,
            instance=scope.get("path"),
        )
    )
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class CsrfMiddleware:
    """Refuses cookie-authenticated cross-site writes (see module doc)."""

    def __init__(
        self, app: Any, allowed_origins: tuple[str, ...] = (), cookieless_paths: tuple[str, ...] = ()
    ) -> None:
        self.app = app
        self.allowed = frozenset(normalize_origins(allowed_origins))
        self.cookieless = tuple(path.rstrip("/") for path in cookieless_paths)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] not in _WRITE_METHODS or self._cookieless(scope):
            await self.app(scope, receive, send)
            return
        identity = identity_from_connection(scope, personal=False)
        if identity.via == "bearer":  # a token that verified names the subject
            await self.app(scope, receive, send)
            return
        if identity.token_error:
            # A token was presented and refused: say so (401) rather than let the cookie act instead.
            raise token_refused(identity.token_error)
        headers = {name.lower(): value for name, value in scope.get("headers", ())}
        problem = self.check(scope, headers)
        if problem:
            await _refuse(scope, send, problem)
            return
        await self.app(scope, receive, send)

    def _cookieless(self, scope: dict[str, Any]) -> bool:
        path = scope.get("path", "")
        return any(path == prefix or path.startswith(prefix + "/") for prefix in self.cookieless)

    def check(self, scope: dict[str, Any], headers: dict[bytes, bytes]) -> str | None:
        """Why the request must be refused, or ``None``."""
        origin_header = headers.get(b"origin")
        if origin_header is not None:
            host = headers.get(b"host", b"").decode("latin-1")
            if origin_allowed(origin_header.decode("latin-1"), host, self.allowed):
                return None
            return (
                f"origin {origin_header.decode('latin-1')!r} may not change preferences here "
                "(not this site and not in PREFKIT_ALLOWED_ORIGINS)"
            )
        fetch_site = headers.get(b"sec-fetch-site", b"").decode("latin-1").lower()
        if fetch_site in ("cross-site", "same-site"):
            return f"cross-site request without an Origin header (Sec-Fetch-Site: {fetch_site})"
        if not headers.get(CSRF_HEADER.encode()):
            return (
                "a state-changing request authenticated by cookie needs an Origin header (browsers send it) "
                "or the header X-Prefkit-CSRF: 1"
            )
        return None


def frame_ancestors(allowed_origins: tuple[str, ...]) -> str:
    """The CSP ``frame-ancestors`` sources: this site plus the allowlisted shop origins."""
    return " ".join(["'self'", *sorted(normalize_origins(allowed_origins))])


class SecurityHeadersMiddleware:
    """Adds ``X-Content-Type-Options``, ``Referrer-Policy`` and a CSP whose ``frame-ancestors`` is this site
    plus the allowlist (so the preference center can be embedded only by the shop's own pages). API
    responses (``/api/``) get a locked-down ``default-src 'none'`` policy on top."""

    def __init__(self, app: Any, allowed_origins: tuple[str, ...] = ()) -> None:
        self.app = app
        ancestors = frame_ancestors(allowed_origins)
        self.page_csp = f"frame-ancestors {ancestors}; object-src 'none'; base-uri 'self'".encode()
        self.api_csp = f"default-src 'none'; frame-ancestors {ancestors}".encode()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = self.api_csp if scope.get("path", "").startswith("/api/") else self.page_csp

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"strict-origin-when-cross-origin"),
                    (b"content-security-policy", csp),
                ]
                message = {
                    **message,
                    "headers": [*message.get("headers", []), *(h for h in extra if h[0] not in present)],
                }
            await send(message)

        await self.app(scope, receive, send_with_headers)
