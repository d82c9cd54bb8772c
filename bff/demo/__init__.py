"""The demo shop: Jinja2 pages served by the BFF, live product listing, "why am I seeing this".

:class:`DemoPlugin` (in :func:`bff.app.default_plugins`) contributes the demo pages under ``/demo`` (plus
``/`` -> ``/demo/`` in demo mode) and the ``product-listing`` and ``why-this`` widgets. ``DemoPlugin(pages=
False)`` keeps the widgets without the pages (the default plugins do so for ``Settings(extra={"demo_pages":
False})``). Importing this package changes nothing.
"""

from __future__ import annotations

from .pages import create_demo_router, ranking_controls
from .plugin import DemoPlugin
from .widgets import DEMO_WIDGETS

__all__ = ["DEMO_WIDGETS", "DemoPlugin", "create_demo_router", "ranking_controls"]
