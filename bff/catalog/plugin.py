"""``CatalogPlugin``: the catalog API on an app, over the shop's items and ranking engine (both checked here)."""

from __future__ import annotations

from typing import Any

from bff.plugins import PluginSetup, PrefkitPlugin

from .contract import Ranker, check_ranker
from .data import Catalog, sample_catalog
from .explain import check_messages
from .query import CATALOG_STATE_KEY, RANKER_STATE_KEY, check_catalog
from .ranking import rank_candidates
from .routes import create_catalog_router, document_categories, document_categories_fingerprint
from .transparency import create_transparency_router

__all__ = ["CatalogPlugin"]


class CatalogPlugin(PrefkitPlugin):
    """``GET /api/v1/catalog``, ``GET /api/v1/catalog/products/{id}`` and ``GET /api/v1/transparency`` (in
    :func:`bff.app.default_plugins`),
    over ``catalog`` ranked by ``ranker``; the demo pages and live listing use the same two.

    Both are checked here, so a misconfigured app fails at ``create_app``, never at its first request.
    """

    def __init__(self, catalog: Catalog[Any] | None = None, ranker: Ranker[Any] | None = None) -> None:
        self.catalog: Catalog[Any] | None = (
            None if catalog is None else check_catalog(catalog, where="CatalogPlugin(catalog=...)"))
        """The items served (``None``: the bundled :func:`sample_catalog`, built when the app is)."""
        self.ranker: Ranker[Any] = (
            rank_candidates if ranker is None else check_ranker(ranker, where="CatalogPlugin(ranker=...)"))
        """The ranking engine (default: prefkit's own, :func:`rank_candidates`)."""
        messages = getattr(self.ranker, "messages", None)
        if messages is not None:
            check_messages(messages, where="CatalogPlugin(ranker=...).messages")

    def on_prefkit_init(self, setup: PluginSetup) -> None:
        setup.set_state(CATALOG_STATE_KEY, self.catalog if self.catalog is not None else sample_catalog())
        setup.set_state(RANKER_STATE_KEY, self.ranker)
        setup.add_route_handlers(create_catalog_router())
        setup.add_route_handlers(create_transparency_router())  # GET /api/v1/transparency (DSA Art. 27)
        setup.add_openapi_hook(document_categories, document_categories_fingerprint)
