"""The demo shop as a plugin: its pages and its live widgets."""

from __future__ import annotations

from bff.plugins import PluginSetup, PrefkitPlugin

from .pages import create_demo_router
from .widgets import DEMO_WIDGETS

__all__ = ["DemoPlugin"]


class DemoPlugin(PrefkitPlugin):
    """The demo shop's pages (``/demo``) and live widgets (``product-listing``, ``why-this``)."""

    def __init__(self, *, pages: bool = True) -> None:
        self.pages = pages
        """Serve the pages under ``/demo``; the widgets are contributed either way."""

    def on_prefkit_init(self, setup: PluginSetup) -> None:
        if self.pages:
            setup.add_route_handlers(*create_demo_router(setup))
        setup.add_widgets(DEMO_WIDGETS)
