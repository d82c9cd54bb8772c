"""The catalog: products, ranking by the shopper's own choices, explanations, and ``GET /api/v1/catalog``."""

from __future__ import annotations

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

__all__ = [
    "ATTRIBUTE_WORDS",
    "AttributeWords",
    "Catalog",
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


def _register() -> None:
    # bff.app imports this package (OPTIONAL_MODULES) and calls the factory for every app it creates.
    from bff.app import register_routes

    register_routes(_catalog_routes)


def _catalog_routes(context: object) -> list[object]:
    from .routes import create_catalog_router

    return [create_catalog_router()]


_register()
