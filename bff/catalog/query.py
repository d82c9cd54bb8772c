"""One catalog query, as both ``GET /api/v1/catalog`` and the demo's live product listing run it.

Pure apart from reading the catalog: (catalog, registry snapshot, profile, query parameters, ranker) -> one
:class:`CatalogPage`. The HTTP route and the ReactPy listing widget both call :func:`run_query`, so what the
API returns and what the demo shows can never disagree. Whichever engine ranks (any
:class:`~bff.catalog.contract.Ranker`), this module renders its reasons and shows each item through the
catalog's item view, so the response never depends on the demo's :class:`~bff.catalog.data.Product`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from bff.profile import Profile
from preference_registry import RegistrySnapshot

from .contract import Candidates, Effect, RankedItem, Ranker, check_ranker, checked_page
from .data import Catalog, category_label
from .explain import ProfileSummary, ReasonTexts
from .ranking import rank_candidates

__all__ = [
    "CATALOG_STATE_KEY",
    "MAX_PER_PAGE",
    "RANKER_STATE_KEY",
    "CatalogConfigError",
    "CatalogItem",
    "CatalogPage",
    "CatalogQuery",
    "CatalogReason",
    "Ranker",
    "UnknownCategoryError",
    "catalog_of",
    "category_label",
    "check_catalog",
    "item_document",
    "ranker_of",
    "run_query",
]

CATALOG_STATE_KEY = "prefkit_catalog"
"""``app.state`` key where :class:`bff.catalog.CatalogPlugin` puts the app's :class:`Catalog`."""
RANKER_STATE_KEY = "prefkit_ranker"
"""``app.state`` key where :class:`bff.catalog.CatalogPlugin` puts the app's :class:`Ranker`."""
MAX_PER_PAGE = 100
"""Largest page size."""
DEFAULT_PER_PAGE = 24


class CatalogConfigError(TypeError):
    """The catalog an app is given (or finds on its state) is missing or not a :class:`Catalog`."""


class CatalogQuery(msgspec.Struct, frozen=True, kw_only=True):
    """What the shopper asked for (already validated for type and bounds)."""

    q: str | None = None
    """Search text: every word must occur in the name (any language), brand or material."""
    category: str | None = None
    """Only this category."""
    page: int = 1
    """1-based page number."""
    per_page: int = DEFAULT_PER_PAGE
    """Items per page (1..100)."""


class CatalogReason(msgspec.Struct, frozen=True, kw_only=True):
    """A reason with its sentence."""

    code: str
    """Reason code (see :class:`bff.catalog.ranking.Reason`)."""
    effect: Effect
    """``shown``, ``higher``, ``lower`` or ``neutral``."""
    preference: str | None
    """Registry key of the preference behind it."""
    params: dict[str, Any]
    """Structured details."""
    text: str
    """The reason in the response's locale."""


class CatalogItem(msgspec.Struct, frozen=True, kw_only=True):
    """An item in its ranked place.

    In JSON the item is flat: ``id``, then the item's own fields (what the catalog's item view gives: for
    the demo's products :class:`~bff.catalog.data.ProductView`), then ``position``, ``score`` and
    ``reasons`` (:func:`item_document`).
    """

    id: str
    """Item id."""
    position: int
    """1-based position in the whole result."""
    score: float
    """Ranking score (higher first)."""
    reasons: list[CatalogReason]
    """Why it is shown here."""
    fields: Any
    """The item's own fields, as the catalog's item view gives them (a Struct, a dataclass or a mapping)."""


class CatalogPage(msgspec.Struct, frozen=True, kw_only=True):
    """One page of the ranked catalog."""

    locale: str
    """Locale of every text in the response."""
    q: str | None
    """Search text applied."""
    category: str | None
    """Category applied."""
    page: int
    """Page number."""
    per_page: int
    """Page size."""
    total: int
    """Products matching (all pages)."""
    pages: int
    """Number of pages."""
    personalized: bool
    """Whether the shopper's choices shaped the order; false means neutral popularity order."""
    profile: ProfileSummary
    """The profile the ranking used."""
    items: list[CatalogItem]
    """The page."""


class UnknownCategoryError(ValueError):
    """A category the catalog does not have."""

    def __init__(self, category: str, known: tuple[str, ...]) -> None:
        super().__init__(f"unknown category {category!r}")
        self.category = category
        self.known = known


def _from_state(state: Any, key: str) -> Any:
    value = getattr(state, key, None) if state is not None else None
    if value is None and isinstance(state, Mapping):
        value = state.get(key)
    return value


def check_catalog(catalog: object, *, where: str = "catalog") -> Catalog[Any]:
    """``catalog`` if it is a :class:`Catalog`, else a :class:`CatalogConfigError` saying how to make one."""
    if not isinstance(catalog, Catalog):
        raise CatalogConfigError(
            f"{where}: expected a bff.catalog.Catalog (Catalog.from_items(items), Catalog.from_products(products) "
            f"or load_catalog(path)), got {type(catalog).__module__}.{type(catalog).__qualname__}")
    return catalog


def catalog_of(state: Any) -> Catalog[Any]:
    """The catalog :class:`bff.catalog.CatalogPlugin` put on an app's ``state``; a missing or mistyped one is a
    :class:`CatalogConfigError` (never a silent fallback to another catalog)."""
    catalog = _from_state(state, CATALOG_STATE_KEY)
    if catalog is None:
        raise CatalogConfigError("this app has no catalog: pass bff.catalog.CatalogPlugin(...) to "
                                 "create_app(plugins=[...])")
    return check_catalog(catalog, where=f"app.state.{CATALOG_STATE_KEY}")


def ranker_of(state: Any) -> Ranker[Any]:
    """The ranking engine :class:`bff.catalog.CatalogPlugin` put on an app's ``state`` (prefkit's own,
    :func:`~bff.catalog.ranking.rank_candidates`, when the app has a catalog but no engine was named)."""
    ranker = _from_state(state, RANKER_STATE_KEY)
    if ranker is None:
        catalog_of(state)  # no catalog either: say so
        return rank_candidates
    if not callable(ranker):  # the plugin checked its signature; this runs per request, so only the cheap part
        check_ranker(ranker, where=f"app.state.{RANKER_STATE_KEY}")
    return ranker  # type: ignore[no-any-return]


def _item(catalog: Catalog[Any], entry: RankedItem[Any], texts: ReasonTexts, locale: str) -> CatalogItem:
    item = entry.item
    return CatalogItem(
        id=catalog.id_of(item), position=entry.position, score=round(entry.score, 6),
        reasons=[CatalogReason(code=reason.code, effect=reason.effect, preference=reason.preference,
                               params=reason.params, text=texts.render(reason, locale))
                 for reason in entry.reasons],
        fields=catalog.view(item, locale),
    )


def item_document(item: CatalogItem) -> dict[str, Any]:
    """``item`` as JSON-ready builtins, flat: ``id``, the item's own fields, ``position``, ``score``,
    ``reasons`` (the catalog checked at construction that its fields do not use these names)."""
    fields = msgspec.to_builtins(item.fields)
    document: dict[str, Any] = {"id": item.id}
    document.update(fields)
    document["id"] = item.id
    document["position"] = item.position
    document["score"] = item.score
    document["reasons"] = msgspec.to_builtins(item.reasons)
    return document


def run_query(catalog: Catalog[Any], snapshot: RegistrySnapshot, profile: Profile, query: CatalogQuery, *,
              locale: str, ranker: Ranker[Any] = rank_candidates) -> CatalogPage:
    """Select, rank for ``profile`` (with ``ranker``), cut the page and explain it in ``locale``."""
    if query.category is not None and query.category not in catalog.categories:
        raise UnknownCategoryError(query.category, catalog.categories)
    texts = ReasonTexts(snapshot, catalog.attribute_words, messages=getattr(ranker, "messages", None))
    candidates = Candidates(catalog, catalog.select(query=query.q, category=query.category),
                            catalog.selection_key(query=query.q, category=query.category))
    ranked = checked_page(ranker(candidates, profile, offset=(query.page - 1) * query.per_page,
                                 limit=query.per_page), ranker)
    return CatalogPage(
        locale=locale, q=query.q, category=query.category, page=query.page, per_page=query.per_page,
        total=ranked.total, pages=max(1, -(-ranked.total // query.per_page)), personalized=ranked.personalized,
        profile=texts.summarize(profile, locale, personalized=ranked.personalized),
        items=[_item(catalog, entry, texts, locale) for entry in ranked.items],
    )
