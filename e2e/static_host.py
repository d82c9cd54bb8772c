"""Serving the static host page (a plain HTML page, not rendered by the BFF) from a second local origin.

The example page points its one script tag at ``http://localhost:8000``; the host serves it with that URL
replaced by the BFF under test, exactly the edit a shop makes when it copies the page.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from .server import PrefkitServer

__all__ = ["StaticHost", "default_static_host_dir", "serve_static_host"]

_REPO_ROOT = Path(__file__).resolve().parent.parent


def default_static_host_dir() -> Path:
    """``examples/static-host/`` of the prefkit source tree."""
    return _REPO_ROOT / "examples" / "static-host"


@dataclass(frozen=True, kw_only=True)
class StaticHost:
    """A folder of static pages served on the allowlisted origin."""

    origin: str
    """``http://127.0.0.1:PORT``: another origin than the BFF."""
    directory: Path
    """The folder served."""
    bff_url: str
    """The BFF the pages embed widgets from."""

    def url(self, page: str = "index.html", **query: str) -> str:
        """URL of ``page`` on the host origin, with ``query`` parameters."""
        return f"{self.origin}/{page}" + ("?" + urlencode(query) if query else "")


PLACEHOLDER_BFF = "http://localhost:8000"
"""The BFF URL written in the example pages; replaced by the BFF under test when served (the one change the
example tells a shop to make)."""


class _HostHandler(http.server.SimpleHTTPRequestHandler):
    bff_url: str = PLACEHOLDER_BFF

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        if path.suffix != ".html" or not path.is_file():
            super().do_GET()
            return
        body = path.read_text(encoding="utf-8").replace(PLACEHOLDER_BFF, self.bff_url).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)


@contextlib.contextmanager
def serve_static_host(server: PrefkitServer, directory: Path | None = None) -> Iterator[StaticHost]:
    """Serve ``directory`` (default: the example static host) on ``server.embed_origin``'s port."""
    assert server.embed_origin is not None
    folder = directory or default_static_host_dir()
    if not (folder / "index.html").is_file():
        raise FileNotFoundError(f"static host page not found: {folder / 'index.html'}")
    port = urlsplit(server.embed_origin).port
    handler_class = type("BoundHostHandler", (_HostHandler,), {"bff_url": server.base_url})
    handler = functools.partial(handler_class, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port or 80), handler)
    thread = threading.Thread(target=httpd.serve_forever, name="prefkit-static-host", daemon=True)
    thread.start()
    try:
        yield StaticHost(origin=server.embed_origin, directory=folder, bff_url=server.base_url)
    finally:
        httpd.shutdown()
        httpd.server_close()
