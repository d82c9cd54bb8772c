"""Operations metrics in the Prometheus text format: ``GET /metrics`` (:class:`MetricsPlugin`).

Scraping needs ``Authorization: Bearer <PREFKIT_METRICS_KEY>`` (the key is checked like the admin key:
constant time, failures throttled per client); without ``PREFKIT_METRICS_KEY`` the endpoint answers 403.

Series (no label ever carries a subject id, a key a shopper chose, an address or a raw path):

* ``prefkit_http_requests_total{family, method, status}`` and ``prefkit_http_request_duration_seconds
  {family, method}``: per *route family* (:func:`route_family`: ``preferences``, ``consents``, ``admin``,
  ``widget-assets``... a fixed list, so a scanner's random paths add no series) and status class (``2xx``).
* ``prefkit_preference_changes_total{method}`` and ``prefkit_ledger_events_total{method}``: committed
  changes of this deployment by method (``ui``, ``api``, ``accept_all``, ``gpc``, ``expiry``, ``merge``,
  ``erasure``...), from the service's :class:`~bff.events.EventBus`. Each process counts the changes it
  committed itself, never ones forwarded from another process (``bff.cluster``), so the sum over processes
  is the deployment's.
* ``prefkit_widget_sessions``: component websockets open now.
* ``prefkit_registry_active{version}`` (1 for the version this process serves), ``prefkit_registry_
  activations_total``, ``prefkit_registry_rejections_total`` (refused uploads and file reloads).
* ``prefkit_database_errors_total{error}``: database errors that reached a request (the exception class).

**Several worker processes** (``prefkit serve --workers N``) write their values to files in
``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's multiprocess mode; the supervisor creates and empties the
directory when the variable is not set), and every scrape, whichever worker answers it, reports the sum over
the workers (``prefkit_registry_active`` per worker, with a ``pid`` label). Separate ``prefkit serve``
processes, on one machine or several, are separate scrape targets.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, Final

from litestar import Litestar, Request, Response, get
from litestar.config.app import AppConfig
from sqlalchemy import exc as sa_exc

from .api.context import check_key, settings_of
from .api.problems import ProblemError
from .events import ChangeEvent, RegistryActivated
from .plugins import PluginSetup, PrefkitPlugin

__all__ = ["METRICS_PATH", "MULTIPROC_ENV", "MetricsPlugin", "route_family"]

METRICS_PATH: Final[str] = "/metrics"
MULTIPROC_ENV: Final[str] = "PROMETHEUS_MULTIPROC_DIR"
"""prometheus_client's multiprocess directory (read when prometheus_client is first imported)."""

_API_FAMILIES: Final[frozenset[str]] = frozenset(
    {"preferences", "consents", "profile", "session", "admin", "registry", "me", "catalog", "healthz",
     "readyz", "page"}
)
_SITE_FAMILIES: Final[Mapping[str, str]] = {
    "_prefkit": "widget-assets",
    "demo": "demo",
    "schema": "openapi",
    "metrics": "metrics",
    ".well-known": "well-known",
    "": "root",
}
_METHODS: Final[frozenset[str]] = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_WIDGET_SOCKETS: Final[str] = "/_prefkit/ws/"


def route_family(path: str) -> str:
    """The label of ``path``'s route family: one of a fixed set (``other`` for anything unknown), never a
    part of the path a client chose (a preference key, a subject)."""
    parts = path.split("/", 4)
    if len(parts) > 3 and parts[1] == "api" and parts[2] == "v1":
        family = parts[3]
        return family if family in _API_FAMILIES else "api-other"
    return _SITE_FAMILIES.get(parts[1] if len(parts) > 1 else "", "other")


class _Metrics:
    """The series of one app (own CollectorRegistry: several apps in one process stay apart)."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.multiprocess = bool(os.environ.get(MULTIPROC_ENV))
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("prefkit_http_requests", "HTTP requests answered, by route family",
                                ["family", "method", "status"], registry=r)
        self.latency = Histogram("prefkit_http_request_duration_seconds",
                                 "HTTP request latency (first byte of the request to the last of the answer)",
                                 ["family", "method"], registry=r,
                                 buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
        self.changes = Counter("prefkit_preference_changes", "Committed preference changes (one per write)",
                               ["method"], registry=r)
        self.ledger = Counter("prefkit_ledger_events", "Consent ledger events written", ["method"], registry=r)
        self.sessions = Gauge("prefkit_widget_sessions", "Component websockets (widget sessions) open now",
                              registry=r, multiprocess_mode="livesum")
        self.registry_active = Gauge("prefkit_registry_active", "1 for the registry version served",
                                     ["version"], registry=r, multiprocess_mode="liveall")
        self.activations = Counter("prefkit_registry_activations", "Registry versions activated", registry=r)
        self.rejections = Counter("prefkit_registry_rejections",
                                  "Registry documents refused (uploads and file reloads)", registry=r)
        self.database_errors = Counter("prefkit_database_errors", "Database errors that reached a request",
                                       ["error"], registry=r)

    def exposition(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        if not self.multiprocess:
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        from prometheus_client import multiprocess

        registry = CollectorRegistry()  # every worker's files, summed (a fresh registry per scrape, as documented)
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST

    def on_event(self, event: Any) -> None:
        # type() is, not isinstance: an event forwarded from another process (a subclass) was counted there.
        if type(event) is ChangeEvent:
            self.changes.labels(event.method).inc()
            ledgered = sum(1 for change in event.changes if change.ledger_seq is not None)
            if ledgered:
                self.ledger.labels(event.method).inc(ledgered)
        elif type(event) is RegistryActivated:
            self.show_version(event.version, event.previous_version)

    def show_version(self, version: str, previous: str | None = None) -> None:
        if previous and previous != version:
            self.registry_active.labels(previous).set(0)
        self.registry_active.labels(version).set(1)
        self.activations.inc()


class _MetricsMiddleware:
    """Times every HTTP request by route family and counts open widget sockets."""

    def __init__(self, app: Any, metrics: _Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "websocket" and scope["path"].startswith(_WIDGET_SOCKETS):
            self.metrics.sessions.inc()
            try:
                await self.app(scope, receive, send)
            finally:
                self.metrics.sessions.dec()
            return
        if kind != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers when the app raises before starting a response

        async def send_noting_status(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            family = route_family(scope["path"])
            method = scope["method"] if scope["method"] in _METHODS else "other"
            self.metrics.latency.labels(family, method).observe(time.perf_counter() - started)
            self.metrics.requests.labels(family, method, f"{status // 100}xx").inc()


@get(METRICS_PATH, summary="Prometheus metrics (Authorization: Bearer PREFKIT_METRICS_KEY)",
     tags=["operations"], include_in_schema=False)
async def _metrics_endpoint(request: Request[Any, Any, Any]) -> Response[bytes]:
    key = settings_of(request).metrics_key
    if not key:
        raise ProblemError(403, "metrics-disabled", "metrics are disabled (PREFKIT_METRICS_KEY is not set)")
    if not check_key(request, "Authorization", "Bearer " + key):
        raise ProblemError(401, "metrics-key", "Authorization: Bearer <PREFKIT_METRICS_KEY> is required",
                           title="Metrics key required")
    metrics: _Metrics = request.app.state.prefkit_metrics
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})


class MetricsPlugin(PrefkitPlugin):
    """``/metrics`` and the series of the module doc, for one app."""

    def __init__(self) -> None:
        self.metrics = _Metrics()

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        from litestar.middleware import DefineMiddleware

        # Outermost (first): the latency includes the kit's own middleware, refusals (429, 403) are counted.
        app_config.middleware.insert(0, DefineMiddleware(_MetricsMiddleware, metrics=self.metrics))
        app_config.after_exception.append(self._after_exception)
        return app_config

    async def _after_exception(self, exc: Exception, _scope: Any) -> None:
        if isinstance(exc, sa_exc.SQLAlchemyError):
            self.metrics.database_errors.labels(type(exc).__name__).inc()

    def on_prefkit_init(self, setup: PluginSetup) -> None:
        metrics = self.metrics
        service, registry = setup.service, setup.registry
        setup.set_state("prefkit_metrics", metrics)
        setup.add_route_handlers(_metrics_endpoint)

        @asynccontextmanager
        async def lifespan(_app: Litestar) -> AsyncIterator[None]:
            metrics.show_version(registry.current.version)
            unsubscribe = service.events.subscribe(metrics.on_event)  # quick and thread-safe: any thread
            unsubscribe_rejections = registry.subscribe_rejections(lambda _rejection: metrics.rejections.inc())
            try:
                yield
            finally:
                unsubscribe()
                unsubscribe_rejections()
                if metrics.multiprocess:
                    from prometheus_client import multiprocess

                    # This worker's live gauges (open sessions, version) leave the sum with it.
                    multiprocess.mark_process_dead(os.getpid())

        setup.add_lifespan(lifespan)
