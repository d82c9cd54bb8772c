"""The Litestar application: ``create_app(settings, plugins=...)``.

Everything beyond the core API (registry, preferences, consents, profile, sessions, admin, health) comes in
through explicit plugins (:mod:`bff.plugins`): ``create_app`` builds the service, registry and identity, hands
them to every plugin's ``on_prefkit_init`` in a :class:`~bff.plugins.PluginSetup`, and wires what the plugins
contributed: route handlers, widgets (served by the ReactPy bridge, :mod:`bff.reactpy_bridge`), ``app.state``
entries and lifespan hooks. ``plugins=None`` means :func:`default_plugins`, the one place that lists what a
plain ``prefkit serve`` app contains. Nothing registers itself on import; two apps share no table.

The :class:`~bff.service.PreferenceService` is on ``app.state.prefkit`` (widgets reach it through
``connection.app.state.prefkit``), the settings on ``app.state.prefkit_settings``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
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
from .catalog import CatalogPlugin
from .cluster import ClusterPlugin
from .demo import DemoPlugin
from .identity import Identity, IdentityMiddleware
from .insights import InsightsPlugin
from .limits import BUDGET_STATE_KEY, WriteBudget, WriteLimitMiddleware, charge_write
from .metrics import MetricsPlugin
from .page_api import PageApiPlugin
from .plugins import PluginConflictError, PluginSetup, PrefkitPlugin
from .reactpy_bridge import ReactPyBridgeConfig, create_reactpy_router
from .rights_plugin import RightsPlugin
from .service import PreferenceService
from .sessions import SessionRevocations
from .settings import Settings
from .storage import Database
from .studio import StudioPlugin
from .webhooks import webhooks_plugins
from .widgets import WidgetsPlugin

__all__ = ["API_PREFIX", "create_app", "default_plugins"]

logger = logging.getLogger("prefkit.app")

API_PREFIX = "/api/v1"


def default_plugins(settings: Settings) -> list[PrefkitPlugin]:
    """What an app contains when ``create_app`` gets no ``plugins``: the demo shop (its pages unless
    ``settings.extra["demo_pages"]`` is ``False``; its live widgets always), the catalog API, the data-subject
    rights endpoints (``/api/v1/me``), the preference widgets with their assets, and the page API of
    ``prefkit.js`` (Consent Mode defaults, the shopper's state and its change stream), and the signed webhooks
    when ``settings.webhooks_file`` configures subscribers (:mod:`bff.webhooks`).

    A shop adds its own plugin after these (``[*default_plugins(settings), ShopPlugin()]``) or picks the
    ones it wants."""
    return [
        DemoPlugin(pages=settings.extra.get("demo_pages", True) is not False),
        CatalogPlugin(),
        RightsPlugin(),
        WidgetsPlugin(),
        PageApiPlugin(),
        *webhooks_plugins(settings),  # only when PREFKIT_WEBHOOKS names subscribers
        MetricsPlugin(),  # /metrics: answers only a scrape with PREFKIT_METRICS_KEY
        # /studio/: the merchant studio; signs in only with PREFKIT_ADMIN_KEY; extra["studio"] = False: none.
        *([StudioPlugin()] if settings.extra.get("studio", True) is not False else []),
        ClusterPlugin(),  # several processes on one database act as one
        InsightsPlugin(),  # /api/v1/admin/insights (admin key), POST /api/v1/conversions (API key)
    ]


def _counts_as_write(scope: Mapping[str, Any]) -> bool:
    # Admin reads count too: otherwise GET /admin/registry is an unlimited oracle for guessing the admin key.
    return is_write(scope["method"]) or scope["path"].startswith(API_PREFIX + "/admin")


def create_app(
    settings: Settings,
    *,
    registry: RegistryService | None = None,
    database: Database | None = None,
    service: PreferenceService | None = None,
    plugins: Sequence[PrefkitPlugin] | None = None,
    migrate: bool = True,
    watch: bool = True,
) -> Litestar:
    """The BFF for ``settings`` with ``plugins`` (``None``: :func:`default_plugins`; ``[]``: the core API
    only). ``registry``/``database``/``service`` override what settings describe (tests inject a clock
    through ``service``). Migrations run and the registry file is watched while the app is running
    (lifespan), unless ``migrate``/``watch`` say otherwise. Two plugins claiming one widget name or state
    key, or a plugin claiming a ``prefkit*`` state key of the kit's own, is a :class:`PluginConflictError`."""
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
    plugins = list(default_plugins(settings) if plugins is None else plugins)
    setup = PluginSetup(settings=settings, service=service, registry=registry, identity=identity)
    setup.run(plugins)
    extra_handlers: list[Any] = list(setup.route_handlers)
    if setup.widgets:
        extra_handlers.insert(
            0,
            create_reactpy_router(
                ReactPyBridgeConfig(
                    widgets=dict(setup.widgets),
                    allowed_origins=settings.allowed_origins,
                    sockets=setup.sockets,  # one per-client count for every socket route (bff/sockets.py)
                )
            ),
        )

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
            # Never cookie-authenticated: the admin API (X-Admin-Key) and the shop backend's conversion
            # reports (X-API-Key, the subject in the body), both checked in their handlers.
            cookieless_paths=(API_PREFIX + "/admin", API_PREFIX + "/conversions"),
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

    kit_state: dict[str, Any] = {
        "prefkit": service,
        "prefkit_settings": settings,
        "prefkit_identity": identity,
        "prefkit_sessions": sessions,
        "prefkit_key_throttle": KeyFailureThrottle(),
        BUDGET_STATE_KEY: budget,
    }
    taken = sorted(set(setup.state) & set(kit_state))
    if taken:
        raise PluginConflictError(f"state keys {taken} belong to the kit; a plugin must use other names")

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
            render_plugins=[
                RegistryAwareJsonPlugin(lambda: registry.current, setup.openapi_hooks),
                ScalarRenderPlugin(path="/"),
            ],
        ),
        state=State({**setup.state, **kit_state}),
        lifespan=[lifespan, *setup.lifespan],
        plugins=plugins,  # each is a Litestar InitPlugin too: its on_app_init runs here
    )
    return app
