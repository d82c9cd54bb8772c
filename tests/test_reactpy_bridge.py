"""bff.reactpy_bridge against a real uvicorn server, a real websocket client and a real Chromium.

The host page is a static file served by a plain ``http.server`` on another port, i.e. another origin,
exactly like a shop page embedding prefkit with one script tag.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar, MediaType, get
from litestar.exceptions import NotFoundException
from reactpy import component, html, use_location, use_state
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from bff.reactpy_bridge import (
    ReactPyBridgeConfig,
    WidgetRequest,
    create_reactpy_router,
    server_ws_max_size,
)

try:
    from _bff_app import ThreadedServer
    from _browser import launched_chromium
except ImportError:  # tests/ not on sys.path (e.g. --import-mode=importlib)
    from tests._bff_app import ThreadedServer
    from tests._browser import launched_chromium

PREFIX = "/_prefkit"
MAX_MESSAGE_BYTES = 64 * 1024  # the default; a click event is ~8 KB, a keydown ~5.5 KB


# --- test widgets: tiny components, one per behaviour under test --------------------------------------


@component
def Counter(label: str) -> Any:
    count, set_count = use_state(0)
    return html.button(
        {
            "type": "button",
            "data-part": "counter",
            "aria-pressed": "true" if count % 2 else "false",
            "onClick": lambda _event: set_count(lambda c: c + 1),
        },
        f"{label}: {count}",
    )


@component
def Echo(props: dict[str, str], identity: str, sid: str) -> Any:
    location = use_location()
    return html.output(
        {"data-part": "echo"},
        f"key={props.get('key')} locale={props.get('locale')} path={location.path} "
        f"qs={location.query_string} identity={identity} sid={sid}",
    )


@component
def Stepper() -> Any:
    value, set_value = use_state(0)

    def on_key_down(event: Any) -> None:
        # Event data arrives as a dict-like object with the DOM KeyboardEvent fields.
        if event["key"] == "ArrowRight":
            set_value(lambda v: v + 1)
        elif event["key"] == "ArrowLeft":
            set_value(lambda v: v - 1)

    return html.div(
        {
            "role": "slider",
            "tabIndex": 0,
            "aria-valuenow": value,
            "onKeyDown": on_key_down,
            # Calling event.preventDefault() in the Python handler would prevent *every* key (Tab too):
            # ReactPy detects the call in the bytecode and prevents unconditionally on the client. A
            # string on* attribute runs in the browser (eval) and can decide per key.
            "onKeyDownCapture": "(e) => { if (e.key.startsWith('Arrow')) e.preventDefault(); }",
        },
        f"value {value}",
    )


def _echo_factory(request: WidgetRequest) -> Any:
    # Reads what middleware and cookies put on the Litestar connection: proves the bridge runs inside
    # the app's own middleware stack.
    state = request.connection.scope.get("state", {})
    return Echo(request.props, str(state.get("identity")), str(request.connection.cookies.get("sid")))


def _refusing_factory(request: WidgetRequest) -> Any:
    raise NotFoundException(f"no preference {request.props.get('key')!r}")


WIDGETS = {
    "counter": lambda request: Counter(request.props.get("key", "?")),
    "echo": _echo_factory,
    "stepper": lambda request: Stepper(),
    "refusing": _refusing_factory,
}


def _identity_middleware(app: Callable[..., Any]) -> Callable[..., Any]:
    async def middleware(scope: dict[str, Any], receive: Any, send: Any) -> None:
        scope.setdefault("state", {})["identity"] = "set-by-middleware"
        await app(scope, receive, send)

    return middleware


@get("/same-origin.html", media_type=MediaType.HTML)
async def same_origin_page() -> str:
    # A page rendered by the BFF itself (like the Jinja2 embed pages): no cross-origin socket rewrite.
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>embed</title>
<script type="module" src="{PREFIX}/prefkit.js"></script></head>
<body><div id="e" data-prefkit-widget="counter" data-key="epsilon"></div></body></html>"""


# --- servers ---------------------------------------------------------------------------------------------


class _HostPageServer:
    """A plain static file server: the "shop", on its own origin."""

    def __init__(self, directory: Path) -> None:
        handler = partial(_QuietHandler, directory=str(directory))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def host_pages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[_HostPageServer, _HostPageServer]]:
    """(allowed shop, foreign site). Both serve the same directory; only the first is an allowed origin."""
    directory = tmp_path_factory.mktemp("shop")
    shop, foreign = _HostPageServer(directory), _HostPageServer(directory)
    shop.directory = directory  # type: ignore[attr-defined]
    yield shop, foreign
    shop.stop()
    foreign.stop()


@pytest.fixture(scope="module")
def bff(host_pages: tuple[_HostPageServer, _HostPageServer]) -> Iterator[str]:
    """Base URL of a running BFF (uvicorn in a thread) that serves only the bridge router."""
    shop, _foreign = host_pages
    config = ReactPyBridgeConfig(
        widgets=WIDGETS,
        path_prefix=PREFIX,
        allowed_origins=(shop.origin,),
        max_message_bytes=MAX_MESSAGE_BYTES,
    )
    app = Litestar(
        route_handlers=[create_reactpy_router(config), same_origin_page], middleware=[_identity_middleware]
    )
    # The frame limit `prefkit serve` runs with for this message limit, so the tests exercise what ships.
    server = ThreadedServer(app, ws_max_size=server_ws_max_size(MAX_MESSAGE_BYTES)).start()
    base = server.url

    shop_page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>shop</title>
<script type="module" src="{base}{PREFIX}/prefkit.js"></script></head>
<body>
  <div id="a" data-prefkit-widget="counter" data-key="alpha">loading</div>
  <div id="b" data-prefkit-widget="counter" data-key="beta">loading</div>
  <div id="c" data-prefkit-widget="echo" data-key="gamma" data-locale="de">loading</div>
  <div id="d" data-prefkit-widget="stepper">loading</div>
</body></html>"""
    (shop.directory / "shop.html").write_text(shop_page)  # type: ignore[attr-defined]
    yield base
    server.stop()


def _ws_url(base: str, widget: str, query: str = "") -> str:
    return base.replace("http://", "ws://") + f"{PREFIX}/ws/{widget}" + (f"?{query}" if query else "")


def _open(base: str, widget: str, query: str = "", **kwargs: Any) -> ClientConnection:
    connection: ClientConnection = connect(
        _ws_url(base, widget, query), proxy=None, open_timeout=10, **kwargs
    )
    return connection


def _first_update(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(ws.recv(timeout=10))
    assert message["type"] == "layout-update"
    return message


# --- HTTP routes -------------------------------------------------------------------------------------------


def test_bootstrap_script_is_served_cross_origin_with_revalidation(bff: str) -> None:
    response = httpx.get(f"{bff}{PREFIX}/prefkit.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["access-control-allow-origin"] == "*"  # module scripts are fetched with CORS
    assert "no-cache" in response.headers["cache-control"]
    assert "mountReactPy" in response.text
    again = httpx.get(f"{bff}{PREFIX}/prefkit.js", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304


def test_reactpy_client_files_are_served_with_content_types_and_caching(bff: str) -> None:
    index = httpx.get(f"{bff}{PREFIX}/static/index.js")
    assert index.status_code == 200
    assert index.headers["content-type"].startswith("text/javascript")
    assert "mountReactPy" in index.text
    assert index.headers["access-control-allow-origin"] == "*"
    # Every chunk index.js imports must be served too; hashed chunk names may be cached forever.
    chunks = [part.split('"')[1] for part in index.text.split("from")[1:] if part.startswith('"./')]
    assert chunks
    for chunk in chunks:
        response = httpx.get(f"{bff}{PREFIX}/static/{chunk.removeprefix('./')}")
        assert response.status_code == 200, chunk
        assert "immutable" in response.headers["cache-control"]
    assert httpx.get(f"{bff}{PREFIX}/static/nope.js").status_code == 404
    assert httpx.get(f"{bff}{PREFIX}/static/..%2F__init__.py").status_code == 404


def test_plain_http_on_the_websocket_url(bff: str) -> None:
    assert httpx.get(f"{bff}{PREFIX}/ws/no-such-widget").status_code == 404
    assert httpx.get(f"{bff}{PREFIX}/ws/counter").status_code == 426


# --- websocket protocol ------------------------------------------------------------------------------


def test_unknown_widget_is_refused_with_a_reason(bff: str) -> None:
    with pytest.raises(InvalidStatus) as refused:
        _open(bff, "no-such-widget")
    assert refused.value.response.status_code == 404
    assert b"unknown widget 'no-such-widget'" in refused.value.response.body


def test_factory_can_refuse_with_an_http_exception(bff: str) -> None:
    with pytest.raises(InvalidStatus) as refused:
        _open(bff, "refusing", "key=ghost")
    assert refused.value.response.status_code == 404
    assert b"no preference 'ghost'" in refused.value.response.body


@pytest.mark.parametrize("origin_of", ["none", "same", "allowed"])
def test_accepted_origins(
    bff: str, host_pages: tuple[_HostPageServer, _HostPageServer], origin_of: str
) -> None:
    origin = {"none": None, "same": bff, "allowed": host_pages[0].origin}[origin_of]
    with _open(bff, "counter", "key=k", origin=origin) as ws:
        assert "k: 0" in json.dumps(_first_update(ws))


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:1"])
def test_foreign_origin_is_refused(bff: str, origin: str) -> None:
    with pytest.raises(InvalidStatus) as refused:
        _open(bff, "counter", origin=origin)
    assert refused.value.response.status_code == 403


def test_props_location_cookies_and_middleware_reach_the_factory(bff: str) -> None:
    query = "key=gamma&locale=fr&path=%2Fcart&qs=%3Fstep%3D2&key=ignored"
    with _open(bff, "echo", query, additional_headers={"Cookie": "sid=abc123"}) as ws:
        text = json.dumps(_first_update(ws))
    assert "key=gamma locale=fr path=/cart qs=?step=2 identity=set-by-middleware sid=abc123" in text


def _assert_closed_with_policy_violation(ws: ClientConnection) -> None:
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            ws.recv(timeout=10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1008


def test_oversized_message_closes_the_socket(bff: str) -> None:
    with _open(bff, "counter") as ws:
        _first_update(ws)
        payload = {"type": "layout-event", "target": "x", "data": ["y" * MAX_MESSAGE_BYTES]}
        ws.send(json.dumps(payload))
        _assert_closed_with_policy_violation(ws)
        assert "larger than" in ws.close_reason  # type: ignore[operator]


def test_a_message_beyond_the_frame_limit_is_refused_by_the_server(bff: str) -> None:
    # Past the headroom, the server refuses the frame itself (1009, "message too big") instead of
    # buffering it for the bridge to measure: uvicorn's own default would buffer 16 MiB.
    with _open(bff, "counter") as ws:
        _first_update(ws)
        ws.send(json.dumps({"type": "layout-event", "target": "x", "data": ["y" * server_ws_max_size(MAX_MESSAGE_BYTES)]}))
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                ws.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


@pytest.mark.parametrize("message", ["not json", '{"type": "layout-event"}', b"\x00binary"])
def test_malformed_or_binary_message_closes_the_socket(bff: str, message: str | bytes) -> None:
    with _open(bff, "counter") as ws:
        _first_update(ws)
        ws.send(message)
        _assert_closed_with_policy_violation(ws)


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="path_prefix"):
        ReactPyBridgeConfig(widgets={}, path_prefix="/x/")
    with pytest.raises(ValueError, match="widget name"):
        ReactPyBridgeConfig(widgets={"Bad Name": WIDGETS["counter"]})
    with pytest.raises(ValueError, match="allowed origin"):
        ReactPyBridgeConfig(widgets={}, allowed_origins=("shop.example",))
    with pytest.raises(ValueError, match="max_message_bytes"):
        ReactPyBridgeConfig(widgets={}, max_message_bytes=0)


# --- real browser --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    with launched_chromium(chromium_path) as browser:
        yield browser


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, errors


@pytest.mark.browser
def test_widgets_on_a_foreign_host_page_render_and_are_independent(
    bff: str, host_pages: tuple[_HostPageServer, _HostPageServer], page: Any
) -> None:
    from playwright.sync_api import expect

    shop, _foreign = host_pages
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.goto(f"{shop.origin}/shop.html?utm=1")
    a, b = page.locator("#a button"), page.locator("#b button")
    expect(a).to_have_text("alpha: 0")
    expect(b).to_have_text("beta: 0")
    expect(page.locator("#c output[data-part=echo]")).to_have_text(
        "key=gamma locale=de path=/shop.html qs=?utm=1 identity=set-by-middleware sid=None"
    )

    a.click()
    expect(a).to_have_text("alpha: 1")
    expect(a).to_have_attribute("aria-pressed", "true")
    a.click()
    expect(a).to_have_text("alpha: 2")
    b.click()
    expect(b).to_have_text("beta: 1")
    expect(a).to_have_text("alpha: 2")  # each widget is its own session with its own state
    expect(a).to_have_attribute("aria-pressed", "false")

    slider = page.get_by_role("slider")
    slider.focus()
    slider.press("ArrowRight")
    expect(slider).to_have_attribute("aria-valuenow", "1")
    slider.press("ArrowRight")
    slider.press("ArrowLeft")
    expect(slider).to_have_text("value 1")
    slider.press("Tab")  # not trapped: only arrow keys are prevented
    expect(slider).not_to_be_focused()

    # One socket per mount point, each to the BFF (not to the host page's server, where ReactPy's client
    # would point it on its own), carrying the mount point's props and the page location.
    assert sorted(url.split("?")[0] for url in sockets) == sorted(
        _ws_url(bff, widget) for widget in ("counter", "counter", "echo", "stepper")
    )
    assert any("key=gamma&locale=de&path=%2Fshop.html" in url for url in sockets)


@pytest.mark.browser
def test_widgets_added_later_are_mounted(
    bff: str, host_pages: tuple[_HostPageServer, _HostPageServer], page: Any
) -> None:
    from playwright.sync_api import expect

    page.goto(f"{host_pages[0].origin}/shop.html")
    expect(page.locator("#a button")).to_have_text("alpha: 0")
    page.evaluate(
        """() => {
            const later = document.createElement("section");
            later.innerHTML = '<div id="late" data-prefkit-widget="counter" data-key="delta"></div>';
            document.body.append(later);
        }"""
    )
    late = page.locator("#late button")
    expect(late).to_have_text("delta: 0")
    late.click()
    expect(late).to_have_text("delta: 1")
    expect(page.locator("#a button")).to_have_text("alpha: 0")


@pytest.mark.browser
def test_page_on_a_disallowed_origin_gets_no_component_socket(
    bff: str, host_pages: tuple[_HostPageServer, _HostPageServer], page: Any
) -> None:
    _shop, foreign = host_pages
    page.goto(f"{foreign.origin}/shop.html")
    # The browser itself sets Origin to the foreign page's origin; the handshake must fail.
    outcome = page.evaluate(
        """(url) => new Promise((resolve) => {
            const ws = new WebSocket(url);
            ws.onopen = () => resolve("open");
            ws.onclose = (event) => resolve(`closed ${event.code}`);
        })""",
        _ws_url(bff, "counter"),
    )
    assert outcome == "closed 1006"  # a refused handshake, not an accepted-then-closed socket


@pytest.mark.browser
def test_widgets_on_a_page_served_by_the_bff_itself(bff: str, page: Any) -> None:
    from playwright.sync_api import expect

    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.goto(f"{bff}/same-origin.html")
    button = page.locator("#e button")
    expect(button).to_have_text("epsilon: 0")
    button.click()
    expect(button).to_have_text("epsilon: 1")
    assert sockets and all(url.startswith(_ws_url(bff, "counter")) for url in sockets)
