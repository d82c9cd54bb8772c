"""The data-subject rights endpoints as a plugin: ``GET /api/v1/me/export`` and ``DELETE /api/v1/me``.

A module of its own (not in :mod:`bff.rights`) so that the rights logic does not import its HTTP face:
``bff.api.rights`` imports ``bff.rights``, and this module imports both.
"""

from __future__ import annotations

from .api.rights import RightsController
from .plugins import PluginSetup, PrefkitPlugin

__all__ = ["RightsPlugin"]


class RightsPlugin(PrefkitPlugin):
    """Export (art. 15/20) and erasure (art. 17) of the caller's own data (in :func:`bff.app.default_plugins`)."""

    def on_prefkit_init(self, setup: PluginSetup) -> None:
        setup.add_route_handlers(RightsController)
