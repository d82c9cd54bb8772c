"""What every websocket the BFF serves has in common: the Origin check, refusing a handshake, the close codes,
and the per-client socket limit.

The widget bridge (:mod:`bff.reactpy_bridge`), the page API's change stream (:mod:`bff.page_api`) and any
later socket route use these, so a limit or a defence that holds on one socket holds on all of them. The
limit is one :class:`~bff.limits.ClientSlots` per app (``PluginSetup.sockets``, built by
:func:`bff.app.create_app` from ``PREFKIT_MAX_SOCKETS_PER_CLIENT``): a client holds at most that many
sockets *of every kind together*, never that many of each.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Final

from litestar import WebSocket

from .limits import ClientSlots, client_address
from .origins import origin_allowed

__all__ = [
    "WS_POLICY_VIOLATION",
    "WS_TRY_AGAIN_LATER",
    "client_socket_slot",
    "refuse_handshake",
    "socket_origin_allowed",
]

_logger = logging.getLogger(__name__)

WS_POLICY_VIOLATION: Final[int] = 1008
"""RFC 6455 close code "policy violation": an oversized, binary, malformed or unexpected client message."""
WS_TRY_AGAIN_LATER: Final[int] = 1013
"""IANA-registered close code "Try Again Later": the client holds too many sockets right now."""


def socket_origin_allowed(socket: WebSocket[Any, Any, Any], allowed: frozenset[str]) -> bool:
    """Same origin, or listed in ``allowed`` (normalized with :func:`bff.origins.normalize_origins`).

    No Origin header means no browser (browsers always send it on websocket handshakes), hence no
    cross-site hijacking risk: allowed. "Same origin" compares the Origin's host[:port] with the Host
    header; the scheme is not compared because TLS is often terminated by a proxy in front of the BFF.
    """
    origin = socket.headers.get("origin")
    return origin is None or origin_allowed(origin, socket.headers.get("host"), allowed)


async def refuse_handshake(socket: WebSocket[Any, Any, Any], status: int, reason: str) -> None:
    """Reject before accepting, so the browser sees a failed handshake instead of an open+close.

    An accepted-then-closed socket would make ReactPy's client reconnect (up to 150 times); a failed
    handshake makes it give up at once. With the ASGI ``websocket.http.response`` extension (uvicorn) the
    client gets a real HTTP status and the reason as body; otherwise the server answers 403.
    """
    await socket.receive()  # ASGI: consume "websocket.connect" before answering the handshake
    send: Callable[[Any], Awaitable[None]] = socket.send
    if "websocket.http.response" in (socket.scope.get("extensions") or {}):
        await send(
            {
                "type": "websocket.http.response.start",
                "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8")],
            }
        )
        await send({"type": "websocket.http.response.body", "body": reason.encode()})
    else:
        await socket.close(code=WS_POLICY_VIOLATION, reason=reason)


@asynccontextmanager
async def client_socket_slot(socket: WebSocket[Any, Any, Any], slots: ClientSlots) -> AsyncIterator[bool]:
    """Hold one of the client's socket slots while the block runs; ``False`` when it holds them all.

    Then the socket is already accepted and closed with 1013 (try again later): an accepted socket, not a
    refused handshake, so ReactPy's client and ``prefkit.js`` retry with backoff instead of giving up."""
    client = client_address(socket.scope)
    if not slots.acquire(client):
        _logger.info("closing websocket %s: %d already open from this client", socket.scope.get("path"), slots.limit)
        await socket.accept()
        await socket.close(code=WS_TRY_AGAIN_LATER, reason="too many open sockets from this client")
        yield False
        return
    try:
        yield True
    finally:
        slots.release(client)
