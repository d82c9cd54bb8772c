"""The catalog: products, ranking by the shopper's own choices, explanations, and ``GET /api/v1/catalog``.

Modules
    :mod:`~bff.catalog.contract` the ranking contract: :class:`Ranker` (candidates, profile, paging in; a
                                 :class:`RankedPage` with structured reasons out), :class:`Candidates`
    :mod:`~bff.catalog.ranking`  prefkit's reference ranking and its rules: ``rank_candidates`` (the default
                                 :class:`Ranker`), ``rank(item, profile)``, ``rank_page(...)``, ``RankingIndex``
    :mod:`~bff.catalog.explain`  reasons and the profile in Polish/English with the registry's own labels
    :mod:`~bff.catalog.data`     the item contract and ``Catalog`` (search, categories, item views), the demo's
                                 ``Product``, ``sample_catalog()`` (240 products), ``load_catalog(path)``
    :mod:`~bff.catalog.query`    one query as the API and the demo run it (``run_query``)
    :mod:`~bff.catalog.routes`   ``GET /api/v1/catalog``, ``GET /api/v1/catalog/products/{id}``
    :mod:`~bff.catalog.plugin`   :class:`CatalogPlugin`, which puts all of it on an app

A shop's own items and engine come in through the plugin (docs/catalog.md has a whole example)::

    app = create_app(settings, plugins=[DemoPlugin(), CatalogPlugin(catalog=Catalog.from_items(items),
                                                                    ranker=my_engine), ...])

A catalog that is not a :class:`Catalog`, or an engine that cannot be called as a :class:`Ranker`, fails
``create_app`` with a message saying what was expected; nothing falls back silently. Importing this package
changes nothing.
"""

from __future__ import annotations

from .contract import Candidates, RankedItem, RankedPage, Ranker, RankerError, Reason
from .data import ATTRIBUTE_WORDS, Catalog, Product, ProductView, generate_products, load_catalog, sample_catalog
from .explain import AttributeWords, ProfileSummary, ReasonTexts
from .plugin import CatalogPlugin
from .query import CatalogConfigError
from .ranking import (
    Decision,
    RankingIndex,
    candidate_scales,
    filter_predicate,
    rank,
    rank_candidates,
    rank_catalog,
    rank_page,
)

__all__ = [
    "ATTRIBUTE_WORDS",
    "AttributeWords",
    "Candidates",
    "Catalog",
    "CatalogConfigError",
    "CatalogPlugin",
    "Decision",
    "Product",
    "ProductView",
    "ProfileSummary",
    "RankedItem",
    "RankedPage",
    "Ranker",
    "RankerError",
    "RankingIndex",
    "Reason",
    "ReasonTexts",
    "candidate_scales",
    "filter_predicate",
    "generate_products",
    "load_catalog",
    "rank",
    "rank_candidates",
    "rank_catalog",
    "rank_page",
    "sample_catalog",
]
