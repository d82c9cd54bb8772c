"""``/api/v1/registry``, health, admin, ``/.well-known/gpc.json``, ``/``, and every resource's ``Allow``."""

from __future__ import annotations

import hashlib
import html
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any, Literal

import anyio.to_thread
import msgspec
from litestar import Controller, Litestar, MediaType, Request, Response, get, put
from litestar.exceptions import NoRouteMatchFoundException
from litestar.params import FromQuery
from litestar.response import Redirect
from litestar.datastructures import MutableScopeHeaders
from litestar.routes import HTTPRoute
from litestar.status_codes import HTTP_304_NOT_MODIFIED
from litestar.types import Message, Scope

from preference_registry import RegistryStatus

from ..assets import etag_matches
from .context import check_key, request_locale, service_of, settings_of
from .deployment import DeploymentStatus
from .openapi import preference_methods
from .problems import ProblemError
from .views import registry_view

__all__ = [
    "AdminController",
    "AdminStatus",
    "GpcSupport",
    "HealthController",
    "RegistryController",
    "allow_header_hook",
    "gpc_well_known",
    "require_admin",
    "root_page",
]

ADMIN_MAX_BODY_BYTES = 2 * 1024 * 1024
_FORMATS = {"toml": "toml", "yaml": "yaml", "yml": "yaml", "json": "json"}


class RegistryController(Controller):
    path = "/registry"
    tags = ["registry"]

    @get("/", summary="The active registry, localized (?locale= or Accept-Language), with ETag")
    async def registry(
        self, request: Request[Any, Any, Any], locale: FromQuery[str | None] = None
    ) -> Response[Any]:
        snapshot = service_of(request).registry.current
        chosen = request_locale(request, locale, snapshot)
        etag = f'"{snapshot.version}-{chosen}"'
        headers = {
            "ETag": etag,
            "Vary": "Accept-Language",
            "Cache-Control": "no-cache",
            "Content-Language": chosen,
        }
        if etag_matches(request.headers.get("if-none-match"), etag):
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
    deployment: DeploymentStatus | None = None
    """Which version every process of the deployment serves (``None`` without ``bff.cluster``)."""


def require_admin(request: Request[Any, Any, Any]) -> None:
    """Refuse ``request`` unless its ``X-Admin-Key`` is ``PREFKIT_ADMIN_KEY`` (compared in constant time,
    failures throttled per client): 403 when administration is disabled, 401 otherwise. Every admin route of
    the kit and of its plugins (webhooks, insights) calls this one check."""
    expected = settings_of(request).admin_key
    if not expected:
        raise ProblemError(403, "admin-disabled", "administration is disabled (PREFKIT_ADMIN_KEY is not set)")
    if not check_key(request, "X-Admin-Key", expected):
        raise ProblemError(401, "admin-key", "a valid X-Admin-Key header is required", title="Admin key required")


class AdminController(Controller):
    """Needs ``X-Admin-Key`` = ``PREFKIT_ADMIN_KEY``."""

    path = "/admin"
    tags = ["admin"]

    @staticmethod
    def _authorize(request: Request[Any, Any, Any]) -> None:
        require_admin(request)

    @get("/registry", summary="Active registry version, history, last rejected attempt")
    async def status(self, request: Request[Any, Any, Any]) -> AdminStatus:
        self._authorize(request)
        service = service_of(request)
        history = await anyio.to_thread.run_sync(service.registry_versions)
        cluster = request.app.state.get("prefkit_cluster")
        return AdminStatus(active=service.registry.status(), history=history,
                           deployment=None if cluster is None else cluster.status())

    @put(
        "/registry",
        summary="Submit a registry document (TOML/YAML/JSON): validated, stored, activated",
        request_max_body_size=ADMIN_MAX_BODY_BYTES,
        status_code=200,
    )
    async def submit(
        self,
        request: Request[Any, Any, Any],
        format: FromQuery[Literal["toml", "yaml", "yml", "json"] | None] = None,
    ) -> dict[str, Any]:
        self._authorize(request)
        service = service_of(request)
        raw = await request.body()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ProblemError(400, "invalid-request", "the registry document must be UTF-8 text") from None
        fmt = _FORMATS.get(format or "") or _format_from_content_type(
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


class GpcSupport(msgspec.Struct, frozen=True, rename="camel"):
    """The GPC support resource (https://privacycg.github.io/gpc-spec/#gpc-support-resource)."""

    gpc: bool
    """The site honours ``Sec-GPC: 1``."""
    last_update: date
    """When this resource last changed (``lastUpdate``)."""


_GPC = GpcSupport(gpc=True, last_update=date(2026, 11, 22))
_GPC_ETAG = '"' + hashlib.sha256(msgspec.json.encode(_GPC)).hexdigest()[:16] + '"'


@get("/.well-known/gpc.json", summary="Global Privacy Control support resource", tags=["gpc"])
async def gpc_well_known() -> Response[GpcSupport]:
    return Response(
        _GPC,
        media_type="application/json",
        headers={"Cache-Control": "public, max-age=86400", "ETag": _GPC_ETAG},
    )


_PREFERENCE_PREFIX = "/api/v1/preferences/"


def allow_header_hook() -> Callable[[Message, Scope], Awaitable[None]]:
    """A ``before_send`` hook: the automatic ``OPTIONS`` answer's ``Allow`` lists every method of the path.

    Litestar 2 builds that answer from the first handler registered on a path, so ``OPTIONS
    /api/v1/preferences`` said ``GET, OPTIONS`` without ``PATCH`` (litestar#4169, fixed in Litestar 3 only).
    A notice-only preference cannot be withdrawn, so its resource has no ``DELETE`` (see
    :func:`bff.api.openapi.preference_methods`)."""
    by_template: dict[str, str] = {}  # one hook per app (create_app makes its own)

    def methods_of(app: Litestar, template: str) -> str:
        if template not in by_template:
            routes = (r for r in app.routes if isinstance(r, HTTPRoute) and r.path_format == template)
            route = next(routes, None)
            by_template[template] = ", ".join(sorted(route.methods)) if route is not None else ""
        return by_template[template]

    # async on purpose: Litestar runs a sync before_send hook in a worker thread, for every message of
    # every response (it halved hello-world throughput).
    async def hook(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start" or message["status"] not in (204, 405):
            return
        if message["status"] == 204 and scope.get("method") != "OPTIONS":
            return
        app = scope["app"]
        path = scope.get("path", "")
        if path.startswith(_PREFERENCE_PREFIX):
            # Per key, also on the router's own 405 (which knows only the route).
            snapshot = app.state.prefkit.registry.current
            key = path[len(_PREFERENCE_PREFIX):]
            if key in snapshot:
                MutableScopeHeaders.from_message(message)["Allow"] = ", ".join(
                    sorted(preference_methods(snapshot, key)))
                return
        template = scope.get("path_template")
        if message["status"] == 204 and template:
            allow = methods_of(app, template)
            if allow:
                MutableScopeHeaders.from_message(message)["Allow"] = allow

    return hook


_DEMO_LISTING = "demo-listing"
"""Route name of the demo shop's listing (``bff.demo.pages``)."""


def _links(app: Litestar) -> dict[str, str]:
    """Where a newcomer goes from ``/``: only routes this app really serves."""
    links = {"api_docs": "/schema", "openapi": "/schema/openapi.json", "health": "/api/v1/healthz",
             "ready": "/api/v1/readyz", "registry": "/api/v1/registry"}
    script = next((r.path for r in app.routes if r.path.endswith("/prefkit.js")), None)
    if script is not None:
        links["widget_script"] = script
    try:
        links["demo_shop"] = app.route_reverse(_DEMO_LISTING).rstrip("/") + "/"  # the demo's own spelling
    except NoRouteMatchFoundException:
        pass
    return links


_LABELS = {"api_docs": "API documentation", "openapi": "OpenAPI document", "health": "Health",
           "ready": "Readiness", "registry": "Active registry", "widget_script": "Widget script",
           "demo_shop": "Demo shop"}


@get("/", include_in_schema=False, name="prefkit-root")
async def root_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """``prefkit demo``: the shop. Otherwise what this server is and where to go: a short HTML page, or
    JSON for ``Accept: application/json`` (``make demo`` prints this address, so it must not be a 404)."""
    links = _links(request.app)
    if settings_of(request).demo and "demo_shop" in links:
        return Redirect(links["demo_shop"], status_code=303)
    shop = service_of(request).registry.current.shop.name
    headers = {"Vary": "Accept", "Cache-Control": "no-cache"}
    if request.accept.best_match([MediaType.HTML, MediaType.JSON], default=MediaType.HTML) == MediaType.JSON:
        return Response({"service": "prefkit", "shop": shop, "links": links}, headers=headers)
    items = "".join(f'<li><a href="{html.escape(href)}">{html.escape(_LABELS.get(name, name))}</a> '
                    f"<code>{html.escape(href)}</code></li>" for name, href in links.items())
    page = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>prefkit: {html.escape(shop)}'
            f"</title></head><body><h1>prefkit</h1><p>Preference backend of {html.escape(shop)}.</p>"
            f"<ul>{items}</ul></body></html>")
    return Response(page, media_type=MediaType.HTML, headers=headers)
