"""``/api/v1/registry``, health, admin and ``/.well-known/gpc.json``."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import anyio.to_thread
import msgspec
from litestar import Controller, Request, Response, get, put
from litestar.status_codes import HTTP_304_NOT_MODIFIED

from preference_registry import RegistryStatus, negotiate_locale

from .context import keys_match, service_of, settings_of
from .problems import ProblemError
from .views import registry_view

__all__ = ["AdminController", "HealthController", "RegistryController", "gpc_well_known"]

ADMIN_MAX_BODY_BYTES = 2 * 1024 * 1024
_FORMATS = {"toml": "toml", "yaml": "yaml", "yml": "yaml", "json": "json"}


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    candidates = [part.strip() for part in if_none_match.split(",")]
    return "*" in candidates or any(c.removeprefix("W/") == etag for c in candidates)


class RegistryController(Controller):
    path = "/registry"
    tags = ["registry"]

    @get("/", summary="The active registry, localized (?locale= or Accept-Language), with ETag")
    async def registry(self, request: Request[Any, Any, Any], locale: str | None = None) -> Response[Any]:
        snapshot = service_of(request).registry.current
        chosen = negotiate_locale(
            locale, request.headers.get("accept-language"), snapshot.locales, snapshot.default_locale
        )
        etag = f'"{snapshot.version}-{chosen}"'
        headers = {
            "ETag": etag,
            "Vary": "Accept-Language",
            "Cache-Control": "no-cache",
            "Content-Language": chosen,
        }
        if _etag_matches(request.headers.get("if-none-match"), etag):
            return Response(b"", status_code=HTTP_304_NOT_MODIFIED, headers=headers)
        return Response(registry_view(snapshot, chosen), headers=headers)


class HealthController(Controller):
    path = "/"
    tags = ["health"]

    @get("/healthz", summary="The process is up")
    async def healthz(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/readyz", summary="Database reachable and registry loaded")
    async def readyz(self, request: Request[Any, Any, Any]) -> dict[str, Any]:
        service = service_of(request)
        try:
            await anyio.to_thread.run_sync(service.database.ping)
        except Exception as exc:  # noqa: BLE001 - any driver error means "not ready"
            raise ProblemError(503, "not-ready", f"database unreachable: {type(exc).__name__}") from None
        snapshot = service.registry.current
        return {
            "status": "ready",
            "database": service.database.url.get_backend_name(),
            "registry_version": snapshot.version,
            "preference_count": len(snapshot.preferences),
        }


class AdminStatus(msgspec.Struct, frozen=True, kw_only=True):
    """Registry administration view."""

    active: RegistryStatus
    """What is live, with the last refused document and its errors."""
    history: list[dict[str, Any]]
    """Every registry version ever activated (stored), most recent first."""


class AdminController(Controller):
    """Needs ``X-Admin-Key`` = ``PREFKIT_ADMIN_KEY``."""

    path = "/admin"
    tags = ["admin"]

    @staticmethod
    def _authorize(request: Request[Any, Any, Any]) -> None:
        expected = settings_of(request).admin_key
        if not expected:
            raise ProblemError(
                403, "admin-disabled", "administration is disabled (PREFKIT_ADMIN_KEY is not set)"
            )
        if not keys_match(request.headers.get("x-admin-key"), expected):
            raise ProblemError(
                401, "admin-key", "a valid X-Admin-Key header is required", title="Admin key required"
            )

    @get("/registry", summary="Active registry version, history, last rejected attempt")
    async def status(self, request: Request[Any, Any, Any]) -> AdminStatus:
        self._authorize(request)
        service = service_of(request)
        history = await anyio.to_thread.run_sync(service.registry_versions)
        return AdminStatus(active=service.registry.status(), history=history)

    @put(
        "/registry",
        summary="Submit a registry document (TOML/YAML/JSON): validated, stored, activated",
        request_max_body_size=ADMIN_MAX_BODY_BYTES,
        status_code=200,
    )
    async def submit(self, request: Request[Any, Any, Any], format: str | None = None) -> dict[str, Any]:
        self._authorize(request)
        service = service_of(request)
        raw = await request.body()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ProblemError(400, "invalid-request", "the registry document must be UTF-8 text") from None
        fmt = _FORMATS.get((format or "").lower()) or _format_from_content_type(
            request.headers.get("content-type")
        )
        source = f"admin upload {datetime.now(UTC).isoformat(timespec='seconds')}"
        # RegistryLoadError -> 422 problem listing every error (see problems.py); the old registry stays.
        snapshot = await anyio.to_thread.run_sync(lambda: service.registry.validate(text, fmt, source))
        # Activation notifies listeners, one of which stores the version in the database: off the loop.
        activated = await anyio.to_thread.run_sync(service.registry.activate, snapshot)
        return {
            "version": snapshot.version,
            "activated": activated,
            "preference_count": len(snapshot.preferences),
            "warnings": [msgspec.to_builtins(w) for w in snapshot.warnings],
        }


def _format_from_content_type(content_type: str | None) -> Any:
    if not content_type:
        return None
    lowered = content_type.split(";", 1)[0].strip().lower()
    for marker, fmt in (("toml", "toml"), ("yaml", "yaml"), ("yml", "yaml"), ("json", "json")):
        if marker in lowered:
            return fmt
    return None


_GPC_DOCUMENT = msgspec.json.encode({"gpc": True, "lastUpdate": "2026-11-22"})


@get("/.well-known/gpc.json", summary="Global Privacy Control support resource", tags=["gpc"])
async def gpc_well_known() -> Response[bytes]:
    return Response(
        _GPC_DOCUMENT,
        media_type="application/json",
        headers={
            "Cache-Control": "public, max-age=86400",
            "ETag": '"' + hashlib.sha256(_GPC_DOCUMENT).hexdigest()[:16] + '"',
        },
    )
