"""An HTTP client of prefkit's ``/api/v1`` acting as the same subject as a browser context.

The subject lives in the HttpOnly cookie ``prefkit_sid``. :class:`PrefkitApi` reads the browser
context's cookies before every request and hands any cookie the server sets back to the context, so the
API client and the shopper's pages are one subject whichever of them spoke first.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urlsplit

import httpx

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext

__all__ = ["API_PREFIX", "ApiError", "PrefkitApi"]

API_PREFIX = "/api/v1"
_CSRF_HEADER = (
    "X-Prefkit-CSRF"  # non-browser clients mark cookie-authenticated writes (see bff/api/security.py)
)


class ApiError(AssertionError):
    """An API call answered with an unexpected status; the message carries method, URL, status and body."""

    def __init__(self, response: httpx.Response, expected: int | tuple[int, ...]) -> None:
        self.response = response
        super().__init__(
            f"{response.request.method} {response.request.url} -> {response.status_code} "
            f"(expected {expected}): {response.text[:2000]}"
        )


class PrefkitApi:
    """Calls ``/api/v1`` as the subject of ``context`` (or as a cookie-jar-only subject when None)."""

    def __init__(
        self,
        base_url: str,
        context: BrowserContext | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        admin_key: str | None = None,
        timeout_s: float = 15.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.context = context
        self.admin_key = admin_key
        hooks: dict[str, list[Any]] = {}
        if context is not None:
            hooks = {"request": [self._cookies_from_context], "response": [self._cookies_to_context]}
        self.http = httpx.Client(
            base_url=self.base_url,
            headers=dict(headers or {}),
            timeout=timeout_s,
            event_hooks=hooks,
            follow_redirects=False,
        )

    # --- cookie sharing with the browser context ---------------------------------------------------------

    def _cookies_from_context(self, request: httpx.Request) -> None:
        assert self.context is not None
        cookies = self.context.cookies(str(request.url))
        if cookies:
            request.headers["cookie"] = "; ".join(f"{c['name']}={c['value']}" for c in cookies)
        elif "cookie" in request.headers:
            del request.headers["cookie"]

    def _cookies_to_context(self, response: httpx.Response) -> None:
        assert self.context is not None
        host = urlsplit(self.base_url).hostname or "127.0.0.1"
        for header in response.headers.get_list("set-cookie"):
            jar = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                cookie: dict[str, Any] = {
                    "name": name,
                    "value": morsel.value,
                    "domain": host,
                    "path": morsel["path"] or "/",
                    "httpOnly": bool(morsel["httponly"]),
                    "secure": bool(morsel["secure"]),
                    "sameSite": (morsel["samesite"] or "Lax").capitalize(),
                }
                if morsel["max-age"]:
                    cookie["expires"] = time.time() + int(morsel["max-age"])
                self.context.add_cookies([cookie])  # type: ignore[list-item]
        # The context is the one cookie store; httpx must not replay a stale copy of its own.
        self.http.cookies.clear()

    # --- plumbing ------------------------------------------------------------------------------------------

    def request(
        self, method: str, path: str, *, expect: int | tuple[int, ...] | None = 200, **kwargs: Any
    ) -> httpx.Response:
        """Send a request to ``path`` (relative to the API root unless it starts with ``/``)."""
        url = path if path.startswith("/") else f"{API_PREFIX}/{path}"
        headers = dict(kwargs.pop("headers", None) or {})
        if method.upper() in {"POST", "PUT", "PATCH", "DELETE"}:
            headers.setdefault(_CSRF_HEADER, "1")
        response = self.http.request(method, url, headers=headers, **kwargs)
        if expect is not None:
            allowed = expect if isinstance(expect, tuple) else (expect,)
            if response.status_code not in allowed:
                raise ApiError(response, expect)
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """The decoded JSON body of a request that must succeed."""
        return self.request(method, path, **kwargs).json()

    # --- the API, as the flows use it -----------------------------------------------------------------------

    def registry(self, locale: str | None = None) -> dict[str, Any]:
        """``GET /registry``: the active registry, texts in ``locale``."""
        return self.json("GET", "registry", params={"locale": locale} if locale else None)

    def preferences(self) -> dict[str, Any]:
        """``GET /preferences``: every preference of the subject (``preferences`` by key)."""
        return self.json("GET", "preferences")

    def preference(self, key: str) -> dict[str, Any]:
        """``GET /preferences/{key}``: value, source, in_effect, stale, missing_requirements..."""
        return self.json("GET", f"preferences/{key}")

    def set_preference(self, key: str, value: Any) -> dict[str, Any]:
        """``PUT /preferences/{key}``."""
        return self.json("PUT", f"preferences/{key}", json={"value": value})

    def reset_preference(self, key: str) -> dict[str, Any]:
        """``DELETE /preferences/{key}`` (for a consent: a withdrawal)."""
        return self.json("DELETE", f"preferences/{key}")

    def accept_all(self) -> dict[str, Any]:
        """``POST /consents/accept-all``."""
        return self.json("POST", "consents/accept-all")

    def reject_all(self) -> dict[str, Any]:
        """``POST /consents/reject-all``."""
        return self.json("POST", "consents/reject-all")

    def history(self, locale: str | None = None) -> list[dict[str, Any]]:
        """``GET /consents/history``: the subject's ledger events, newest first."""
        body = self.json("GET", "consents/history", params={"locale": locale} if locale else None)
        assert body["chain"]["valid"], f"the subject's ledger hash chain does not verify: {body['chain']}"
        return list(body["events"])

    def profile(self) -> dict[str, Any]:
        """``GET /profile``: what downstream systems may use."""
        return self.json("GET", "profile")

    def login(self, token: str) -> dict[str, Any]:
        """``POST /session/login`` with a customer token: the subject becomes the customer."""
        return self.json("POST", "session/login", json={"token": token})

    def admin_registry(self) -> dict[str, Any]:
        """``GET /admin/registry`` (needs the admin key): active version, history, last rejection."""
        if not self.admin_key:
            raise RuntimeError("no admin key known for this server (pass --prefkit-admin-key)")
        return self.json("GET", "admin/registry", headers={"X-Admin-Key": self.admin_key})

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
