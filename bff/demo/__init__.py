"""The demo shop: Jinja2 pages served by the BFF, live product listing, "why am I seeing this".

Importing this package (``bff.app`` does, see ``OPTIONAL_MODULES``) registers the demo pages under ``/demo``
(plus ``/`` -> ``/demo/`` in demo mode; a shop turns the pages off with ``Settings(extra={"demo_pages":
False})``) and adds the ``product-listing`` and ``why-this`` widgets to the ReactPy bridge's widget table.
"""

from __future__ import annotations

from typing import Any

from bff.app import AppContext, register_routes

from .pages import create_demo_router, ranking_controls
from .widgets import DEMO_WIDGETS

__all__ = ["DEMO_WIDGETS", "create_demo_router", "demo_routes", "ranking_controls"]


def demo_routes(context: AppContext) -> list[Any]:
    """The demo pages, unless the settings turn them off."""
    if context.settings.extra.get("demo_pages", True) is False:
        return []
    return create_demo_router(context)


def _add_widgets() -> None:
    # bff.widgets documents its WIDGETS table as open to additions at import time; the bridge reads it per
    # connection. Without bff.widgets (no components installed) there is no bridge to serve them anyway.
    try:
        from bff.widgets import WIDGETS
    except ModuleNotFoundError:
        return
    for name, factory in DEMO_WIDGETS.items():
        WIDGETS.setdefault(name, factory)


register_routes(demo_routes)
_add_widgets()
