"""``GET /api/v1/catalog``: the catalog ranked by the current subject's own choices.

The subject comes from the signed cookie (or a customer token) like every other ``/api/v1`` route; a GPC
signal (``Sec-GPC: 1``) is honoured exactly as for ``/api/v1/profile``. Bad parameters are RFC 9457
problems (``page=0``, ``per_page=1000``, an unknown ``category``...), never a 500.

Also ``GET /api/v1/catalog/products/{id}``: one product with its place in the ranking ("why this").
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, Router, get
from litestar.params import Parameter

from bff.api.context import gpc_of, identity_of, request_locale, service_of
from bff.api.problems import FieldError, ProblemError
from .data import Catalog
from .explain import ProfileSummary
from .query import (
    MAX_PER_PAGE,
    CatalogItem,
    CatalogPage,
    CatalogQuery,
    Ranker,
    UnknownCategoryError,
    catalog_of,
    item_document,
    ranker_of,
    run_query,
)
from .ranking import rank_candidates

__all__ = [
    "CatalogController",
    "ProductResponse",
    "create_catalog_router",
    "document_categories",
    "document_categories_fingerprint",
    "page_document",
    "product_document",
    "product_view",
    "request_locale",
]

_PRIVATE_HEADERS = {"Cache-Control": "private, no-store", "Vary": "Cookie, Sec-GPC, Accept-Language"}
"""Every answer is personal: never cache it in a shared cache, nor serve one shopper's list to another."""


class ProductResponse(msgspec.Struct, frozen=True, kw_only=True):
    """One product as the current subject sees it."""

    locale: str
    """Locale of every text."""
    shown: bool
    """Whether the product is in the subject's current listing (false: a hard filter hides it)."""
    item: CatalogItem | None
    """The product in its ranked place (``None`` when not shown)."""
    profile: ProfileSummary
    """The profile the ranking used."""


def _bad_category(exc: UnknownCategoryError) -> ProblemError:
    return ProblemError(400, "invalid-request", str(exc), errors=[
        FieldError(path="category", message="unknown category", expected="one of " + ", ".join(exc.known),
                   got=exc.category)])


class CatalogController(Controller):
    """The catalog, ranked for the caller."""

    path = "/catalog"
    tags = ["catalog"]

    @get("/", summary="Catalog ranked by the caller's preferences, each item with its reasons")
    async def list_catalog(
        self,
        request: Request[Any, Any, Any],
        q: Annotated[str | None, Parameter(max_length=200, description="Search text (every word must occur)")] = None,
        category: Annotated[str | None, Parameter(max_length=64, description="Category key")] = None,
        page: Annotated[int, Parameter(ge=1, le=10_000, description="1-based page number")] = 1,
        per_page: Annotated[int, Parameter(ge=1, le=MAX_PER_PAGE, description="Items per page")] = 24,
        locale: Annotated[str | None, Parameter(max_length=35, description="Locale, e.g. pl or en")] = None,
    ) -> Response[CatalogPage]:
        service = service_of(request)
        snapshot = service.registry.current
        profile = await service.profile(identity_of(request).subject, gpc=gpc_of(request))
        query = CatalogQuery(q=(q or "").strip() or None, category=category or None, page=page, per_page=per_page)
        try:
            result = run_query(catalog_of(request.app.state), snapshot, profile, query,
                               locale=request_locale(request, locale), ranker=ranker_of(request.app.state))
        except UnknownCategoryError as exc:
            raise _bad_category(exc) from None
        return Response(page_document(result), headers=_PRIVATE_HEADERS)  # type: ignore[arg-type]

    @get("/products/{product_id:str}", summary="One product, with its place in the caller's ranking")
    async def product(
        self,
        request: Request[Any, Any, Any],
        product_id: Annotated[str, Parameter(max_length=64)],
        locale: Annotated[str | None, Parameter(max_length=35)] = None,
    ) -> Response[ProductResponse]:
        catalog = catalog_of(request.app.state)
        if product_id not in catalog.by_id:
            raise ProblemError(404, "unknown-product", f"no product with id {product_id!r}", title="Unknown product")
        service = service_of(request)
        profile = await service.profile(identity_of(request).subject, gpc=gpc_of(request))
        chosen = request_locale(request, locale)
        result = product_view(catalog, service.registry.current, profile, product_id, locale=chosen,
                              ranker=ranker_of(request.app.state))
        return Response(product_document(result), headers=_PRIVATE_HEADERS)  # type: ignore[arg-type]


def page_document(page: CatalogPage) -> dict[str, Any]:
    """``page`` as JSON-ready builtins with its items flat (:func:`~bff.catalog.query.item_document`)."""
    document = msgspec.to_builtins(msgspec.structs.replace(page, items=[]))
    document["items"] = [item_document(item) for item in page.items]
    return document  # type: ignore[no-any-return]


def product_document(view: ProductResponse) -> dict[str, Any]:
    """``view`` as JSON-ready builtins with its item flat."""
    document = msgspec.to_builtins(msgspec.structs.replace(view, item=None))
    document["item"] = item_document(view.item) if view.item is not None else None
    return document  # type: ignore[no-any-return]


def product_view(catalog: Any, snapshot: Any, profile: Any, product_id: str, *, locale: str,
                 ranker: Ranker | None = None) -> ProductResponse:
    """The product's entry in the subject's full ranked listing (so its position and reasons match it)."""
    ranker = ranker or rank_candidates
    page = run_query(catalog, snapshot, profile, CatalogQuery(page=1, per_page=MAX_PER_PAGE), locale=locale,
                     ranker=ranker)
    found = next((item for item in page.items if item.id == product_id), None)
    if found is None:
        # Beyond the first page: rank the whole list once more, unpaged (rare: a product page deep link).
        whole = run_query(catalog, snapshot, profile, CatalogQuery(page=1, per_page=max(1, len(catalog))),
                          locale=locale, ranker=ranker)
        found = next((item for item in whole.items if item.id == product_id), None)
    return ProductResponse(locale=locale, shown=found is not None, item=found, profile=page.profile)


def document_categories(document: dict[str, Any], state: Any) -> None:
    """The ``category`` parameter is one of the plugged-in catalog's categories (others are a 400), and the
    items carry the catalog's own fields (:func:`~bff.catalog.query.item_document`)."""
    catalog = catalog_of(state)
    operation = document.get("paths", {}).get("/api/v1/catalog", {}).get("get", {})
    for parameter in operation.get("parameters", []):
        if parameter.get("name") == "category" and parameter.get("in") == "query":
            # Empty means every category, as when the parameter is left out (a form's "all" option).
            parameter["schema"] = {"type": "string", "enum": ["", *catalog.categories]}
    _document_items(document, catalog)


def _document_items(document: dict[str, Any], catalog: Catalog[Any]) -> None:
    """``CatalogItem`` is flat in JSON: its ``fields`` are the item's own, documented by the catalog's view type
    when it has one (else any further properties are allowed)."""
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in schemas.items():
        if name.rsplit(".", 1)[-1].rsplit("_", 1)[-1] != "CatalogItem" or "fields" not in schema.get("properties", {}):
            continue
        properties = {key: value for key, value in schema["properties"].items() if key != "fields"}
        required = [key for key in schema.get("required", []) if key != "fields"]
        view_type = catalog.view_type
        if view_type is None:
            schema["additionalProperties"] = True
        else:
            (view_schema,), components = msgspec.json.schema_components(
                [view_type], ref_template="#/components/schemas/{name}")
            view_schema = components.pop(view_type.__name__, view_schema)
            for component, body in components.items():
                schemas.setdefault(component, body)
            own = {key: value for key, value in view_schema.get("properties", {}).items() if key != "id"}
            properties = {"id": properties["id"], **own, **{k: v for k, v in properties.items() if k != "id"}}
            required = [*required, *(key for key in view_schema.get("required", []) if key not in required)]
            schema["additionalProperties"] = False
        schema["properties"] = properties
        schema["required"] = required
        return


def document_categories_fingerprint(state: Any) -> tuple[Any, ...]:
    """Changes with the catalog served: app.state's can be replaced after start (a shop's own)."""
    catalog = catalog_of(state)
    return (catalog.categories, catalog.view_type)


def create_catalog_router() -> Router:
    """The ``/api/v1/catalog`` routes, to register on the BFF app."""
    return Router(path="/api/v1", route_handlers=[CatalogController])
