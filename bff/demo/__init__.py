"""The demo shop: Jinja2 pages served by the BFF, live product listing, "why am I seeing this".

:class:`DemoPlugin` (in :func:`bff.app.default_plugins`) contributes the demo pages under ``/demo`` (plus
``/`` -> ``/demo/`` in demo mode) and the ``product-listing`` and ``why-this`` widgets. ``DemoPlugin(pages=
False)`` keeps the widgets without the pages (the default plugins do so for ``Settings(extra={"demo_pages":
False})``). Importing this package changes nothing.
"""

from __future__ import annotations

from bff.plugins import PluginSetup, PrefkitPlugin

from .pages import create_demo_router, ranking_controls
from .widgets import DEMO_WIDGETS

__all__ = ["DEMO_WIDGETS", "DemoPlugin", "create_demo_router", "ranking_controls"]


class DemoPlugin(PrefkitPlugin):
    """The demo shop's pages and live widgets."""

    def __init__(self, *, pages: bool = True) -> None:
        self.pages = pages
        """Serve the pages under ``/demo``; the widgets are contributed either way."""

    def on_prefkit_init(self, setup: PluginSetup) -> None:
        if self.pages:
            setup.add_route_handlers(*create_demo_router(setup))
        setup.add_widgets(DEMO_WIDGETS)
