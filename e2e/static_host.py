"""Serving the static host page (a plain HTML page, not rendered by the BFF) from a second local origin."""

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
        """URL of ``page``, with ``bff=<BFF URL>`` and any other query parameters."""
        return f"{self.origin}/{page}?" + urlencode({"bff": self.bff_url, **query})


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass


@contextlib.contextmanager
def serve_static_host(server: PrefkitServer, directory: Path | None = None) -> Iterator[StaticHost]:
    """Serve ``directory`` (default: the example static host) on ``server.embed_origin``'s port."""
    assert server.embed_origin is not None
    folder = directory or default_static_host_dir()
    if not (folder / "index.html").is_file():
        raise FileNotFoundError(f"static host page not found: {folder / 'index.html'}")
    port = urlsplit(server.embed_origin).port
    handler = functools.partial(_QuietHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port or 80), handler)
    thread = threading.Thread(target=httpd.serve_forever, name="prefkit-static-host", daemon=True)
    thread.start()
    try:
        yield StaticHost(origin=server.embed_origin, directory=folder, bff_url=server.base_url)
    finally:
        httpd.shutdown()
        httpd.server_close()
