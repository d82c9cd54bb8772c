"""The demo shop's HTML pages (Jinja2, autoescaping on), served by the BFF.

``/demo/``                 product listing: controls of every ranking preference + the live ``product-listing``
``/demo/products/{id}``   product page with a live "why am I seeing this?"
``/demo/preferences``     the preference center
``/demo/your-data``       what is stored: current choices and the consent history with the wording shown then
``/demo/transparency``    how the order is made (DSA Art. 27), generated from the live registry; linked from
                          the listing, with the one switch that gives the neutral order
``/demo/static/...``      the demo's stylesheet
``/``                     redirects here in demo mode (``prefkit demo``; ``bff.api.system.root_page``)

Every page carries the first-visit consent banner and a Polish/English switcher (``?locale=``; links keep it).
Pages use external scripts only (``/_prefkit/prefkit.js``) and send ``script-src 'self'``, so a strict CSP
holds. Before the websockets connect, the listing and the reasons are rendered server-side from the same
VDOM the live widgets render (:mod:`bff.demo.views`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import MediaType, Request, Response, Router, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body
from litestar.params import Parameter
from litestar.static_files import create_static_files_router
from markupsafe import Markup

from bff.api.context import gpc_of, identity_of, service_of
from bff.catalog.query import (
    CatalogQuery,
    UnknownCategoryError,
    catalog_of,
    category_label,
    ranker_of,
    run_query,
)
from bff.api.security import frame_ancestors
from bff.catalog.routes import product_view, request_locale
from bff.catalog.transparency import statement_for
from bff.effective import EffectiveValue
from bff.jinja_helpers import install_prefkit
from bff.kinds import KINDS
from bff.service import HistoryEntry
from components.i18n import kit_text
from components.why_this import why_this_view
from preference_registry import PreferenceType, RegistrySnapshot

from .i18n import LOCALE_NAMES, demo_text, format_decimal, format_price
from .views import DEMO_PREFIX, listing_href, listing_view, static_html

__all__ = ["DEMO_STATIC_PATH", "PAGE_CSP", "create_demo_router", "ranking_controls"]

_HERE = Path(__file__).parent
DEMO_STATIC_PATH = f"{DEMO_PREFIX}/static"
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self' ws: wss:; object-src 'none'; base-uri 'self'; form-action 'self'; "
            "frame-ancestors 'self'")
"""Sent by every demo page: proves the demo needs no inline script or style."""

_ME_PATH = "/api/v1/me"
_EXPORT_PATH = f"{_ME_PATH}/export"


def ranking_controls(snapshot: RegistrySnapshot) -> list[tuple[str, str]]:
    """``(widget, key)`` of every preference that changes product results, each preceded by the consents it
    requires — read from the registry, so another shop's registry gets its own sidebar."""
    acting = [p for p in snapshot.preferences if KINDS.of(p).acts_on_results(p)]
    needed = {key for p in acting for key in p.requires}
    controls: list[tuple[str, str]] = []
    for pref in snapshot.preferences:
        kind = KINDS.of(pref)
        if pref in acting or (pref.key in needed and kind.changeable(pref)):
            controls.append((kind.widget, pref.key))
    return controls


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(_HERE / "templates")),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True)
    install_prefkit(env)  # prefkit_widget(...) mount points and prefkit_script(), shared with shops' templates
    return env


def _value_text(snapshot: RegistrySnapshot, pref: PreferenceType | None, value: Any, locale: str) -> str:
    """A stored value in words, as its kind says: on/off, a slider's stop label, a filter's option labels."""
    if pref is None:  # a key the registry no longer declares
        return str(value)
    return KINDS.of(pref).value_text(snapshot, pref, value, locale, lambda message_id: demo_text(locale, message_id))


class _Page:
    """What every template gets: locale, texts, navigation and the switcher."""

    def __init__(self, request: Request[Any, Any, Any], locale: str, snapshot: RegistrySnapshot,
                 current: str) -> None:
        self.locale = locale
        self.shop_name = snapshot.shop.name
        self.theme = snapshot.shop.theme
        self.current = current
        query = [(k, v) for k, v in request.query_params.multi_items() if k != "locale"]
        self.switcher = [
            {"locale": code, "name": LOCALE_NAMES.get(code, code), "current": code == locale,
             "href": request.url.path + "?" + urlencode([*query, ("locale", code)])}
            for code in snapshot.locales
        ]
        self.nav = [
            {"id": "shop", "href": listing_href(locale=locale), "label": demo_text(locale, "nav_shop")},
            {"id": "preferences", "href": f"{DEMO_PREFIX}/preferences?locale={locale}",
             "label": demo_text(locale, "nav_preferences")},
            {"id": "data", "href": f"{DEMO_PREFIX}/your-data?locale={locale}", "label": demo_text(locale, "nav_data")},
        ]

    def t(self, message_id: str, **values: Any) -> str:
        return demo_text(self.locale, message_id, **values)


def create_demo_router(context: Any = None) -> list[Any]:
    """The demo pages (a Router at ``/demo``) and their static files."""
    env = _environment()
    # Framing follows the same allowlist as the rest of the BFF (the shop's own pages may embed the demo).
    allowed = tuple(context.settings.allowed_origins) if context is not None else ()
    page_csp = PAGE_CSP.replace("frame-ancestors 'self'", f"frame-ancestors {frame_ancestors(allowed)}")

    def render(template: str, page: _Page, status: int = 200, **values: Any) -> Response[str]:
        body = env.get_template(template).render(page=page, t=page.t, locale=page.locale, prefix=DEMO_PREFIX,
                                                 static=DEMO_STATIC_PATH, **values)
        return Response(body, status_code=status, media_type=MediaType.HTML,
                        headers={"Content-Security-Policy": page_csp, "Cache-Control": "private, no-store",
                                 "Vary": "Cookie, Accept-Language"})

    @get("/", include_in_schema=False, name="demo-listing")
    async def listing(
        request: Request[Any, Any, Any],
        q: Annotated[str | None, Parameter(max_length=200)] = None,
        category: Annotated[str | None, Parameter(max_length=64)] = None,
        page: Annotated[int, Parameter(ge=1, le=10_000)] = 1,
        locale: Annotated[str | None, Parameter(max_length=35)] = None,
    ) -> Response[str]:
        service = service_of(request)
        snapshot = service.registry.current
        chosen = request_locale(request, locale)
        catalog = catalog_of(request.app.state)
        query = CatalogQuery(q=(q or "").strip() or None, category=category or None, page=page)
        profile = await service.profile(identity_of(request).subject, gpc=gpc_of(request))
        ranker = ranker_of(request.app.state)
        try:
            result = run_query(catalog, snapshot, profile, query, locale=chosen, ranker=ranker)
        except UnknownCategoryError:  # a stale bookmark: show everything rather than an error page
            query = CatalogQuery(q=query.q, page=1)
            result = run_query(catalog, snapshot, profile, query, locale=chosen, ranker=ranker)
        categories = [{"key": key, "label": category_label(key, chosen), "selected": key == query.category}
                      for key in catalog.categories]
        return render("listing.html", _Page(request, chosen, snapshot, "shop"), query=query,
                      categories=categories, controls=ranking_controls(snapshot),
                      static_listing=Markup(static_html(listing_view(result))))

    @get("/products/{product_id:str}", include_in_schema=False)
    async def product(request: Request[Any, Any, Any], product_id: Annotated[str, Parameter(max_length=64)],
                      locale: Annotated[str | None, Parameter(max_length=35)] = None) -> Response[str]:
        service = service_of(request)
        snapshot = service.registry.current
        chosen = request_locale(request, locale)
        catalog = catalog_of(request.app.state)
        page = _Page(request, chosen, snapshot, "shop")
        product = catalog.by_id.get(product_id)
        if product is None:
            return render("missing.html", page, status=404)
        profile = await service.profile(identity_of(request).subject, gpc=gpc_of(request))
        view = product_view(catalog, snapshot, profile, product_id, locale=chosen,
                            ranker=ranker_of(request.app.state))
        why = (static_html(why_this_view(view.item.reasons, locale=chosen, personalized=view.profile.personalized,
                                         open=True)) if view.item is not None else "")
        return render("product.html", page, product=product, name=product.display_name(chosen),
                      price=format_price(product.price, product.currency, chosen),
                      material=product.material.get(chosen) or product.material.get("en") or "",
                      category=category_label(product.category, chosen), rating=format_decimal(product.rating, chosen),
                      static_why=Markup(why), shown=view.shown)

    @get("/preferences", include_in_schema=False)
    async def preferences(request: Request[Any, Any, Any],
                          locale: Annotated[str | None, Parameter(max_length=35)] = None) -> Response[str]:
        snapshot = service_of(request).registry.current
        chosen = request_locale(request, locale)
        return render("preferences.html", _Page(request, chosen, snapshot, "preferences"))

    @get("/transparency", include_in_schema=False)
    async def transparency(request: Request[Any, Any, Any],
                           locale: Annotated[str | None, Parameter(max_length=35)] = None) -> Response[str]:
        snapshot = service_of(request).registry.current
        statement = statement_for(request, locale)
        action = statement.neutral_action
        pref = snapshot.get(action.key) if action is not None else None
        # The neutral order in one action: the very control that gives it, live on this page.
        neutral_widget = (KINDS.of(pref).widget, pref.key) if pref is not None else None
        return render("transparency.html", _Page(request, statement.locale, snapshot, "shop"),
                      statement=statement, neutral_widget=neutral_widget)

    @get("/your-data", include_in_schema=False)
    async def your_data(request: Request[Any, Any, Any],
                        locale: Annotated[str | None, Parameter(max_length=35)] = None) -> Response[str]:
        service = service_of(request)
        snapshot = service.registry.current
        chosen = request_locale(request, locale)
        identity = identity_of(request)
        effective = await service.effective(identity.subject, gpc=gpc_of(request))
        history = await service.history(identity.subject, locale=chosen)
        return render("your_data.html", _Page(request, chosen, snapshot, "data"),
                      current=_current_rows(snapshot, effective.values(), chosen),
                      history=_history_rows(snapshot, history, chosen),
                      export_url=f"{_EXPORT_PATH}?locale={chosen}" if _offers(request, _EXPORT_PATH) else None,
                      can_erase=_offers(request, _ME_PATH))

    @post("/your-data/erase", include_in_schema=False, status_code=200)
    async def erase(request: Request[Any, Any, Any],
                    data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
                    locale: Annotated[str | None, Parameter(max_length=35)] = None) -> Response[str]:
        """The no-script face of ``DELETE /api/v1/me``: a form with a required confirmation."""
        service = service_of(request)
        snapshot = service.registry.current
        chosen = request_locale(request, locale)
        page = _Page(request, chosen, snapshot, "data")
        if not _offers(request, _ME_PATH):
            raise NotFoundException("erasure is not offered by this server")
        if data.get("confirm") != "yes":
            return render("erase_unconfirmed.html", page, status=400)
        from bff.api.rights import cleared_cookie
        from bff.rights import SubjectRights

        receipt = await SubjectRights(service).erase(identity_of(request).subject)
        response = render("erased.html", page, receipt=receipt)
        response.headers["Set-Cookie"] = cleared_cookie(request)
        return response

    static = create_static_files_router(path="/static", directories=[_HERE / "static"], include_in_schema=False)
    pages = Router(path=DEMO_PREFIX, route_handlers=[listing, product, preferences, your_data, transparency, erase,
                                                  static])
    # ``/`` is the BFF's own (bff.api.system.root_page): in demo mode it redirects to the "demo-listing" route.
    return [pages]


def _offers(request: Request[Any, Any, Any], path: str) -> bool:
    """Whether the app serves ``path`` (the rights routes are an optional module)."""
    return path in request.app.route_handler_method_map


def _current_rows(snapshot: RegistrySnapshot, effective: Iterable[EffectiveValue], locale: str) -> list[dict[str, Any]]:
    rows = []
    for state in effective:
        pref = snapshot.get(state.key)
        rows.append({
            "key": state.key, "title": snapshot.text(pref.title, locale) if pref else state.key,
            "value": _value_text(snapshot, pref, state.value, locale),
            "source": demo_text(locale, f"source_{state.source}"),
            "in_effect": demo_text(locale, "yes" if state.in_effect else "no"),
        })
    return rows


def _method(locale: str) -> Callable[[str], str]:
    text = kit_text(locale)

    def label(method: str) -> str:
        try:
            translated = text(f"method_{method}")
        except KeyError:
            return method
        return translated if translated and translated != f"method_{method}" else method

    return label


def _history_rows(snapshot: RegistrySnapshot, history: Iterable[HistoryEntry], locale: str) -> list[dict[str, Any]]:
    label = _method(locale)
    rows = []
    for entry in history:
        pref = snapshot.get(entry.key)
        at: datetime = entry.created_at
        rows.append({
            "key": entry.key, "at": at.isoformat(), "at_text": at.strftime("%Y-%m-%d %H:%M UTC"),
            "title": entry.title or entry.key, "wording": entry.description or "",
            "value": _value_text(snapshot, pref, entry.new_value, locale), "method": label(entry.method),
            "registry_version": entry.registry_version,
        })
    return rows
