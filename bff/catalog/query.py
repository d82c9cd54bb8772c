"""One catalog query, as both ``GET /api/v1/catalog`` and the demo's live product listing run it.

Pure apart from reading the catalog: (catalog, registry snapshot, profile, query parameters) -> one
:class:`CatalogPage`. The HTTP route and the ReactPy listing widget both call :func:`run_query`, so what the
API returns and what the demo shows can never disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from bff.profile import Profile
from preference_registry import RegistrySnapshot

from .data import ATTRIBUTE_WORDS, CATEGORY_LABELS, Catalog, Product, sample_catalog
from .explain import ProfileSummary, ReasonTexts
from .ranking import Effect, RankedPage, rank_page

__all__ = [
    "CATALOG_STATE_KEY",
    "RANKER_STATE_KEY",
    "Ranker",
    "MAX_PER_PAGE",
    "CatalogItem",
    "CatalogPage",
    "CatalogQuery",
    "CatalogReason",
    "UnknownCategoryError",
    "catalog_of",
    "ranker_of",
    "run_query",
]

CATALOG_STATE_KEY = "prefkit_catalog"
"""``app.state`` key of the :class:`Catalog` a shop plugs in (default: the bundled sample catalog)."""
RANKER_STATE_KEY = "prefkit_ranker"
"""``app.state`` key of a shop's own ranking engine (default: :func:`bff.catalog.ranking.rank_page`)."""
MAX_PER_PAGE = 100
"""Largest page size."""
DEFAULT_PER_PAGE = 24


Ranker = Callable[..., RankedPage[Any]]
"""A ranking engine with :func:`~bff.catalog.ranking.rank_page`'s signature and contract:
``ranker(index, profile, *, locale, render, positions, offset, limit) -> RankedPage``. Plug one in with
``app.state.prefkit_ranker = my_engine``; the API, the demo pages and the live widgets all use it."""


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
    """A product in its ranked place."""

    id: str
    """Product id."""
    name: str
    """Name in the response's locale."""
    category: str
    """Category key."""
    category_label: str
    """Category name in the response's locale."""
    brand: str
    """Brand."""
    brand_size: str
    """``small`` or ``large``."""
    eco_certified: bool
    """Has an eco certificate."""
    eco_score: int
    """Sustainability score 0..100."""
    price: float
    """Price."""
    currency: str
    """ISO 4217 currency."""
    rating: float
    """Shopper rating 0..5."""
    popularity: int
    """Recent orders (the neutral order)."""
    position: int
    """1-based position in the whole result."""
    score: float
    """Ranking score (higher first)."""
    reasons: list[CatalogReason]
    """Why it is shown here."""


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


def catalog_of(state: Any) -> Catalog:
    """The catalog plugged into an app's ``state`` (``app.state.prefkit_catalog``), else the sample one."""
    catalog = getattr(state, CATALOG_STATE_KEY, None) if state is not None else None
    if catalog is None and isinstance(state, Mapping):
        catalog = state.get(CATALOG_STATE_KEY)
    return catalog if isinstance(catalog, Catalog) else sample_catalog()


def ranker_of(state: Any) -> Ranker:
    """The ranking engine plugged into an app's ``state``, else prefkit's own."""
    ranker = getattr(state, RANKER_STATE_KEY, None) if state is not None else None
    if ranker is None and isinstance(state, Mapping):
        ranker = state.get(RANKER_STATE_KEY)
    return ranker if callable(ranker) else rank_page


def category_label(category: str, locale: str) -> str:
    labels = CATEGORY_LABELS.get(category, {})
    return labels.get(locale) or labels.get("en") or category


def _item(entry: Any, locale: str) -> CatalogItem:
    product: Product = entry.item
    return CatalogItem(
        id=product.id, name=product.display_name(locale), category=product.category,
        category_label=category_label(product.category, locale), brand=product.brand,
        brand_size=product.brand_size, eco_certified=product.eco_certified, eco_score=product.eco_score,
        price=product.price, currency=product.currency, rating=product.rating, popularity=product.popularity,
        position=entry.position, score=round(entry.score, 6),
        reasons=[CatalogReason(code=reason.code, effect=reason.effect, preference=reason.preference,
                               params=reason.params, text=text)
                 for reason, text in zip(entry.reasons, entry.explanation)],
    )


def run_query(catalog: Catalog, snapshot: RegistrySnapshot, profile: Profile, query: CatalogQuery, *,
              locale: str, ranker: Ranker = rank_page) -> CatalogPage:
    """Select, rank for ``profile`` (with ``ranker``), cut the page and explain it in ``locale``."""
    if query.category is not None and query.category not in catalog.categories:
        raise UnknownCategoryError(query.category, catalog.categories)
    texts = ReasonTexts(snapshot, ATTRIBUTE_WORDS)
    positions = catalog.select(query=query.q, category=query.category)
    extra: dict[str, Any] = {}
    if ranker is rank_page:  # prefkit's engine caches candidate sets by key; a shop's engine gets the contract
        extra["candidates_key"] = catalog.selection_key(query=query.q, category=query.category)
    ranked = ranker(catalog.index, profile, locale=locale, render=texts.render, positions=positions,
                    offset=(query.page - 1) * query.per_page, limit=query.per_page, **extra)
    return CatalogPage(
        locale=locale, q=query.q, category=query.category, page=query.page, per_page=query.per_page,
        total=ranked.total, pages=max(1, -(-ranked.total // query.per_page)), personalized=ranked.personalized,
        profile=texts.summarize(profile, locale, personalized=ranked.personalized),
        items=[_item(entry, locale) for entry in ranked.items],
    )
