"""Live demo widgets: ``product-listing`` and ``why-this``, served by the ReactPy bridge.

Both re-run the catalog query whenever the subject's preferences change (any widget, any tab, the HTTP API:
:attr:`PreferenceService.events`) or the registry is reloaded, so moving a slider in the sidebar reorders
the products without a page reload, over the same websocket machinery as the controls themselves.

Mount points (``data-*`` attributes):

``product-listing``  ``data-locale``, ``data-q``, ``data-category``, ``data-page``, ``data-per-page``
``why-this``         ``data-product`` (required), ``data-locale``
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from litestar.exceptions import NotFoundException
from reactpy import component, html, use_async_effect, use_effect, use_ref, use_state
from reactpy.types import Component, VdomDict

from bff.api.context import gpc_of
from bff.catalog.data import Catalog
from bff.catalog.query import MAX_PER_PAGE, CatalogPage, CatalogQuery, Ranker, catalog_of, ranker_of, run_query
from bff.catalog.routes import ProductResponse, product_view
from bff.identity import subject_from_connection
from bff.reactpy_bridge import WidgetFactory, WidgetRequest
from bff.service import PreferenceService
from components.session import on_loop as on_session_loop
from components.why_this import why_this_view
from preference_registry import negotiate_locale

from .i18n import demo_text
from .views import listing_view

__all__ = ["DEMO_WIDGETS", "ListingSource", "ProductListing", "ProductWhyThis"]


@dataclass(frozen=True, slots=True, eq=False)
class ListingSource:
    """Where a live widget gets its data: the service and catalog, for one subject."""

    service: PreferenceService
    catalog: Catalog
    ranker: Ranker
    subject: str
    gpc: bool

    async def page(self, query: CatalogQuery, locale: str) -> CatalogPage:
        profile = await self.service.profile(self.subject, gpc=self.gpc)
        return run_query(self.catalog, self.service.registry.current, profile, query, locale=locale,
                         ranker=self.ranker)

    async def product(self, product_id: str, locale: str) -> ProductResponse:
        profile = await self.service.profile(self.subject, gpc=self.gpc)
        return product_view(self.catalog, self.service.registry.current, profile, product_id, locale=locale,
                            ranker=self.ranker)

    def subscribe(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` on the session's loop after any change of this subject or of the registry."""
        safe = on_session_loop(lambda *_: listener())
        unsubscribe_values = self.service.events.subscribe(safe, subject=self.subject)
        unsubscribe_registry = self.service.registry.subscribe(safe)

        def unsubscribe() -> None:
            unsubscribe_values()
            unsubscribe_registry()

        return unsubscribe


def _use_live(source: ListingSource, load: Callable[[], Any]) -> Any:
    """The latest result of ``load()``, re-run on every change notification (stale results dropped)."""
    data, set_data = use_state(None)
    revision, set_revision = use_state(0)
    latest = use_ref(0)

    @use_effect(dependencies=[source])
    def subscribe() -> Callable[[], None]:
        return source.subscribe(lambda: set_revision(lambda current: current + 1))

    @use_async_effect(dependencies=[source, revision])
    async def refresh() -> None:
        latest.current = revision
        result = await load()
        if latest.current == revision:  # a newer change started another load meanwhile: its result wins
            set_data(result)

    return data


@component
def ProductListing(source: ListingSource, query: CatalogQuery, locale: str) -> VdomDict:
    """The ranked listing for the widget's subject, kept current as their choices change."""
    page = _use_live(source, lambda: source.page(query, locale))
    if page is None:
        # Render nothing until the first result: the page's server-rendered listing stays visible meanwhile.
        return html.fragment()
    return listing_view(page)


@component
def ProductWhyThis(source: ListingSource, product_id: str, locale: str) -> VdomDict:
    """"Why am I seeing this?" for one product, kept current like the listing."""
    result = _use_live(source, lambda: source.product(product_id, locale))
    if result is None:
        return html.fragment()
    if not result.shown or result.item is None:
        return html.p({"data-part": "product-hidden", "role": "status"}, demo_text(locale, "not_shown"))
    return html.div({"data-part": "product-why", "data-position": str(result.item.position)},
                    why_this_view(result.item.reasons, locale=locale, personalized=result.profile.personalized,
                                  open=True))


def _source(request: WidgetRequest) -> tuple[ListingSource, str]:
    connection = request.connection
    service: PreferenceService = connection.app.state.prefkit
    snapshot = service.registry.current
    locale = negotiate_locale(request.props.get("locale"), connection.headers.get("accept-language"),
                              snapshot.locales, snapshot.default_locale)
    source = ListingSource(service=service, catalog=catalog_of(connection.app.state),
                           ranker=ranker_of(connection.app.state),
                           subject=subject_from_connection(connection), gpc=gpc_of(connection))  # type: ignore[arg-type]
    return source, locale


def _int_prop(request: WidgetRequest, name: str, default: int, maximum: int) -> int:
    raw = request.props.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise NotFoundException(f"data-{name} must be a whole number, got {raw!r}") from None
    if not 1 <= value <= maximum:
        raise NotFoundException(f"data-{name} must be between 1 and {maximum}, got {value}")
    return value


def _listing(request: WidgetRequest) -> Component:
    source, locale = _source(request)
    category = request.props.get("category") or None
    if category is not None and category not in source.catalog.categories:
        raise NotFoundException(f"unknown category {category!r} (data-category)")
    query = CatalogQuery(q=(request.props.get("q") or "").strip()[:200] or None, category=category,
                         page=_int_prop(request, "page", 1, 10_000),
                         per_page=_int_prop(request, "per-page", 24, MAX_PER_PAGE))
    return ProductListing(source, query, locale)


def _why_this(request: WidgetRequest) -> Component:
    source, locale = _source(request)
    product_id = request.props.get("product", "")
    if product_id not in source.catalog.by_id:
        raise NotFoundException(f"no product {product_id!r} (data-product)")
    return ProductWhyThis(source, product_id, locale)


DEMO_WIDGETS: Mapping[str, WidgetFactory] = MappingProxyType({
    "product-listing": _listing,
    "why-this": _why_this,
})
"""Widget name -> factory, contributed by :class:`bff.demo.DemoPlugin` (read-only: an app's widgets are what
its plugins contribute, never a shared table someone mutated)."""
