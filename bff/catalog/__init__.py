"""The catalog: products, ranking by the shopper's own choices, explanations, and ``GET /api/v1/catalog``.

Modules
    :mod:`~bff.catalog.ranking`  the pure ranking function and its contract: ``rank(item, profile)``,
                                 ``rank_catalog(items, profile, locale=)``, ``rank_page(...)``, ``RankingIndex``
    :mod:`~bff.catalog.explain`  reasons and the profile in Polish/English with the registry's own labels
    :mod:`~bff.catalog.data`     ``Product``, the seeded generator, ``Catalog`` (search, categories),
                                 ``sample_catalog()`` (240 products), ``load_catalog(path)`` for a JSON file
    :mod:`~bff.catalog.query`    one query as the API and the demo run it (``run_query``)
    :mod:`~bff.catalog.routes`   ``GET /api/v1/catalog``, ``GET /api/v1/catalog/products/{id}``

Plugging in a shop's own data or engine (both optional, per app)::

    app = create_app(settings)
    app.state.prefkit_catalog = load_catalog("products.json")   # default: the sample catalog
    app.state.prefkit_ranker = my_engine                         # default: ranking.rank_page

:class:`CatalogPlugin` contributes the routes; importing this package changes nothing.
"""

from __future__ import annotations

from bff.plugins import PluginSetup, PrefkitPlugin

from .data import ATTRIBUTE_WORDS, Catalog, Product, generate_products, load_catalog, sample_catalog
from .explain import AttributeWords, ProfileSummary, ReasonTexts
from .ranking import (
    Decision,
    RankedItem,
    RankedPage,
    RankingIndex,
    Reason,
    candidate_scales,
    rank,
    rank_catalog,
    rank_page,
)
from .routes import create_catalog_router, document_categories, document_categories_fingerprint

__all__ = [
    "ATTRIBUTE_WORDS",
    "AttributeWords",
    "Catalog",
    "CatalogPlugin",
    "Decision",
    "Product",
    "ProfileSummary",
    "RankedItem",
    "RankedPage",
    "RankingIndex",
    "Reason",
    "ReasonTexts",
    "candidate_scales",
    "generate_products",
    "load_catalog",
    "rank",
    "rank_catalog",
    "rank_page",
    "sample_catalog",
]


class CatalogPlugin(PrefkitPlugin):
    """``GET /api/v1/catalog`` and ``GET /api/v1/catalog/products/{id}`` (in :func:`bff.app.default_plugins`)."""

    def on_prefkit_init(self, setup: PluginSetup) -> None:
        setup.add_route_handlers(create_catalog_router())
        setup.add_openapi_hook(document_categories, document_categories_fingerprint)
