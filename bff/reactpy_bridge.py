"""The ReactPy bridge: every ReactPy-specific line of the BFF lives in this module.

prefkit serves its ReactPy components *through Litestar's own routing* instead of mounting ReactPy's ASGI
middleware beside the app. That way sessions, identity cookies, guards, rate limiting and the Origin check
below apply to component websockets exactly as they apply to the JSON API. Upgrading ReactPy should touch
this file (and ``bff/static/prefkit.js``) only.

Routes (all below ``ReactPyBridgeConfig.path_prefix``, default ``/_prefkit``):

``GET  {prefix}/prefkit.js``
    The bootstrap a shop embeds with ``<script type="module" src="https://BFF/_prefkit/prefkit.js">``.
    It mounts every ``[data-prefkit-widget]`` element on the page.
``GET  {prefix}/static/{name}``
    ReactPy's browser client (``index.js`` and the chunks it imports), straight from the installed
    ``reactpy`` package so client and server versions can never drift apart.
``WS   {prefix}/ws/{widget}?key=..&locale=..&path=..&qs=..``
    One component session per mount point. ``path``/``qs`` are added by ReactPy's client (the host
    page's location, exposed through ``reactpy.use_location()``); every other query parameter becomes
    ``WidgetRequest.props``.
``GET  {prefix}/ws/{widget}``
    Plain HTTP on the websocket URL: 404 for an unknown widget, 426 Upgrade Required otherwise.

Wire protocol (mirrors ``reactpy/executors/asgi/middleware.py`` of 2.0.0b13): text frames holding JSON.
Server -> client: ``{"type": "layout-update", "path": <JSON pointer>, "model": <VDOM>}``.
Client -> server: ``{"type": "layout-event", "target": <handler id>, "data": [<event>...], "seq": <int>}``.

ReactPy 2.0.0b13 client quirk handled in ``prefkit.js``: ``mountReactPy()`` always builds its websocket
URL from ``window.location.host`` (the *host page*), so a page on another origin cannot point it at the
BFF. ``prefkit.js`` therefore gives it a sentinel path prefix and rewrites exactly those URLs to the
BFF's ``{prefix}/ws/`` in a narrow ``WebSocket`` subclass (only when the page is on another origin).

Second quirk, handled in the same subclass: the client sends each event with its target and currentTarget
serialized whole (with the texts of the elements their ``aria-labelledby``/``aria-describedby`` point at,
three times over), so merchant texts near the registry's 4,000-character limit made one click larger than
the message limit below. ``prefkit.js`` reduces each ``layout-event``'s data to the event's scalar fields and
the targets' form fields and dataset (what the components read): a few hundred bytes whatever the texts.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, cast

import msgspec
import orjson
import reactpy
from litestar import Request, Response, Router, WebSocket, get, websocket
from litestar.exceptions import HTTPException, NotFoundException, WebSocketDisconnect
from reactpy.config import REACTPY_ASYNC_RENDERING
from reactpy.core.hooks import ConnectionContext
from reactpy.core.layout import Layout
from reactpy.core.serve import serve_layout
from reactpy.types import Component, Connection, Location

from . import strict_json
from .assets import StaticAsset, serve_asset
from .identity import use_subject
from .limits import ClientSlots
from .origins import normalize_origins
from .sockets import WS_POLICY_VIOLATION, client_socket_slot, refuse_handshake, socket_origin_allowed

__all__ = [
    "DEFAULT_MAX_MESSAGE_BYTES",
    "REACTPY_STATIC_DIR",
    "ReactPyBridgeConfig",
    "WidgetFactory",
    "WidgetRequest",
    "apply_layout_update",
    "create_reactpy_router",
    "server_ws_max_size",
    "walk_model",
]

_logger = logging.getLogger(__name__)

REACTPY_STATIC_DIR: Final[Path] = Path(reactpy.__file__).parent / "static"
"""ReactPy's bundled browser client (``index.js`` exports ``mountReactPy``)."""

_BOOTSTRAP_FILE: Final[Path] = Path(__file__).parent / "static" / "prefkit.js"

# Query parameters ReactPy's client appends to every websocket URL to describe the host page's location.
# They feed ``use_location()`` and are never widget props.
_LOCATION_PARAMS: Final[frozenset[str]] = frozenset({"path", "qs"})

_WIDGET_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")

# ReactPy 2.0.0b13 renders components concurrently by default. When a provider and a component below it
# re-render in the same tick (a save updates the session values and the component's own state), both
# renders diff the same subtree and unmount it twice (KeyError in Layout._unmount_model_states; the
# consent banner crashed on "Save my choices"). One render at a time removes the race; a widget session's
# renders are tiny, so nothing is lost.
REACTPY_ASYNC_RENDERING.current = False

DEFAULT_MAX_MESSAGE_BYTES: Final[int] = 64 * 1024
"""The documented limit of one client message (UTF-8 bytes of its text)."""
_FRAME_HEADROOM: Final[int] = 4 * 1024


def server_ws_max_size(max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> int:
    """The ASGI server's websocket message limit (uvicorn ``ws_max_size``) for ``max_message_bytes``.

    The server refuses a frame announcing more than this (close 1009) from its header, before buffering
    it; without it uvicorn buffers up to 16 MiB per socket before this bridge sees a byte. The headroom
    keeps the bridge's own, documented 1008 for messages just over ``max_message_bytes``."""
    return max_message_bytes + _FRAME_HEADROOM

_STATIC_MEDIA_TYPES: Final[Mapping[str, str]] = {
    ".js": "text/javascript",  # Litestar appends "; charset=utf-8" to text/* itself
    ".map": "application/json",
    ".css": "text/css",
}
# esbuild names code-split chunks after their content hash (``index-bz53xswt.js``): safe to cache forever.
_HASHED_ASSET = re.compile(r"-[a-z0-9]{8}\.js(\.map)?$")
_CACHE_FOREVER: Final[str] = "public, max-age=31536000, immutable"
# Unhashed names (index.js, prefkit.js) change on upgrade/deploy under the same URL: revalidate (cheap 304).
_CACHE_REVALIDATE: Final[str] = "public, no-cache"


@dataclass(frozen=True, slots=True)
class WidgetRequest:
    """Everything a widget factory knows about the mount point that asked for a component."""

    widget: str
    """Widget name from the URL, e.g. ``"consent-toggle"`` (the mount point's ``data-prefkit-widget``)."""
    props: dict[str, str]
    """The mount point's other ``data-*`` attributes (``key``, ``locale``, ``theme``...), from the query string.

    Only the first value of a repeated parameter is kept; ``path``/``qs`` are reserved (see module doc)."""
    connection: WebSocket[Any, Any, Any]
    """The Litestar websocket, after all middleware ran: read ``cookies``, ``scope["state"]``, ``user``..."""


WidgetFactory = Callable[[WidgetRequest], Component]
"""Builds the root component of one session. May raise ``litestar.exceptions.HTTPException`` (e.g.
``NotFoundException`` for an unknown preference key) to refuse the handshake with that status."""


@dataclass(frozen=True, kw_only=True)
class ReactPyBridgeConfig:
    """Configuration of :func:`create_reactpy_router`."""

    widgets: Mapping[str, WidgetFactory]
    """Widget name -> factory. Looked up per connection, so a mapping updated in place is picked up live.
    Names are lowercase ``[a-z0-9-]`` because they appear in URLs and HTML attributes."""
    path_prefix: str = "/_prefkit"
    """URL prefix of all bridge routes; starts with ``/``, no trailing slash."""
    allowed_origins: tuple[str, ...] = ()
    """Cross-origin pages (``"https://shop.example"``, exact scheme://host[:port]) allowed to open component
    websockets. Same-origin pages are always allowed; empty means same-origin only."""
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    """Largest client message accepted (UTF-8 bytes). Bigger messages close the socket with 1008 (policy
    violation). Run the server with ``ws_max_size=server_ws_max_size(max_message_bytes)`` (``prefkit
    serve`` does) so that much bigger frames are refused before they are buffered."""
    max_sockets_per_client: int = 0
    """Component websockets one client address may hold open at once (0: unlimited); a socket beyond is
    accepted and closed at once with 1013 (try again later), so ReactPy's client retries with backoff."""
    sockets: ClientSlots | None = None
    """The app's one per-client count of open websockets, shared with its other socket routes (the page
    API's change stream): :func:`bff.app.create_app` passes ``PluginSetup.sockets``. Instead of
    ``max_sockets_per_client``, never with it; ``None``: a count of the bridge's own."""
    _normalized_origins: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.path_prefix.startswith("/") or self.path_prefix.endswith("/"):
            raise ValueError(f"path_prefix must start with '/' and not end with '/': {self.path_prefix!r}")
        if self.max_message_bytes <= 0:
            raise ValueError(f"max_message_bytes must be positive: {self.max_message_bytes}")
        if self.max_sockets_per_client < 0:
            raise ValueError(f"max_sockets_per_client must be 0 or positive: {self.max_sockets_per_client}")
        if self.sockets is not None and self.max_sockets_per_client:
            raise ValueError("give max_sockets_per_client or sockets (which carries its own limit), not both")
        for name in self.widgets:
            if not _WIDGET_NAME.fullmatch(name):
                raise ValueError(f"widget name must match {_WIDGET_NAME.pattern}: {name!r}")
        object.__setattr__(self, "_normalized_origins", frozenset(normalize_origins(self.allowed_origins)))


def create_reactpy_router(config: ReactPyBridgeConfig) -> Router:
    """Build the Litestar router serving the bootstrap script, ReactPy's client and the component websockets.

    Register it like any other router (``Litestar(route_handlers=[..., create_reactpy_router(cfg)])``) so the
    app's middleware, guards and dependencies apply to it.
    """
    static_assets = _load_static_assets()
    bootstrap = _asset(_BOOTSTRAP_FILE.read_bytes(), ".js", _CACHE_REVALIDATE)
    slots = config.sockets if config.sockets is not None else ClientSlots(config.max_sockets_per_client)

    @get("/prefkit.js", include_in_schema=False)
    async def bootstrap_script(request: Request[Any, Any, Any]) -> Response[bytes]:
        return serve_asset(request, bootstrap)

    @get("/session", include_in_schema=False)
    async def warm_session(request: Request[Any, Any, Any]) -> Response[None]:
        # Nothing to answer: the app's identity middleware sets the subject cookie on this response when
        # there is none yet (asked for here: it issues one only where the subject is used). prefkit.js calls
        # it before opening any socket, so the widgets of a shopper's very first page share one subject
        # instead of racing to create one each.
        use_subject(request)
        return Response(None, status_code=204, headers={"Cache-Control": "no-store"})

    @get("/static/{name:str}", include_in_schema=False)
    async def reactpy_static(request: Request[Any, Any, Any]) -> Response[bytes]:
        # Path params are read from the connection, not injected: Litestar 2.x deprecates the inferred
        # style while its replacement does not exist in older 2.x releases we still support.
        name: str = request.path_params["name"]
        asset = static_assets.get(name)
        if asset is None:
            raise NotFoundException(f"no ReactPy client file named {name!r}")
        return serve_asset(request, asset)

    @get("/ws/{widget:str}", include_in_schema=False)
    async def component_stream_over_http(request: Request[Any, Any, Any]) -> Response[str]:
        # Helpful answers for someone opening the websocket URL in a browser tab or with curl.
        widget: str = request.path_params["widget"]
        if widget not in config.widgets:
            raise NotFoundException(f"unknown widget {widget!r}")
        return Response(
            "This URL serves a ReactPy component over WebSocket only.",
            status_code=426,
            headers={"Upgrade": "websocket", "Connection": "Upgrade"},
            media_type="text/plain",
        )

    @websocket("/ws/{widget:str}")
    async def component_stream(socket: WebSocket[Any, Any, Any]) -> None:
        widget: str = socket.path_params["widget"]
        # Origin first: a foreign page must not even learn which widgets exist (and this is the
        # cross-site websocket hijacking defence, since cookies ride along on the handshake).
        if not socket_origin_allowed(socket, config._normalized_origins):
            _logger.info("refused component websocket from origin %r", socket.headers.get("origin"))
            await refuse_handshake(socket, 403, "origin not allowed")
            return
        factory = config.widgets.get(widget)
        if factory is None:
            await refuse_handshake(socket, 404, f"unknown widget {widget!r}")
            return
        props: dict[str, str] = {}
        for key, value in socket.query_params.multi_items():
            if key not in _LOCATION_PARAMS:
                props.setdefault(key, value)  # first value wins for a repeated parameter
        async with client_socket_slot(socket, slots) as held:
            if not held:
                return
            try:
                root = factory(WidgetRequest(widget=widget, props=props, connection=socket))
            except HTTPException as exc:
                await refuse_handshake(socket, exc.status_code, exc.detail)
                return
            await _run_session(socket, root, config.max_message_bytes)

    return Router(
        path=config.path_prefix,
        route_handlers=[bootstrap_script, warm_session, reactpy_static, component_stream_over_http, component_stream],
    )


async def _run_session(socket: WebSocket[Any, Any, Any], root: Component, max_message_bytes: int) -> None:
    """Accept the socket and run ReactPy's render/event loop on it until either side goes away.

    ``serve_layout`` runs two tasks: one awaits ``layout.render()`` and sends each update, the other awaits
    ``recv()`` and hands each event to ``layout.deliver`` (fire and forget, so a slow handler never blocks
    the next event). Any exception in either task cancels both; we translate the expected ones here.
    """
    await socket.accept()
    # Same Connection ReactPy's own middleware builds, so use_connection()/use_location()/use_scope() work;
    # the carrier is the Litestar WebSocket (cookies, state, user set by middleware).
    scope = cast("dict[str, Any]", socket.scope)
    connection = Connection(scope=scope, location=_location(socket), carrier=socket)
    layout = Layout(ConnectionContext(root, value=connection))

    async def send(update: Mapping[str, Any]) -> None:
        # orjson, like ReactPy's own middleware: models hold str subclasses (InlineJavaScript for string
        # ``on*`` attributes) that msgspec refuses. Text frames: the client does JSON.parse(event.data).
        await socket.send_data(orjson.dumps(update).decode(), mode="text")

    async def recv() -> dict[str, Any]:
        return await _receive_layout_event(socket, max_message_bytes)

    try:
        await serve_layout(layout, send, recv)
    except* (WebSocketDisconnect, OSError):
        # The page closed or navigated away: the normal end of a session. OSError is what the ASGI spec
        # has servers raise on a send to an already closed socket (uvicorn: ClientDisconnected).
        pass
    except* _PolicyViolation as violations:
        # Close only now, after serve_layout cancelled its sender: a send after close is an ASGI error.
        reason = str(violations.exceptions[0])
        _logger.info("closing component websocket: %s", reason[:200])
        # RFC 6455: a close reason is at most 123 bytes of UTF-8.
        await socket.close(code=WS_POLICY_VIOLATION, reason=reason.encode()[:123].decode(errors="ignore"))


class _PolicyViolation(Exception):
    """A client message we refuse to process; ends the session with close code 1008."""


class _LayoutEventMessage(msgspec.Struct):
    type: str
    target: str
    data: list[Any]
    seq: int | None = None  # client-side event counter; Layout echoes it back as an ack


async def _receive_layout_event(socket: WebSocket[Any, Any, Any], max_message_bytes: int) -> dict[str, Any]:
    """Wait for the next valid ``layout-event`` from the client (the ``recv`` of ``serve_layout``)."""
    while True:
        # Raw ASGI event: we need to tell text from binary and check the size before parsing anything.
        message: Mapping[str, Any] = await socket.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(detail="client disconnected", code=message.get("code", 1000))
        text: str | None = message.get("text")
        if text is None:
            raise _PolicyViolation("binary messages are not supported")
        if len(text) > max_message_bytes or len(text.encode()) > max_message_bytes:
            raise _PolicyViolation(f"message larger than {max_message_bytes} bytes")
        try:
            # The same strict JSON as HTTP bodies: deep nesting, duplicate keys, inexact numbers refused.
            event = msgspec.convert(strict_json.decode(text), type=_LayoutEventMessage)
        except (strict_json.InvalidJson, msgspec.ValidationError) as exc:
            raise _PolicyViolation(f"malformed message: {exc}") from exc
        if event.type != "layout-event":
            # ReactPy's middleware ignores unknown types too; newer clients may add some.
            _logger.warning("ignoring ReactPy client message of type %r", event.type)
            continue
        delivered: dict[str, Any] = {"type": event.type, "target": event.target, "data": event.data}
        if event.seq is not None:
            delivered["seq"] = event.seq
        return delivered


def _location(socket: WebSocket[Any, Any, Any]) -> Location:
    """The host page's location as reported by ReactPy's client (``qs`` keeps its leading ``?``)."""
    return Location(path=socket.query_params.get("path", ""), query_string=socket.query_params.get("qs", ""))


def _asset(body: bytes, suffix: str, cache_control: str) -> StaticAsset:
    return StaticAsset.of(body, _STATIC_MEDIA_TYPES[suffix], cache_control)


def _load_static_assets() -> dict[str, StaticAsset]:
    """ReactPy's client files, read once into memory (about 250 KB).

    Only top-level .js/.map/.css files: everything ``index.js`` imports lives there, and a fixed name
    table leaves no room for path traversal. (pyscript/ and wheels/ belong to the PyScript executor.)
    """
    assets: dict[str, StaticAsset] = {}
    for path in sorted(REACTPY_STATIC_DIR.iterdir()):
        if not path.is_file() or path.suffix not in _STATIC_MEDIA_TYPES:
            continue
        cache = _CACHE_FOREVER if _HASHED_ASSET.search(path.name) else _CACHE_REVALIDATE
        assets[path.name] = _asset(path.read_bytes(), path.suffix, cache)
    if "index.js" not in assets:
        raise RuntimeError(f"ReactPy client not found in {REACTPY_STATIC_DIR}; is reactpy installed fully?")
    return assets


# -- the wire model, seen from a client (benchmarks and tests speak ReactPy's protocol directly) -----------
def apply_layout_update(model: Any, path: str, update: Any) -> Any:
    """Apply one ``layout-update`` message (``path`` is a JSON pointer into the model; empty = the root)
    and return the new model."""
    if not path:
        return update
    node: Any = model
    parts = path.strip("/").split("/")
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[int(parts[-1]) if isinstance(node, list) else parts[-1]] = update
    return model


def walk_model(node: Any) -> Iterator[dict[str, Any]]:
    """Every element of a VDOM model, depth first (text children are skipped)."""
    if isinstance(node, dict):
        yield node
        for child in node.get("children", ()):
            yield from walk_model(child)
