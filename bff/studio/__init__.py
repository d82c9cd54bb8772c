"""The merchant studio (``/studio/``): edit the registry as forms or as text with live validation, preview
every widget with the real components, see the impact of an edit on stored consents, publish, and roll back.

:class:`StudioPlugin` is in :func:`bff.app.default_plugins`; it serves nothing useful until
``PREFKIT_ADMIN_KEY`` is set (the login form says the studio is disabled, every other route refuses), and a
shop that wants no studio at all leaves it out of its plugin list or sets ``Settings(extra={"studio":
False})``. See ``docs/studio.md``.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..plugins import PluginSetup as _PluginSetup
from ..plugins import PrefkitPlugin as _PrefkitPlugin
from .auth import StudioSessions
from .preview import PREVIEW_WIDGET, PreviewStore
from .preview import preview_factory as _preview_factory
from .routes import STUDIO_PREFIX
from .routes import create_studio_router as _create_studio_router

__all__ = ["PREVIEW_WIDGET", "STUDIO_PREFIX", "PreviewStore", "StudioPlugin", "StudioSessions"]


class StudioPlugin(_PrefkitPlugin):
    """The studio's pages, actions and the ``studio-preview`` widget."""

    def __init__(self, *, keys: Mapping[str, str] | None = None, session_minutes: float = 30) -> None:
        self.keys = dict(keys) if keys else None
        """``label -> admin key``: who may sign in, and the name the history shows for each. Default:
        ``{"admin": PREFKIT_ADMIN_KEY}``."""
        self.session_minutes = session_minutes
        """Lifetime of a studio session (not extended by activity)."""

    def on_prefkit_init(self, setup: _PluginSetup) -> None:
        sessions = StudioSessions(setup.settings.secret, ttl_s=self.session_minutes * 60)
        identity = setup.identity

        def secure(connection: object) -> bool:
            scope = getattr(connection, "scope", {})
            return identity.secure(scope.get("scheme") if isinstance(scope, dict) else None)

        setup.set_state("studio_sessions", sessions)
        setup.add_widget(PREVIEW_WIDGET, _preview_factory(sessions, secure))
        setup.add_route_handlers(_create_studio_router(sessions, self.keys))
