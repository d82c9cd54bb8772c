"""The Litestar application: ``create_app(settings)``.

Other parts of the kit plug their routes in with one line, without this module knowing them::

    # bff/demo/__init__.py
    from bff.app import register_routes
    register_routes(lambda context: [create_demo_router(context)])

``create_app`` imports the optional modules listed in :data:`OPTIONAL_MODULES` (a missing module is
skipped; an error *inside* one is raised, never hidden), then calls every registered factory with an
:class:`AppContext`. The ReactPy bridge is wired here directly when ``bff.widgets`` exists: its
``WIDGETS`` mapping is served by ``bff.reactpy_bridge.create_reactpy_router``.

The :class:`~bff.service.PreferenceService` is on ``app.state.prefkit`` (widgets reach it through
``connection.app.state.prefkit``), the settings on ``app.state.prefkit_settings``.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from litestar import Litestar, Router
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from sqlalchemy import exc as sa_exc

from preference_registry import RegistryService

from .api.body import StrictJsonRequest
from .api.context import KeyFailureThrottle
from .api.openapi import RegistryAwareJsonPlugin
from .api.preferences import ConsentController, PreferenceController, ProfileController, SessionController
from .api.problems import exception_handlers
from .api.security import CSRF_HEADER, CsrfMiddleware, SecurityHeadersMiddleware, is_write
from .api.system import (
    AdminController,
    HealthController,
    RegistryController,
    allow_header_hook,
    gpc_well_known,
    root_page,
)
from .identity import Identity, IdentityMiddleware
from .limits import BUDGET_STATE_KEY, WriteBudget, WriteLimitMiddleware, charge_write
from .service import PreferenceService
from .sessions import SessionRevocations
from .settings import Settings
from .storage import Database

__all__ = ["API_PREFIX", "OPTIONAL_MODULES", "AppContext", "RouteFactory", "create_app", "register_routes"]

logger = logging.getLogger("prefkit.app")

API_PREFIX = "/api/v1"

OPTIONAL_MODULES: list[str] = ["bff.demo", "bff.catalog", "bff.rights"]
"""Imported by :func:`create_app` when present; they call :func:`register_routes` at import time."""


@dataclass(frozen=True, kw_only=True)
class AppContext:
    """What a route factory gets to build its routes."""

    settings: Settings
    """The app's settings."""
    service: PreferenceService
    """Reads and writes preferences (also on ``app.state.prefkit``)."""
    registry: RegistryService
    """The live registry."""
    identity: Identity
    """Cookie/token helper (the subject of a connection: ``bff.identity.subject_from_connection``)."""


RouteFactory = Callable[[AppContext], Iterable[Any]]
"""Returns Litestar route handlers, controllers or routers."""

_route_factories: list[RouteFactory] = []


def register_routes(factory: RouteFactory) -> RouteFactory:
    """Add routes to every app created from now on (idempotent per factory; usable as a decorator)."""
    if factory not in _route_factories:
        _route_factories.append(factory)
    return factory


def _import_optional(name: str) -> Any | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (exc.name == name or name.startswith(exc.name + ".")):
            return None  # the module is simply not part of this installation
        raise


def _reactpy_router(context: AppContext) -> Router | None:
    widgets_module = _import_optional("bff.widgets")
    if widgets_module is None or not hasattr(widgets_module, "WIDGETS"):
        return None
    from .reactpy_bridge import ReactPyBridgeConfig, create_reactpy_router

    return create_reactpy_router(
        ReactPyBridgeConfig(
            widgets=widgets_module.WIDGETS,
            allowed_origins=context.settings.allowed_origins,
            max_sockets_per_client=context.settings.max_sockets_per_client,
        )
    )


def _counts_as_write(scope: Mapping[str, Any]) -> bool:
    # Admin reads count too: otherwise GET /admin/registry is an unlimited oracle for guessing the admin key.
    return is_write(scope["method"]) or scope["path"].startswith(API_PREFIX + "/admin")


def create_app(
    settings: Settings,
    *,
    registry: RegistryService | None = None,
    database: Database | None = None,
    service: PreferenceService | None = None,
    migrate: bool = True,
    watch: bool = True,
) -> Litestar:
    """The BFF for ``settings``. ``registry``/``database``/``service`` override what settings describe
    (tests inject a clock through ``service``). Migrations run and the registry file is watched while the
    app is running (lifespan), unless ``migrate``/``watch`` say otherwise."""
    if service is not None:
        registry, database = service.registry, service.database
    if registry is None:
        if not settings.registry_path:
            raise ValueError("no registry: set PREFKIT_REGISTRY or pass --registry FILE")
        registry = RegistryService.from_file(settings.registry_path)
    database = database or Database(settings.database_url)
    service = service or PreferenceService(registry, database)
    identity = Identity(
        secret=settings.secret,
        shop_secret=settings.shop_secret,
        cookie_secure=settings.cookie_secure,
        customer_session_days=settings.customer_session_days,
    )
    context = AppContext(settings=settings, service=service, registry=registry, identity=identity)

    for name in OPTIONAL_MODULES:
        _import_optional(name)
    extra_handlers: list[Any] = []
    bridge = _reactpy_router(context)
    if bridge is not None:
        extra_handlers.append(bridge)
    for factory in _route_factories:
        extra_handlers.extend(factory(context))

    api = Router(
        path=API_PREFIX,
        route_handlers=[
            RegistryController,
            PreferenceController,
            ConsentController,
            ProfileController,
            SessionController,
            AdminController,
            HealthController,
        ],
    )

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if migrate:
            revision = await anyio.to_thread.run_sync(database.migrate)
            logger.info("database %s at revision %s", database.url.render_as_string(), revision)
        try:
            await anyio.to_thread.run_sync(service.record_registry_version, registry.current)
        except sa_exc.DBAPIError as exc:
            # Start anyway: /readyz reports the database as unreachable and load balancers keep traffic away;
            # the version is stored again on the next activation.
            logger.warning("could not store registry version %s: %s", registry.current.version, exc)
        unsubscribe = registry.subscribe(service.record_registry_version)
        stop = asyncio.Event()
        watcher = asyncio.create_task(registry.watch(stop)) if watch and registry.path is not None else None
        try:
            yield
        finally:
            unsubscribe()
            stop.set()
            if watcher is not None:
                try:
                    await asyncio.wait_for(watcher, timeout=5)
                except (asyncio.TimeoutError, asyncio.CancelledError):
                    watcher.cancel()

    sessions = SessionRevocations(database)
    middleware: list[Any] = [
        DefineMiddleware(SecurityHeadersMiddleware, allowed_origins=settings.allowed_origins),
        # Identity before CSRF: the CSRF exemption needs to know whether a token actually authenticated.
        DefineMiddleware(
            IdentityMiddleware,
            identity=identity,
            merge=service.merge,
            mergeable=service.mergeable,
            revoked=sessions.is_revoked,
            charge=charge_write,
        ),
        DefineMiddleware(
            CsrfMiddleware,
            allowed_origins=settings.allowed_origins,
            cookieless_paths=(API_PREFIX + "/admin",),
        ),
    ]
    # One budget for every state-changing path (bff/limits.py): this middleware charges HTTP writes, the
    # widgets' store charges websocket writes, the identity middleware charges merges (charge_write).
    limit = settings.write_rate_limit_per_minute
    budget = WriteBudget(limit) if limit else None
    if budget is not None:
        middleware.append(DefineMiddleware(WriteLimitMiddleware, budget=budget, counts=_counts_as_write))

    cors = (
        CORSConfig(
            allow_origins=list(settings.allowed_origins),
            allow_credentials=True,
            allow_methods=["GET", "PUT", "PATCH", "DELETE", "POST", "OPTIONS"],
            allow_headers=["content-type", "authorization", "sec-gpc", CSRF_HEADER],
            expose_headers=["etag"],
        )
        if settings.allowed_origins
        else None
    )

    app = Litestar(
        route_handlers=[api, gpc_well_known, root_page, *extra_handlers],
        before_send=[allow_header_hook()],  # OPTIONS' Allow lists every method of the path (litestar#4169)
        middleware=middleware,
        exception_handlers=exception_handlers,
        request_class=StrictJsonRequest,
        cors_config=cors,
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="prefkit BFF",
            version="1",
            path="/schema",
            description="Registry-driven preference endpoints. Errors are RFC 9457 application/problem+json.",
            render_plugins=[RegistryAwareJsonPlugin(lambda: registry.current), ScalarRenderPlugin(path="/")],
        ),
        state=State(
            {
                "prefkit": service,
                "prefkit_settings": settings,
                "prefkit_identity": identity,
                "prefkit_sessions": sessions,
                "prefkit_key_throttle": KeyFailureThrottle(),
                "prefkit_context": context,
                BUDGET_STATE_KEY: budget,
            }
        ),
        lifespan=[lifespan],
    )
    return app
