"""Explicit plugins: how the demo, the catalog, the rights endpoints, the widgets and a shop's own extension
add routes, widgets, state and lifespan hooks to one app.

In the style of Litestar's own :class:`litestar.plugins.InitPlugin` (whose ``on_app_init`` receives the
``AppConfig``), a prefkit plugin gets one more hook, :meth:`PrefkitPlugin.on_prefkit_init`, called with a
:class:`PluginSetup` that carries what the kit has built for *this* app (settings, service, registry,
identity) and collects what the plugin contributes. Nothing registers itself on import and no module-level
table is mutated: two apps created with different plugin lists really differ::

    from bff.app import create_app, default_plugins
    from bff.plugins import PluginSetup, PrefkitPlugin

    class ShopPlugin(PrefkitPlugin):
        def on_prefkit_init(self, setup: PluginSetup) -> None:
            setup.add_route_handlers(my_controller)
            setup.add_widget("gift-finder", gift_finder_factory)

    app = create_app(settings, plugins=[*default_plugins(settings), ShopPlugin()])

The list of plugins an app gets when ``plugins`` is not given lives in one place:
:func:`bff.app.default_plugins` (it has to live above the plugins it names: this module is imported by every
plugin, so it may import none of them).

A :class:`PrefkitPlugin` is a Litestar ``InitPlugin`` too: :func:`bff.app.create_app` passes every plugin to
``Litestar(plugins=...)``, so a plugin that needs Litestar-level configuration (dependencies, signature
namespaces, ...) overrides ``on_app_init`` as it would for any Litestar app.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from litestar.plugins import InitPlugin

from .limits import ClientSlots

if TYPE_CHECKING:
    from litestar import Litestar

    from preference_registry import RegistryService

    from .api.openapi import DocumentHook, HookFingerprint
    from .identity import Identity
    from .reactpy_bridge import WidgetFactory
    from .service import PreferenceService
    from .settings import Settings

__all__ = ["LifespanHook", "PluginConflictError", "PluginSetup", "PrefkitPlugin"]

LifespanHook = Callable[["Litestar"], AbstractAsyncContextManager[None]]
"""An async context manager factory taking the app, as Litestar's ``lifespan=`` accepts: entered at start-up
after the kit's own (migrations, registry watcher), left at shutdown before it."""


class PluginConflictError(ValueError):
    """Two plugins contributed the same widget name or state key (a start-up error, never a silent override)."""


@dataclass(eq=False, kw_only=True)
class PluginSetup:
    """What :meth:`PrefkitPlugin.on_prefkit_init` gets: the app's parts, and the collections it adds to.

    Use the ``add_*`` methods rather than the collections themselves: they refuse a widget name or a state key
    another plugin already took, naming both plugins.
    """

    settings: Settings
    """The app's settings (``settings.extra`` carries shop-specific options)."""
    service: PreferenceService
    """Reads and writes preferences (also on ``app.state.prefkit``)."""
    registry: RegistryService
    """The live registry."""
    identity: Identity
    """Cookie/token helper (the subject of a connection: ``bff.identity.subject_from_connection``)."""
    sockets: ClientSlots = None  # type: ignore[assignment]  # filled in by __post_init__
    """The app's one count of the websockets each client holds open (``PREFKIT_MAX_SOCKETS_PER_CLIENT``),
    shared by every socket route: the widget bridge, the page API's change stream, a plugin's own (hold a
    slot with :func:`bff.sockets.client_socket_slot`). Default: a new count from ``settings``."""
    route_handlers: list[Any] = field(default_factory=list)
    """Litestar route handlers, controllers or routers, added to the app's own."""
    widgets: dict[str, WidgetFactory] = field(default_factory=dict)
    """Widget name (``<div data-prefkit-widget="...">``) -> factory, served by the ReactPy bridge."""
    state: dict[str, Any] = field(default_factory=dict)
    """Entries of ``app.state`` (the kit's own keys are ``prefkit*``; pick names that cannot clash)."""
    lifespan: list[LifespanHook] = field(default_factory=list)
    """Lifespan context managers, entered in order after the kit's own."""
    openapi_hooks: list[tuple[DocumentHook, HookFingerprint]] = field(default_factory=list)
    """``(hook, fingerprint)`` pairs completing the served ``/schema/openapi.json`` with what is known only
    at request time (see :mod:`bff.api.openapi`)."""
    _owners: dict[tuple[str, str], str] = field(default_factory=dict, init=False, repr=False)
    _current: str = field(default="", init=False, repr=False)

    def __post_init__(self) -> None:
        if self.sockets is None:
            self.sockets = ClientSlots(self.settings.max_sockets_per_client)

    def add_route_handlers(self, *handlers: Any) -> None:
        """Add Litestar route handlers, controllers or routers."""
        self.route_handlers.extend(handlers)

    def add_widget(self, name: str, factory: WidgetFactory) -> None:
        """Serve ``factory`` as widget ``name`` (lowercase ``[a-z0-9-]``, checked by the bridge)."""
        self._claim("widget", name)
        self.widgets[name] = factory

    def add_widgets(self, widgets: Mapping[str, WidgetFactory]) -> None:
        """:meth:`add_widget` for each entry."""
        for name, factory in widgets.items():
            self.add_widget(name, factory)

    def set_state(self, key: str, value: Any) -> None:
        """Put ``value`` on ``app.state`` under ``key``."""
        self._claim("state key", key)
        self.state[key] = value

    def add_lifespan(self, hook: LifespanHook) -> None:
        """Enter ``hook(app)`` while the app runs (after the kit's own start-up)."""
        self.lifespan.append(hook)

    def add_openapi_hook(self, hook: DocumentHook, fingerprint: HookFingerprint) -> None:
        """Run ``hook(document, app.state)`` on this app's OpenAPI document, again whenever
        ``fingerprint(app.state)`` changes."""
        self.openapi_hooks.append((hook, fingerprint))

    def _claim(self, what: str, name: str) -> None:
        owner = self._owners.get((what, name))
        if owner is not None:
            raise PluginConflictError(f"{what} {name!r} is contributed by both {owner} and {self._current}")
        self._owners[(what, name)] = self._current

    def run(self, plugins: Iterable[PrefkitPlugin]) -> None:
        """Call every plugin's hook in order (``create_app`` does)."""
        for plugin in plugins:
            self._current = type(plugin).__qualname__
            plugin.on_prefkit_init(self)
        self._current = ""


class PrefkitPlugin(InitPlugin):
    """Base of every prefkit plugin. Override :meth:`on_prefkit_init`; ``on_app_init`` (Litestar's hook) is
    available too and is a no-op unless overridden."""

    def on_prefkit_init(self, setup: PluginSetup) -> None:
        """Contribute routes, widgets, state and lifespan hooks to ``setup``. Default: nothing."""
