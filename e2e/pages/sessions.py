"""Knowing when an embedded widget has rendered, so "X is absent" is never checked too early.

Each mount point is a ReactPy session over a websocket ``.../_prefkit/ws/<widget>``; its first
``layout-update`` frame is the first render. Asserting that something is *not* shown (the banner after
a choice) is only meaningful after that frame: before it, nothing is shown at all.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Frame, Page, WebSocket

__all__ = ["MOUNT_POINTS", "WidgetSessions", "expect_widgets_rendered"]

_WS_SEGMENT = "/ws/"


def _widget_of(url: str) -> str | None:
    path = urlsplit(url).path
    if _WS_SEGMENT not in path:
        return None
    return path.rsplit(_WS_SEGMENT, 1)[1].split("/", 1)[0] or None


class WidgetSessions:
    """Watches the widget websockets a page opens and counts the frames each one received."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.frames: dict[str, int] = {}
        self.sockets: dict[str, WebSocket] = {}
        page.on("websocket", self._opened)
        page.on("framenavigated", self._navigated)

    def _navigated(self, frame: Frame) -> None:
        # A new document: the previous document's sessions (and their renders) no longer count.
        if frame == self.page.main_frame:
            self.frames.clear()
            self.sockets.clear()

    def _opened(self, socket: WebSocket) -> None:
        widget = _widget_of(socket.url)
        if widget is None:
            return
        self.sockets[widget] = socket
        self.frames[widget] = 0

        def received(_payload: object, name: str = widget) -> None:
            self.frames[name] = self.frames.get(name, 0) + 1

        socket.on("framereceived", received)

    def wait_rendered(self, widget: str, timeout_ms: float = 10_000) -> None:
        """Wait until the session of ``widget`` (e.g. ``consent-banner``) delivered its first render."""
        # Playwright dispatches events only inside its own calls, in order: checking the counters and
        # then waiting for the next event cannot miss one that arrives in between.
        if self.frames.get(widget):
            return
        socket = self.sockets.get(widget)
        if socket is None:
            socket = self.page.wait_for_event(
                "websocket", predicate=lambda ws: _widget_of(ws.url) == widget, timeout=timeout_ms
            )
        if not self.frames.get(widget):
            socket.wait_for_event("framereceived", timeout=timeout_ms)


MOUNT_POINTS = "[data-prefkit-widget]"
"""The embedding contract: every widget mount point carries ``data-prefkit-widget`` (not a styling hook)."""


def expect_widgets_rendered(page: Page, timeout_ms: float = 10_000) -> int:
    """Wait until every widget mount point on ``page`` holds rendered content; returns how many there are."""
    from playwright.sync_api import expect

    mounts = page.locator(MOUNT_POINTS)
    expect(page.locator(f"{MOUNT_POINTS}:not(:has(*))")).to_have_count(0, timeout=timeout_ms)
    return mounts.count()
