"""The page's side of the shopper's choices: what ``prefkit.js``'s public API (``window.prefkit``) reads.

:class:`PageApiPlugin` (in :func:`bff.app.default_plugins`) contributes, under ``/_prefkit``:

``GET /_prefkit/consent-mode.js``
    A classic (blocking) script, a few hundred bytes, derived from the active registry: it defines
    ``window.dataLayer`` / ``gtag`` if the page has none yet and sends ``gtag("consent", "default", ...)``
    with every Consent Mode type ``denied`` (``granted`` only for what ``notice_only`` consents grant), see
    :mod:`preference_registry.kinds.consent_mode`. Placed first in ``<head>``, it runs before any tag the
    page loads after it. ``?datalayer=1`` also makes ``prefkit.js`` push ``{event: "prefkit_consent"}``
    for GTM triggers. A registry without ``consent_mode`` gets a script that does nothing.
``GET /_prefkit/state``
    The caller's (identity cookie) page state, :class:`PageState`: every value in effect, each consent's
    purpose, and the Consent Mode mapping. Reading it records an expired consent or a GPC override once
    (as every read does), which is how "expired" reaches the page.
``WS /_prefkit/changes``
    The same state again whenever it changes, wherever the change came from: a widget, another tab, the
    HTTP API, GPC, expiry, erasure, a registry reload. One subscription to the service's
    :class:`~bff.events.EventBus` per socket, for the socket's subject only. The widget sockets' limits
    hold (:mod:`bff.sockets`): the same origin check, and the *same* per-client socket count (the app's
    ``PluginSetup.sockets``: widget and change sockets together stay within
    ``PREFKIT_MAX_SOCKETS_PER_CLIENT``); the client sends nothing (any message closes the socket with 1008).
``GET /_prefkit/prefkit.d.ts``
    TypeScript declarations of ``window.prefkit`` (``bff/static/prefkit.d.ts``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import msgspec
from litestar import Request, Response, Router, WebSocket, get, websocket
from litestar.exceptions import WebSocketDisconnect

from preference_registry import RegistrySnapshot
from preference_registry.kinds.consent_mode import consent_mode_defaults, consent_mode_signals

from .api.context import gpc_of
from .assets import StaticAsset, serve_asset
from .effective import EffectiveValue
from .identity import subject_from_connection
from .limits import ClientSlots
from .origins import normalize_origins
from .plugins import PluginSetup, PrefkitPlugin
from .service import PreferenceService
from .sockets import WS_POLICY_VIOLATION, client_socket_slot, refuse_handshake, socket_origin_allowed

__all__ = [
    "CHANGES_PATH",
    "CONSENT_MODE_PATH",
    "STATE_PATH",
    "TYPES_PATH",
    "ConsentInfo",
    "PageApiPlugin",
    "PageState",
    "PageValue",
    "consent_mode_script",
    "create_page_api_routes",
    "page_state",
]

logger = logging.getLogger("prefkit.page_api")

CONSENT_MODE_PATH: Final = "/consent-mode.js"
STATE_PATH: Final = "/state"
CHANGES_PATH: Final = "/changes"
TYPES_PATH: Final = "/prefkit.d.ts"
_TYPES_FILE: Final = Path(__file__).parent / "static" / "prefkit.d.ts"


class PageValue(msgspec.Struct, frozen=True, kw_only=True):
    """One preference as the page sees it."""

    value: Any
    """The value in effect (a consent: ``true`` = granted)."""
    in_effect: bool
    """False when a consent it requires is missing (then it must not be used)."""
    source: str
    """``default``, ``explicit``, ``gpc``, ``expired`` or ``requires-unmet``."""


class ConsentInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What the page needs to know about a consent type to gate tags by it."""

    purpose: str
    mechanism: str


class PageState(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /_prefkit/state`` and every message of ``/_prefkit/changes``."""

    registry_version: str
    values: dict[str, PageValue]
    """Every preference key -> its value in effect."""
    consents: dict[str, ConsentInfo]
    """Every consent key -> purpose and mechanism."""
    consent_mode: dict[str, list[str]] | None
    """Consent Mode type -> the consent keys granting it (granted while all are on); ``None``: the registry
    maps no consent to Consent Mode, and the page sends nothing."""
    source: str = "initial"
    """What brought this state: ``initial``, a change method (``ui``, ``api``, ``accept_all``,
    ``reject_all``, ``gpc``, ``expiry``, ``merge``, ``erasure``) or ``registry`` (a reload)."""
    stamp: int = 0
    """Server time in ns when it was read: a tab keeps the newest of the states it hears about."""


def page_state(snapshot: RegistrySnapshot, effective: Mapping[str, EffectiveValue], *,
               source: str = "initial") -> PageState:
    """The page state of one subject's effective values under ``snapshot``."""
    signals = consent_mode_signals(snapshot.preferences)
    return PageState(
        registry_version=snapshot.version,
        values={key: PageValue(value=v.value, in_effect=v.in_effect, source=v.source)
                for key, v in effective.items()},
        consents={pref.key: ConsentInfo(purpose=pref.purpose, mechanism=pref.mechanism.value)
                  for pref in snapshot.consents()},
        consent_mode={signal: list(keys) for signal, keys in signals.items()} if signals else None,
        source=source,
        stamp=time.time_ns(),
    )


def consent_mode_script(snapshot: RegistrySnapshot, *, data_layer: bool = False) -> str:
    """The body of ``/_prefkit/consent-mode.js`` for ``snapshot`` (also what the Jinja helper inlines)."""
    commands = [default.command() for default in consent_mode_defaults(snapshot.preferences)]
    config = msgspec.json.encode({"defaults": commands, "dataLayer": data_layer}).decode()
    # JSON inside a <script>: "</" and U+2028/9 escaped so inlining it can never end the element early.
    config = config.replace("</", "<\\/").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return (
        "/* prefkit: Google Consent Mode defaults from the registry; load before any tag. */\n"
        "(function (w) {\n"
        f"  var c = {config};\n"
        "  w.prefkitConsentMode = c;\n"
        "  if (!c.defaults.length) return;\n"
        "  w.dataLayer = w.dataLayer || [];\n"
        "  if (typeof w.gtag !== 'function') w.gtag = function () { w.dataLayer.push(arguments); };\n"
        "  for (var i = 0; i < c.defaults.length; i++) w.gtag('consent', 'default', c.defaults[i]);\n"
        "  c.defaultAt = w.performance ? w.performance.now() : 0;\n"
        "})(window);\n"
    )


def _subject_state_reader(service: PreferenceService) -> Any:
    async def read(subject: str, gpc: bool, source: str) -> PageState:
        snapshot = service.registry.current
        effective = await service.effective(subject, gpc=gpc, snapshot=snapshot)
        return page_state(snapshot, effective, source=source)

    return read


def _encode_state(state: PageState) -> str:
    return msgspec.json.encode(state).decode()


def create_page_api_routes(service: PreferenceService, *, allowed_origins: tuple[str, ...] = (),
                           sockets: ClientSlots | None = None, path_prefix: str = "/_prefkit") -> Router:
    """The routes of :class:`PageApiPlugin` (see the module doc). ``sockets``: the app's per-client count of
    open websockets, shared with the widget sockets (``None``: unlimited)."""
    origins = frozenset(normalize_origins(allowed_origins))
    slots = sockets if sockets is not None else ClientSlots(0)
    read = _subject_state_reader(service)
    types = StaticAsset.of(_TYPES_FILE.read_bytes(), "application/typescript; charset=utf-8", "public, no-cache")
    scripts: dict[tuple[str, bool], StaticAsset] = {}

    @get(CONSENT_MODE_PATH, include_in_schema=False)
    async def consent_mode(request: Request[Any, Any, Any]) -> Response[bytes]:
        snapshot = service.registry.current
        data_layer = request.query_params.get("datalayer") in ("1", "true")
        asset = scripts.get((snapshot.version, data_layer))
        if asset is None:
            if len(scripts) > 16:  # old registry versions: keep the cache bounded
                scripts.clear()
            body = consent_mode_script(snapshot, data_layer=data_layer).encode()
            # Revalidated: a registry reload changes the defaults under the same URL.
            asset = scripts[(snapshot.version, data_layer)] = StaticAsset.of(
                body, "text/javascript; charset=utf-8", "public, no-cache")
        return serve_asset(request, asset)

    @get(TYPES_PATH, include_in_schema=False)
    async def type_declarations(request: Request[Any, Any, Any]) -> Response[bytes]:
        return serve_asset(request, types)

    @get(STATE_PATH, include_in_schema=False)
    async def state(request: Request[Any, Any, Any]) -> Response[bytes]:
        # ?gpc=1 too: prefkit.js adds it from navigator.globalPrivacyControl (a claim of GPC can only make
        # the caller's own processing more private, so it is trusted like Sec-GPC).
        gpc = gpc_of(request) or request.query_params.get("gpc") == "1"
        current = await read(subject_from_connection(request), gpc, "initial")
        return Response(msgspec.json.encode(current), media_type="application/json",
                        headers={"Cache-Control": "no-store"})

    @websocket(CHANGES_PATH)
    async def changes(socket: WebSocket[Any, Any, Any]) -> None:
        if not socket_origin_allowed(socket, origins):
            logger.info("refused changes websocket from origin %r", socket.headers.get("origin"))
            await refuse_handshake(socket, 403, "origin not allowed")
            return
        async with client_socket_slot(socket, slots) as held:
            if held:
                await _stream_changes(socket, service, read)

    return Router(path=path_prefix, route_handlers=[consent_mode, type_declarations, state, changes])


async def _stream_changes(socket: WebSocket[Any, Any, Any], service: PreferenceService, read: Any) -> None:
    subject = subject_from_connection(socket)
    gpc = gpc_of(socket) or socket.query_params.get("gpc") == "1"  # type: ignore[arg-type]
    await socket.accept()
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()
    sources: list[str] = []

    def changed(source: str) -> None:
        # Coalesced: a burst of events costs one read and one message (carrying the last source).
        sources.append(source)
        wake.set()

    unsubscribe_events = service.events.subscribe(lambda event: changed(event.method), subject=subject, loop=loop)
    # Registry listeners run on the watcher's thread.
    unsubscribe_registry = service.registry.subscribe(
        lambda _snapshot: loop.call_soon_threadsafe(changed, "registry"))
    receiver = asyncio.ensure_future(socket.receive())
    last = ""
    try:
        sources.append("initial")
        wake.set()
        while True:
            waiter = asyncio.ensure_future(wake.wait())
            done, _ = await asyncio.wait({receiver, waiter}, return_when=asyncio.FIRST_COMPLETED)
            if receiver in done:
                waiter.cancel()
                message = receiver.result()
                if message.get("type") != "websocket.disconnect":
                    await socket.close(code=WS_POLICY_VIOLATION, reason="this socket takes no messages")
                return
            wake.clear()
            source = sources[-1] if sources else "initial"
            sources.clear()
            current = await read(subject, gpc, source)
            body = msgspec.json.encode(msgspec.structs.replace(current, stamp=0, source="")).decode()
            if body == last:
                continue  # e.g. a registry reload that changed nothing this subject has
            last = body
            await socket.send_data(_encode_state(current), mode="text")
    except (WebSocketDisconnect, OSError):
        pass  # the page went away
    finally:
        unsubscribe_events()
        unsubscribe_registry()
        receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await receiver


class PageApiPlugin(PrefkitPlugin):
    """``window.prefkit``'s server side: Consent Mode defaults, the page state and its change stream."""

    def on_prefkit_init(self, setup: PluginSetup) -> None:
        setup.add_route_handlers(create_page_api_routes(
            setup.service,
            allowed_origins=setup.settings.allowed_origins,
            sockets=setup.sockets,  # one count with the widget sockets
        ))
