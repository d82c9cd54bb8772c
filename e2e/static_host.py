"""Serving static host pages (plain HTML, not rendered by the BFF) from a second local origin.

Either a page the kit writes from the registry under test (:func:`write_registry_host_pages`: one mount
point per declared type, plus the preference center and the banner), or a shop's own pages
(``--prefkit-static-host DIR``), whose mount points the embedding flow discovers and checks against the
registry (:func:`mount_point_problems`) before it waits for anything to render.

Pages point their one script tag at ``http://localhost:8000``; the host serves them with that URL replaced
by the BFF under test, exactly the edit a shop makes when it copies the example page.
"""

from __future__ import annotations

import contextlib
import functools
import html
import http.server
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from .kinds import KINDS
from .server import PrefkitServer

__all__ = [
    "KEYED_MOUNTS_PER_PAGE",
    "KEYED_WIDGETS",
    "PLACEHOLDER_BFF",
    "WIDGET_NAMES",
    "MountPoint",
    "StaticHost",
    "default_static_host_dir",
    "mount_point_problems",
    "serve_static_host",
    "write_registry_host_pages",
]

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

    generated: bool = False
    """True for the page the kit wrote from the registry; False for a shop's own pages."""

    def url(self, page: str = "index.html", **query: str) -> str:
        """URL of ``page`` on the host origin, with ``query`` parameters."""
        return f"{self.origin}/{page}" + ("?" + urlencode(query) if query else "")

    def pages(self) -> list[str]:
        """The HTML pages of the folder (``index.html`` first, then in name order)."""
        names = sorted(path.name for path in self.directory.glob("*.html"))
        return sorted(names, key=lambda name: (name != "index.html", len(name), name))


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


KEYED_WIDGETS: Mapping[str, str] = {widget.widget_name: kind for kind, widget in KINDS.items()}
"""Widgets that show one preference type (``data-key``), by the kind of type they show (from each kind's
page object, :data:`e2e.kinds.KINDS`)."""

WIDGET_NAMES: tuple[str, ...] = (*KEYED_WIDGETS, "preference-center", "consent-banner")
"""Every widget name prefkit serves (``data-prefkit-widget``)."""


@dataclass(frozen=True, kw_only=True)
class MountPoint:
    """One ``[data-prefkit-widget]`` element of a host page, as the page's HTML declares it."""

    index: int
    """Position among the page's mount points (0-based)."""
    widget: str
    """``data-prefkit-widget``."""
    props: Mapping[str, str] = field(default_factory=dict)
    """Its other ``data-*`` attributes without the ``data-`` prefix (``key``, ``locale``, ``theme``...)."""
    markup: str = ""
    """The element's start tag, for messages."""

    @property
    def key(self) -> str | None:
        return self.props.get("key")

    @classmethod
    def from_dom(cls, index: int, found: Mapping[str, Any]) -> MountPoint:
        """From what :data:`MOUNT_POINT_SCRIPT` returns for one element."""
        attrs = dict(found["attrs"])
        widget = attrs.pop("data-prefkit-widget", "")
        props = {name[len("data-") :]: value for name, value in attrs.items() if name.startswith("data-")}
        return cls(index=index, widget=widget, props=props, markup=found["markup"])


MOUNT_POINT_SCRIPT = """(elements) => elements.map((el) => ({
  attrs: Object.fromEntries(Array.from(el.attributes).map((a) => [a.name, a.value])),
  markup: el.outerHTML.slice(0, el.outerHTML.indexOf('>') + 1),
}))"""
"""``locator.evaluate_all`` script: every mount point's attributes and start tag, before anything renders."""


def mount_point_problems(
    page: str, mounts: Sequence[MountPoint], kinds: Mapping[str, str], version: str
) -> list[str]:
    """What is wrong with a host page's mount points for a registry whose types are ``kinds`` (key ->
    kind): unknown widgets, a missing ``data-key``, a key the registry lacks or of the wrong kind. Each
    line names the page, the mount point and what the registry has instead; empty when all is well."""
    problems: list[str] = []
    if not mounts:
        problems.append(f"{page}: no mount point ([data-prefkit-widget]) on the page: nothing to embed")
    declared = ", ".join(sorted(kinds)) or "no type at all"
    for mount in mounts:
        where = f"{page}: mount point {mount.index + 1} {mount.markup}"
        if mount.widget not in WIDGET_NAMES:
            problems.append(f"{where}: unknown widget {mount.widget!r} (prefkit serves {', '.join(WIDGET_NAMES)})")
            continue
        wanted = KEYED_WIDGETS.get(mount.widget)
        if wanted is None:
            continue
        if not mount.key:
            problems.append(f"{where}: a {mount.widget} needs data-key, the key of a {wanted} of the registry")
        elif mount.key not in kinds:
            problems.append(
                f"{where}: names the key {mount.key!r}, which the registry under test (version {version}) "
                f"does not declare; it declares: {declared}"
            )
        elif kinds[mount.key] != wanted:
            problems.append(
                f"{where}: {mount.key!r} is a {kinds[mount.key]} in the registry under test, "
                f"but a {mount.widget} shows a {wanted}"
            )
    return problems


_PAGE = """<!doctype html>
<!-- Written by prefkit's QA kit from the registry under test (version {version}): one mount point per
     declared type, then the preference center and the consent banner. -->
<html lang="{lang}">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{shop}: embedded preferences</title>
  <script type="module" src="{bff}/_prefkit/prefkit.js"></script>
</head>
<body>
  <header><h1>{shop}</h1></header>
  <main>
{sections}
  </main>
</body>
</html>
"""


KEYED_MOUNTS_PER_PAGE = 24
"""Mount points of single types per written page: with the center and the banner a page holds 26 widget
sessions, under the BFF's default of 32 websockets per client (``PREFKIT_MAX_SOCKETS_PER_CLIENT``)."""


def write_registry_host_pages(
    view: Mapping[str, Any], folder: Path, *, bff_url: str = PLACEHOLDER_BFF
) -> list[Path]:
    """Write host pages for the registry ``view`` (``GET /api/v1/registry``): plain pages in the registry's
    default locale with one mount point per declared type (``index.html``, then ``page-2.html``... for
    more than :data:`KEYED_MOUNTS_PER_PAGE` types), each with the preference center and the banner."""
    lang = html.escape(view.get("default_locale") or view["locale"], quote=True)

    def mount(widget: str, heading: str, **props: str) -> str:
        attrs = "".join(f' data-{name}="{html.escape(value, quote=True)}"' for name, value in props.items())
        return (
            f"    <section>\n      <h2>{html.escape(heading)}</h2>\n"
            f'      <div data-prefkit-widget="{widget}"{attrs}></div>\n    </section>'
        )

    keyed = [
        mount(KINDS[item["kind"]].widget_name, f"{item['kind']} {item['key']}", key=item["key"], locale=lang)
        for item in view["preferences"]
    ]
    chunks = [keyed[start : start + KEYED_MOUNTS_PER_PAGE] for start in range(0, len(keyed), KEYED_MOUNTS_PER_PAGE)]
    folder.mkdir(parents=True, exist_ok=True)
    pages: list[Path] = []
    for number, chunk in enumerate(chunks or [[]], start=1):
        sections = [
            *chunk,
            mount("preference-center", "All your choices", locale=lang),
            mount("consent-banner", "First visit", locale=lang),
        ]
        page = folder / ("index.html" if number == 1 else f"page-{number}.html")
        page.write_text(
            _PAGE.format(
                version=html.escape(str(view["version"])),
                lang=lang,
                shop=html.escape(str((view.get("shop") or {}).get("name") or "Shop")),
                bff=bff_url,
                sections="\n".join(sections),
            ),
            encoding="utf-8",
        )
        pages.append(page)
    return pages


@contextlib.contextmanager
def serve_static_host(
    server: PrefkitServer, directory: Path | None = None, *, generated: bool = False
) -> Iterator[StaticHost]:
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
        yield StaticHost(
            origin=server.embed_origin, directory=folder, bff_url=server.base_url, generated=generated
        )
    finally:
        httpd.shutdown()
        httpd.server_close()
