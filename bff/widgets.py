"""The components served as embeddable widgets: store adapter, widget factories, theme/script routes.

``WIDGETS`` maps the name in ``<div data-prefkit-widget="...">`` to a factory the ReactPy bridge
(``bff/reactpy_bridge.py``) calls once per websocket session. Each session gets a :class:`ServiceStore`:
the components' :class:`~components.store.PreferenceStore` protocol implemented on the
:class:`~bff.service.PreferenceService`, for the subject of that websocket (its identity cookie), so a
widget can only ever read and change its own subject's data.

Mount-point attributes (all optional except ``data-key`` where noted):

===================== =========================================================================
``data-key``           preference key (every kind's keyed widget: ``consent-toggle``, ``preference-slider``,
                       ``filter-group``, ``priorities``)
``data-locale``        ``pl``/``en``...; else negotiated from ``Accept-Language``, else the registry's
``data-theme``         theme name (``default``, ``dark``, ``high-contrast`` or a shop theme);
                       ``none`` for unstyled; default: the registry's ``shop.theme``
``data-chips``         ``true``/``false``: chips of the selection (filter group, center)
``data-modal``         ``false`` renders the consent banner inline instead of as a modal dialog
``gpc``                ``1`` when the browser has Global Privacy Control on (added by prefkit.js:
                       websocket handshakes carry no ``Sec-GPC`` header in Chromium)
===================== =========================================================================

:class:`WidgetsPlugin` (in :func:`bff.app.default_plugins`) contributes ``WIDGETS`` and these routes:
``GET /_prefkit/themes/{name}.css`` (theme stylesheet), ``GET /_prefkit/kit/prefkit-components.js``
(the components' browser helper) and ``GET /_prefkit/kit/messages.json`` (the kit's strings that
``prefkit.js`` shows when a widget cannot connect, per locale), all with ETags and cross-origin friendly
headers.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final

import msgspec
from litestar import Request, Response, Router, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from reactpy.types import Component

import components
import themes
from components import (
    ConsentBanner,
    HistoryEntry,
    KitAssets,
    PreferenceCenter,
    PreferenceProvider,
    PreferenceStoreError,
    StoreCapabilities,
)
from components.kinds import CONTROLS, ControlLayout
from preference_registry import RegistrySnapshot

from .api.context import gpc_of, request_locale
from .assets import StaticAsset, serve_asset
from .effective import EffectiveValue
from .identity import subject_from_connection
from .kinds import KINDS
from .limits import budgeted_store
from .plugins import PluginSetup, PrefkitPlugin
from .reactpy_bridge import WidgetFactory, WidgetRequest
from .service import PreferenceService, PreferenceValidationError, UnknownPreferenceError

__all__ = [
    "CLIENT_MESSAGE_IDS",
    "EXPORT_PATH",
    "KIT_MESSAGES_PATH",
    "KIT_SCRIPT_PATH",
    "THEMES_PATH",
    "WIDGETS",
    "ServiceStore",
    "WidgetsPlugin",
    "create_widget_routes",
    "widget_factory",
]

EXPORT_PATH: Final = "/api/v1/me/export"
"""Where the preference center links "Download my data" when the app serves that route."""
KIT_SCRIPT_PATH: Final = "/kit/prefkit-components.js"
KIT_MESSAGES_PATH: Final = "/kit/messages.json"
CLIENT_MESSAGE_IDS: Final = ("connection_lost", "unavailable", "retry")
"""Kit strings (components/i18n.py) ``prefkit.js`` needs for a widget the server cannot render: no socket."""
THEMES_PATH: Final = "/themes"
_UI_METHOD: Final = "ui"
_THEME_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
_UNSTYLED: Final = "none"



class ServiceStore:
    """:class:`components.PreferenceStore` over the :class:`PreferenceService`, for one subject.

    Writes are recorded with method ``ui`` (and ``accept_all``/``reject_all`` by the service), with the
    GPC signal of the websocket handshake, exactly as the HTTP API would record them.
    """

    def __init__(
        self,
        service: PreferenceService,
        subject: str,
        *,
        gpc: bool = False,
        locale: str | None = None,
        capabilities: StoreCapabilities | None = None,
    ) -> None:
        self.service = service
        self.subject = subject
        self.gpc = gpc
        self.locale = locale
        self._capabilities = capabilities or StoreCapabilities()

    @property
    def snapshot(self) -> RegistrySnapshot:
        # The subject's own view: a running experiment shows this shopper their arm's wording and default.
        return self.service.snapshot_for(self.subject)

    @property
    def capabilities(self) -> StoreCapabilities:
        return self._capabilities

    async def load(self) -> Mapping[str, EffectiveValue]:
        return await self.service.effective(self.subject, gpc=self.gpc)

    async def set(self, changes: Mapping[str, Any]) -> Mapping[str, EffectiveValue]:
        try:
            return await self.service.set_values(self.subject, changes, method=_UI_METHOD, gpc=self.gpc)
        except PreferenceValidationError as exc:
            first = exc.problems[0]
            raise PreferenceStoreError(first.message, key=first.key) from exc

    async def reset(self, key: str) -> Mapping[str, EffectiveValue]:
        try:
            return await self.service.reset(self.subject, key, method=_UI_METHOD, gpc=self.gpc)
        except UnknownPreferenceError as exc:
            raise PreferenceStoreError(str(exc), key=key) from exc

    async def accept_all(self) -> Mapping[str, EffectiveValue]:
        return await self.service.accept_all(self.subject, gpc=self.gpc)

    async def reject_all(self) -> Mapping[str, EffectiveValue]:
        return await self.service.reject_all(self.subject, gpc=self.gpc)

    async def history(self) -> Sequence[HistoryEntry]:
        entries = await self.service.history(self.subject, locale=self.locale)
        return [
            HistoryEntry(
                key=e.key,
                value=e.new_value,
                method=e.method,
                at=e.created_at,
                registry_version=e.registry_version,
            )
            for e in entries
        ]

    async def erase(self) -> None:
        rights = _subject_rights()
        if rights is None or not self._capabilities.erase:
            raise PreferenceStoreError("erasure is not available")
        await rights(self.service).erase(self.subject)

    def subscribe(self, listener: Callable[[], None]) -> Callable[[], None]:
        # Every committed change event of this subject (any method: another tab, the API, accept/reject
        # all, GPC or expiry recorded during a read, merge, erasure); ``listener`` is loop-safe already
        # (the components wrap it with ``on_loop``).
        return self.service.events.subscribe(lambda _event: listener(), subject=self.subject)

    def subscribe_registry(self, listener: Callable[[RegistrySnapshot], None]) -> Callable[[], None]:
        return self.service.registry.subscribe(lambda _snapshot: listener(self.snapshot))


def _subject_rights() -> Any:
    """``bff.rights.SubjectRights`` when that optional module is installed (it owns erasure)."""
    try:
        from .rights import SubjectRights
    except ModuleNotFoundError:
        return None
    return SubjectRights


# -- widget factories ---------------------------------------------------------------------------
def _bff_base(request: WidgetRequest) -> str:
    """``//host/_prefkit``: the BFF as seen by the browser (scheme-relative: the page's scheme is kept,
    so an https shop page loads https assets), including the bridge's path prefix."""
    path = request.connection.scope.get("path", "")
    prefix = path[: path.rfind("/ws/")] if "/ws/" in path else "/_prefkit"
    return f"//{request.connection.headers.get('host', '')}{prefix}"


def _has_route(request: WidgetRequest, path: str) -> bool:
    try:
        return path in request.connection.app.route_handler_method_map
    except AttributeError:
        return False


def _flag(props: Mapping[str, str], name: str, default: bool) -> bool:
    raw = props.get(name)
    if raw is None:
        return default
    return raw.strip().lower() not in ("false", "0", "no", "off")


Render = Callable[[WidgetRequest, RegistrySnapshot], Component]


def widget_factory(render: Render, *, history: bool = False) -> WidgetFactory:
    """A bridge factory: resolves subject, locale, theme and GPC, then wraps ``render``'s component in a
    :func:`~components.PreferenceProvider` connected to a :class:`ServiceStore`."""

    def factory(request: WidgetRequest) -> Component:
        connection = request.connection
        service: PreferenceService = connection.app.state.prefkit
        snapshot = service.registry.current
        child = render(request, snapshot)  # validates props first: refuse before any other work
        locale = request_locale(connection, request.props.get("locale"), snapshot)
        theme = request.props.get("theme") or snapshot.shop.theme
        if not _THEME_NAME.fullmatch(theme):
            raise NotFoundException(f"invalid theme name {theme!r} (data-theme)")
        base = _bff_base(request)
        assets = KitAssets(
            behaviour_src=f"{base}{KIT_SCRIPT_PATH}",
            stylesheet_href=None if theme == _UNSTYLED else f"{base}{THEMES_PATH}/{theme}.css",
        )
        capabilities = StoreCapabilities(
            export_url=f"{base.rsplit('/_prefkit', 1)[0]}{EXPORT_PATH}"
            if _has_route(request, EXPORT_PATH)
            else None,
            erase=_subject_rights() is not None,
        )
        # Chromium sends Sec-GPC on page requests but not on websocket handshakes, so the ``gpc=1`` prop
        # (set by prefkit.js from navigator.globalPrivacyControl) counts too. Either source is trusted: a
        # client claiming GPC can only make its own processing more private.
        gpc = gpc_of(connection) or request.props.get("gpc") == "1"  # type: ignore[arg-type]
        store = ServiceStore(
            service,
            subject_from_connection(connection),
            gpc=gpc,
            locale=locale,
            capabilities=capabilities,
        )
        # Widget writes draw on the client's write budget, like HTTP writes (bff/limits.py).
        store = budgeted_store(store, connection.scope)  # type: ignore[assignment]
        return PreferenceProvider(
            store, child, locale=locale, theme=theme, assets=assets, load_history=history
        )

    return factory


def _keyed_control(kind: str) -> Render:
    """The standalone control of the ``kind`` preference a mount point's ``data-key`` names: the kind's
    connected control from ``components.kinds.CONTROLS``, so a new kind needs no code here."""
    control = CONTROLS[kind]

    def render(request: WidgetRequest, snapshot: RegistrySnapshot) -> Component:
        key = request.props.get("key", "")
        pref = snapshot.get(key)
        # Compared by kind name, not isinstance: a type of another kind (a subclass too) is refused.
        if pref is None or pref.kind != kind:
            # Refused at the handshake (404): a typo in a mount point should fail loudly, not render empty.
            raise NotFoundException(f"no {kind} preference {key!r} in the registry (data-key)")
        return control.connected(pref, ControlLayout(chips=_flag(request.props, "chips", False)))

    return render


def _center(request: WidgetRequest, snapshot: RegistrySnapshot) -> Component:
    return PreferenceCenter(chips=_flag(request.props, "chips", True))


def _banner(request: WidgetRequest, snapshot: RegistrySnapshot) -> Component:
    return ConsentBanner(modal=_flag(request.props, "modal", True))


WIDGETS: Mapping[str, WidgetFactory] = MappingProxyType({
    # One keyed widget per kind, named by the kind's BFF entry (bff/kinds/): consent-toggle,
    # preference-slider, filter-group, priorities, and whatever kind comes next.
    **{entry.widget: widget_factory(_keyed_control(kind)) for kind, entry in KINDS.items()},
    "preference-center": widget_factory(_center, history=True),
    "consent-banner": widget_factory(_banner),
})
"""The kit's widgets: name -> factory, contributed by :class:`WidgetsPlugin`. Read-only: a shop's own widget
comes in through its own plugin (``setup.add_widget``), never by editing a shared table."""


# -- theme stylesheets and the components' script ------------------------------------------------
def _asset_response(request: Request[Any, Any, Any], body: str, media_type: str) -> Response[bytes]:
    # Revalidated (cheap 304): a theme edit shows up at once.
    return serve_asset(request, StaticAsset.of(body.encode(), media_type, "public, no-cache"))


def create_widget_routes(
    library: themes.ThemeLibrary | None = None, path_prefix: str = "/_prefkit"
) -> Router:
    """Routes for theme stylesheets and the components' browser helper, under ``path_prefix``."""
    library = library or themes.ThemeLibrary(filter(None, [os.environ.get("PREFKIT_THEMES_DIR")]))
    script = components.BEHAVIOUR_SCRIPT.read_text(encoding="utf-8")
    messages = msgspec.json.encode(
        {
            locale: {message_id: components.kit_text(locale)(message_id) for message_id in CLIENT_MESSAGE_IDS}
            for locale in components.CATALOGS
        }
    ).decode()

    @get(f"{THEMES_PATH}/{{file_name:str}}", include_in_schema=False)
    async def theme_stylesheet(request: Request[Any, Any, Any], file_name: FromPath[str]) -> Response[bytes]:
        name, dot, suffix = file_name.rpartition(".")
        if not dot or suffix != "css":
            raise NotFoundException(f"theme files end in .css: {file_name!r}")
        try:
            css = library.css_for(name)
        except themes.UnknownThemeError as exc:
            raise NotFoundException(str(exc)) from exc
        return _asset_response(request, css, "text/css; charset=utf-8")

    @get(KIT_SCRIPT_PATH, include_in_schema=False)
    async def kit_script(request: Request[Any, Any, Any]) -> Response[bytes]:
        return _asset_response(request, script, "text/javascript; charset=utf-8")

    @get(KIT_MESSAGES_PATH, include_in_schema=False)
    async def kit_messages(request: Request[Any, Any, Any]) -> Response[bytes]:
        return _asset_response(request, messages, "application/json")

    return Router(path=path_prefix, route_handlers=[theme_stylesheet, kit_script, kit_messages])


class WidgetsPlugin(PrefkitPlugin):
    """The preference widgets (:data:`WIDGETS`) and their theme/script/message routes."""

    def __init__(self, *, library: themes.ThemeLibrary | None = None) -> None:
        self.library = library
        """Where theme stylesheets come from (default: the kit's themes plus ``PREFKIT_THEMES_DIR``)."""

    def on_prefkit_init(self, setup: PluginSetup) -> None:
        setup.add_widgets(WIDGETS)
        setup.add_route_handlers(create_widget_routes(self.library))
