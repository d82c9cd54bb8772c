"""Hostile request bodies, headers and websocket frames against the real app (issue 11, items 9, 11-13).

Bad input gets a precise 4xx problem or a clean websocket close, never a 500, never an answer much
bigger than the question, and never a change of stored state. Every state-changing path (HTTP writes,
widget writes over the websocket) draws on the same per-client write budget. The server refuses
oversized websocket frames before buffering them and limits the sockets one client may hold open.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from _bff_app import SWITCHABLE_CONSENTS, WRITE, running_app, wait_for, write_registry
from _live_server import LiveServer
from _raw_websocket import RawWebSocket
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

from bff.cli import demo_registry_path
from bff.limits import WriteBudget, WriteLimitExceeded
from bff.reactpy_bridge import apply_layout_update, walk_model
from bff.service import PreferenceService

PROBLEM = "application/problem+json"
JSON = {**WRITE, "content-type": "application/json"}


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text[:2000]
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["type"].startswith("urn:prefkit:problem:")
    return body


@pytest.fixture
def app(tmp_path: Path, sqlite_url: str) -> Iterator[tuple[TestClient, PreferenceService]]:
    with running_app(write_registry(tmp_path), sqlite_url) as running:
        yield running


def stored(client: TestClient) -> dict[str, Any]:
    """What the subject has: every value with its source, and the ledger length."""
    values = client.get("/api/v1/preferences").json()["preferences"]
    events = client.get("/api/v1/consents/history").json()["events"]
    return {"values": {k: (v["value"], v["source"]) for k, v in values.items()}, "events": len(events)}


# -- item 9: error documents never amplify a request ------------------------------------------------


def _registry_with(types: int) -> str:
    lines = ['[shop]\nname = "Big"\ndefault_locale = "en"\nlocales = ["en"]\n']
    for n in range(types):
        lines.append(
            f'[[preferences]]\nkey = "consent_{n:04d}"\nkind = "consent"\npurpose = "p{n}"\n'
            f'title = "Consent {n}"\n'
        )
    return "\n".join(lines)


@pytest.mark.parametrize("registry", ["demo", "2000 types"])
def test_a_patch_of_thousands_of_unknown_keys_gets_a_small_answer(
    tmp_path: Path, sqlite_url: str, registry: str
) -> None:
    path = (
        demo_registry_path()
        if registry == "demo"
        else write_registry(tmp_path, _registry_with(2000), name="big.toml")
    )
    with running_app(path, sqlite_url) as (client, _service):
        before = stored(client)
        # The request of the report: 54 KB, 5,400 unknown keys (it got 1.3 MB back, 87 MB with 2,000 types).
        body = json.dumps({f"u{n}": 1 for n in range(5400)}, separators=(",", ":")).encode()
        assert len(body) < 64 * 1024
        response = client.patch("/api/v1/preferences", content=body, headers=JSON)
        document = problem(response, 422)
        assert len(response.content) < len(body) / 10, len(response.content)
        assert len(document["errors"]) == 20 and document["errors_omitted"] == 5400 - 20
        assert document["errors"][0] == {
            "path": "u0",
            "message": "unknown preference key 'u0'",
            "expected": "a key of the registry",
            "got": "u0",
        }
        assert document["registry"] == "/api/v1/registry"  # where the valid keys are listed, once
        assert stored(client) == before


def test_an_unknown_key_gets_one_suggestion_at_most(app: tuple[TestClient, Any]) -> None:
    client, _service = app
    document = problem(client.patch("/api/v1/preferences", json={"newsleter": True}, headers=WRITE), 422)
    [error] = document["errors"]
    assert error["path"] == "newsleter"
    assert error["expected"] == "a key of the registry; did you mean 'newsletter'?"
    assert "errors_omitted" not in document


def test_long_values_are_not_echoed_in_full(app: tuple[TestClient, Any]) -> None:
    client, _service = app
    key = "x" * 60_000
    response = client.patch("/api/v1/preferences", content=json.dumps({key: 1}).encode(), headers=JSON)
    problem(response, 422)
    assert len(response.content) < 4 * 1024, len(response.content)
    response = client.put("/api/v1/preferences/colors", json={"value": ["y" * 60_000]}, headers=WRITE)
    problem(response, 422)
    assert len(response.content) < 4 * 1024, len(response.content)


# -- item 11: what a JSON body may be -----------------------------------------------------------------

WRITE_REQUESTS = [
    ("PATCH", "/api/v1/preferences"),
    ("PUT", "/api/v1/preferences/level"),
    ("POST", "/api/v1/session/login"),
]


@pytest.mark.parametrize(("method", "path"), WRITE_REQUESTS)
@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b'{"level": 4, "x\xff": 1}', "UTF-8"),
        (b'{"value": "\xed\xa0\x80"}', "UTF-8"),
        (b"[" * 5000 + b"]" * 5000, "nested"),
        (b'{"a":' * 3000 + b"1" + b"}" * 3000, "nested"),
        (b'{"value": ' + b"[" * 40 + b"]" * 40 + b"}", "nested"),
    ],
    ids=["utf8-key", "utf8-surrogate", "deep-array", "deep-object", "deep-value"],
)
def test_invalid_utf8_and_deep_nesting_are_400_problems(
    app: tuple[TestClient, Any], method: str, path: str, body: bytes, says: str
) -> None:
    client, _service = app
    before = stored(client)
    document = problem(client.request(method, path, content=body, headers=JSON), 400)
    assert says in document["detail"], document
    assert document["errors"][0]["path"]
    assert stored(client) == before


@pytest.mark.parametrize(
    ("method", "path", "body", "key", "at"),
    [
        ("PATCH", "/api/v1/preferences", b'{"newsletter": true, "newsletter": false}', "newsletter", "body"),
        ("PUT", "/api/v1/preferences/newsletter", b'{"value": false, "value": true}', "value", "body"),
        ("PATCH", "/api/v1/preferences", b'{"size": "m", "colors": [{"a": 1, "a": 2}]}', "a", "colors[0]"),
    ],
)
def test_duplicate_json_keys_are_refused_naming_the_key(
    app: tuple[TestClient, Any], method: str, path: str, body: bytes, key: str, at: str
) -> None:
    client, _service = app
    before = stored(client)
    document = problem(client.request(method, path, content=body, headers=JSON), 400)
    assert f"duplicate key {key!r}" in document["detail"]
    assert document["errors"][0]["path"] == at
    assert stored(client) == before


@pytest.mark.parametrize(
    ("path", "body", "at"),
    [
        ("/api/v1/preferences", b'{"level": 1e-400}', "level"),  # underflows to 0, a valid stop
        ("/api/v1/preferences", b'{"level": 4.0000000000000000001}', "level"),  # rounds to the stop 4
        ("/api/v1/preferences", b'{"balance": 0.25000000000000000001}', "balance"),
        ("/api/v1/preferences", b'{"level": 1e400}', "level"),  # overflows
        ("/api/v1/preferences", b'{"level": -1e400}', "level"),
        ("/api/v1/preferences", b'{"level": ' + b"9" * 5000 + b"}", "level"),
        ("/api/v1/preferences/level", b'{"value": 1e-400}', "value"),
        ("/api/v1/preferences", b'{"colors": ["red"], "size": [1e-400]}', "size[0]"),
    ],
)
def test_numbers_that_would_change_on_the_way_in_are_refused(
    app: tuple[TestClient, Any], path: str, body: bytes, at: str
) -> None:
    client, _service = app
    before = stored(client)
    method = "PATCH" if path.endswith("preferences") else "PUT"
    document = problem(client.request(method, path, content=body, headers=JSON), 400)
    assert document["errors"][0]["path"] == at, document
    assert stored(client) == before


def test_exact_numbers_still_work(app: tuple[TestClient, Any]) -> None:
    client, _service = app
    for body, key, value in [
        (b'{"level": 6}', "level", 6),
        (b'{"level": 8.0}', "level", 8),
        (b'{"level": 2E0}', "level", 2),
        (b'{"balance": 0.75}', "balance", 0.75),
        (b'{"balance": 2.5e-1}', "balance", 0.25),
    ]:
        response = client.patch("/api/v1/preferences", content=body, headers=JSON)
        assert response.status_code == 200, response.text
        assert response.json()["preferences"][key]["value"] == value


# -- hypothesis: any body, any endpoint ------------------------------------------------------------------

_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
_keys = ["newsletter", "essential", "level", "balance", "colors", "size", "nope"]
_number_literals = st.sampled_from(
    [b"1e-400", b"1e400", b"-0.0", b"4.0000000000000000001", b"9" * 400, b"1E2", b"0.1", b"2"]
)


def _raw_bodies() -> st.SearchStrategy[bytes]:
    encoded = _json_values.map(lambda v: json.dumps(v).encode())
    wrapped = _json_values.map(lambda v: json.dumps({"value": v}).encode())
    patch = st.dictionaries(st.sampled_from(_keys), _json_values, max_size=4).map(
        lambda v: json.dumps(v).encode()
    )
    numbers = st.tuples(st.sampled_from(_keys), _number_literals).map(
        lambda kv: b'{"' + kv[0].encode() + b'": ' + kv[1] + b"}"
    )
    nested = st.integers(min_value=1, max_value=3000).map(
        lambda n: b'{"value": ' + b"[" * n + b"]" * n + b"}"
    )
    duplicated = st.sampled_from(_keys).map(lambda k: f'{{"{k}": true, "{k}": false}}'.encode())
    return st.one_of(encoded, wrapped, patch, numbers, nested, duplicated, st.binary(max_size=64))


_ENDPOINTS = [
    ("PATCH", "/api/v1/preferences"),
    *[("PUT", f"/api/v1/preferences/{key}") for key in _keys],
    *[("DELETE", f"/api/v1/preferences/{key}") for key in ("colors", "newsletter")],
    ("POST", "/api/v1/consents/accept-all"),
    ("POST", "/api/v1/session/login"),
]


def test_any_body_to_any_write_endpoint_is_answered_without_5xx_and_refusals_change_nothing(
    tmp_path: Path, sqlite_url: str
) -> None:
    with running_app(write_registry(tmp_path), sqlite_url) as (client, _service):

        @given(
            endpoint=st.sampled_from(_ENDPOINTS),
            body=_raw_bodies(),
            content_type=st.sampled_from(
                ["application/json", "text/plain", "application/json; charset=latin-1"]
            ),
            gpc=st.sampled_from([None, b"1", b"0", b"\xc3\xa9", b"\xff"]),
        )
        @settings(
            max_examples=100,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        def check(endpoint: tuple[str, str], body: bytes, content_type: str, gpc: bytes | None) -> None:
            before = stored(client)
            method, path = endpoint
            headers: dict[str, Any] = {**WRITE, "content-type": content_type}
            if gpc is not None:
                headers["sec-gpc"] = gpc
            response = client.request(method, path, content=body, headers=headers)
            assert response.status_code < 500, (method, path, body[:200], response.text[:500])
            if response.status_code >= 400:
                assert response.headers["content-type"].startswith(PROBLEM)
                assert len(response.content) < 8 * 1024 + 2 * len(body)
                assert stored(client) == before, (method, path, body[:200])

        check()


# -- a real server: websockets, the shared write budget, socket and frame limits --------------------------
# Every test speaks from its own loopback address (127.0.0.0/8 is all local on Linux): the budget and the
# socket count are per client address, so tests on one server never share them.

LIMIT = 5
SOCKETS = 3
TOGGLE_PATH = "/_prefkit/ws/consent-toggle?key=newsletter"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    workdir = tmp_path_factory.mktemp("hostile")
    registry = write_registry(workdir)
    with LiveServer(
        registry,
        f"sqlite:///{workdir / 'live.db'}",
        log_path=workdir / "server.log",
        PREFKIT_WRITE_RATE_LIMIT=str(LIMIT),
        PREFKIT_MAX_SOCKETS_PER_CLIENT=str(SOCKETS),
    ) as server:
        yield server
    text = (workdir / "server.log").read_text()
    assert "Traceback" not in text and "unhandled error" not in text, text[-4000:]
    assert "127.0." not in text.replace(server.url, ""), "the log names client addresses"


def http_client(server: LiveServer, source: str) -> httpx.Client:
    return httpx.Client(
        base_url=server.url, headers=WRITE, timeout=20, transport=httpx.HTTPTransport(local_address=source)
    )


def cookie_header(client: httpx.Client) -> str:
    return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


def _texts(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for child in node.get("children", ()):
            yield from _texts(child)


class Widget:
    """One component session over a real websocket, keeping ReactPy's model up to date."""

    def __init__(self, server: LiveServer, widget: str, query: str, source: str, cookie: str = "") -> None:
        url = server.url.replace("http://", "ws://") + f"/_prefkit/ws/{widget}?{query}"
        connection = ws_connect(
            url,
            origin=server.url,  # type: ignore[arg-type]
            additional_headers={"Cookie": cookie} if cookie else None,
            source_address=(source, 0),
            proxy=None,
            max_size=None,
            open_timeout=20,
        )
        self._stack = ExitStack()
        self.ws = self._stack.enter_context(connection)
        self.model: Any = {}

    def until(self, condition: Any, timeout: float = 30) -> Any:
        deadline = time.monotonic() + timeout
        while not (found := condition(self.model)):
            message = json.loads(self.ws.recv(timeout=max(0.01, deadline - time.monotonic())))
            if message.get("type") == "layout-update":
                self.model = apply_layout_update(self.model, message["path"], message["model"])
        return found

    def find(self, **attributes: str) -> dict[str, Any] | None:
        return next(
            (
                node
                for node in walk_model(self.model)
                if all(
                    node.get("attributes", {}).get(name.replace("_", "-")) == value
                    for name, value in attributes.items()
                )
            ),
            None,
        )

    def text(self) -> str:
        return " ".join(_texts(self.model))

    def click(self, node: dict[str, Any]) -> None:
        target = node["eventHandlers"]["onClick"]["target"]
        self.ws.send(json.dumps({"type": "layout-event", "target": target, "data": [{}]}))

    def __enter__(self) -> Widget:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()


def _switch_settled(widget: Widget, checked: str) -> Any:
    def condition(_model: Any) -> Any:
        switch = widget.find(role="switch")
        state = switch.get("attributes", {}).get("data-state", "") if switch else ""
        settled = switch and switch["attributes"].get("aria-checked") == checked and "saving" not in state
        return switch if settled else None

    return condition


def test_widget_clicks_and_http_writes_draw_on_one_write_budget(live: LiveServer) -> None:
    with http_client(live, "127.0.0.21") as client:
        assert client.get("/api/v1/preferences").status_code == 200  # reads are free; sets the cookie
        cookie = cookie_header(client)
        with Widget(live, "consent-toggle", "key=newsletter&locale=en", "127.0.0.21", cookie) as w:
            checked = "false"
            w.until(_switch_settled(w, checked))
            for _ in range(LIMIT - 1):  # four clicks over the socket...
                w.click(w.find(role="switch"))
                checked = "true" if checked == "false" else "false"
                w.until(_switch_settled(w, checked))
            # ...and the fifth write over HTTP: the same budget
            assert client.put("/api/v1/preferences/newsletter", json={"value": True}).status_code == 200
            w.until(_switch_settled(w, "true"))  # the widget follows the change made elsewhere
            w.click(w.find(role="switch"))  # the sixth: refused, shown as not saved, socket open
            error = w.until(lambda _m: w.find(data_part="error"))
            assert "too many changes" in " ".join(_texts(error))
            assert w.find(role="switch")["attributes"]["aria-checked"] == "true"
        refused = client.put("/api/v1/preferences/newsletter", json={"value": False})
        assert refused.status_code == 429 and 1 <= int(refused.headers["retry-after"]) <= 60
        events = client.get("/api/v1/consents/history").json()["events"]
        assert len(events) == LIMIT
        assert client.get("/api/v1/preferences").json()["preferences"]["newsletter"]["value"] is True
    with http_client(live, "127.0.0.22") as other:  # another client has its own budget
        assert other.put("/api/v1/preferences/newsletter", json={"value": True}).status_code == 200


def test_accept_all_is_one_unit_of_the_budget_and_refused_like_a_click(live: LiveServer) -> None:
    with http_client(live, "127.0.0.23") as client:
        for n in range(LIMIT - 1):
            assert client.put("/api/v1/preferences/size", json={"value": "sm"[n % 2]}).status_code == 200
        cookie = cookie_header(client)
        with Widget(live, "consent-banner", "locale=en&modal=false", "127.0.0.23", cookie) as w:
            accept = w.until(lambda _m: w.find(data_action="accept-all"))
            w.click(accept)  # the fifth unit, whatever number of consents it grants
            w.until(lambda _m: w.find(data_part="banner-root", data_state="closed"))
        values = client.get("/api/v1/preferences").json()["preferences"]
        assert all(values[key]["value"] is True for key in SWITCHABLE_CONSENTS)
        assert client.post("/api/v1/consents/reject-all").status_code == 429
    with http_client(live, "127.0.0.24") as client:
        for n in range(LIMIT):
            assert client.put("/api/v1/preferences/size", json={"value": "sm"[n % 2]}).status_code == 200
        before = len(client.get("/api/v1/consents/history").json()["events"])
        cookie = cookie_header(client)
        with Widget(live, "consent-banner", "locale=en&modal=false", "127.0.0.24", cookie) as w:
            w.click(w.until(lambda _m: w.find(data_action="accept-all")))
            w.until(lambda _m: "too many changes" in w.text())
            assert w.find(data_action="accept-all") is not None  # the banner stays, nothing was granted
        assert len(client.get("/api/v1/consents/history").json()["events"]) == before


def test_a_frame_over_the_limit_is_refused_from_its_header(live: LiveServer) -> None:
    raw = RawWebSocket("127.0.0.1", live.port, TOGGLE_PATH, source="127.0.0.25")
    try:
        assert raw.status == 101
        # 15 MiB announced, 1 KiB sent: a server that buffers before checking would wait for the rest forever.
        raw.send_frame_start(15 * 1024 * 1024, b"x" * 1024)
        assert raw.close_code(timeout=20) == 1009
    finally:
        raw.close()
    assert httpx.get(live.url + "/api/v1/healthz").status_code == 200


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ('{"type": "layout-event", "target": "x", "data": ' + "[" * 3000 + "]" * 3000 + "}", 1008),
        ('{"type": "layout-event", "target": "x", "data": [' + '{"a":' * 50 + "1" + "}" * 50 + "]}", 1008),
        ('{"type": "layout-event", "target": "x", "target": "y", "data": []}', 1008),
        ('{"type": "layout-event", "target": "x", "data": [1e-400]}', 1008),
    ],
    ids=["deep-3000", "deep-50", "duplicate-key", "inexact-number"],
)
def test_hostile_websocket_messages_close_with_1008(live: LiveServer, message: str, code: int) -> None:
    with Widget(live, "consent-toggle", "key=newsletter", "127.0.0.26") as w:
        w.until(lambda _m: w.find(role="switch"))
        w.ws.send(message)
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                w.ws.recv(timeout=20)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == code


def test_invalid_utf8_in_a_text_frame_is_a_protocol_error(live: LiveServer) -> None:
    raw = RawWebSocket("127.0.0.1", live.port, TOGGLE_PATH, source="127.0.0.27")
    try:
        payload = b'{"type": "layout-event", "target": "\xff", "data": []}'
        raw.send_frame_start(len(payload), payload)
        assert raw.close_code(timeout=20) == 1007  # RFC 6455: invalid frame payload data
    finally:
        raw.close()


def test_sockets_beyond_the_per_client_limit_are_closed_with_1013(live: LiveServer) -> None:
    source = "127.0.0.28"
    widgets = [Widget(live, "consent-toggle", "key=newsletter", source) for _ in range(SOCKETS)]
    try:
        for w in widgets:
            w.until(lambda _m, w=w: w.find(role="switch"))
        extra = Widget(live, "consent-toggle", "key=newsletter", source)
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                extra.ws.recv(timeout=20)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
        with Widget(live, "consent-toggle", "key=newsletter", "127.0.0.29") as elsewhere:  # another client
            elsewhere.until(lambda _m: elsewhere.find(role="switch"))
        widgets.pop().__exit__()

        def reopened() -> Widget | None:  # the slot is free once the server has seen the close
            again = Widget(live, "consent-toggle", "key=newsletter", source)
            try:
                return again if again.until(lambda _m: again.find(role="switch"), timeout=20) else None
            except ConnectionClosed:
                return None

        again = wait_for(reopened, timeout=20, message="a socket slot to be released")
        widgets.append(again)
    finally:
        for w in widgets:
            w.__exit__()


@settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(message=st.one_of(_raw_bodies().map(lambda b: b.decode("utf-8", "replace")), st.text(max_size=200)))
def test_any_websocket_message_is_processed_or_refused_with_1008(live: LiveServer, message: str) -> None:
    # A fresh client address per example: refused sockets never wait for a slot to be released.
    global _next_source
    _next_source += 1
    source = f"127.0.{1 + _next_source // 250}.{1 + _next_source % 250}"
    with Widget(live, "consent-toggle", "key=newsletter", source) as w:
        switch = w.until(_switch_settled(w, "false"))
        try:
            w.ws.send(message)
            w.click(switch)  # still served afterwards: the click is saved
            w.until(_switch_settled(w, "true"))
        except ConnectionClosed as exc:  # or refused as a whole, cleanly
            assert exc.rcvd is not None and exc.rcvd.code == 1008, exc
    assert httpx.get(live.url + "/api/v1/healthz").status_code == 200


_next_source = 0


def test_the_write_budget_refills_after_its_window_and_forgets_the_oldest_clients() -> None:
    now = [0.0]
    budget = WriteBudget(3, window=60, clock=lambda: now[0], max_clients=100)
    assert [budget.take("a") for _ in range(3)] == [2, 1, 0]
    with pytest.raises(WriteLimitExceeded) as refused:
        budget.take("a")
    assert refused.value.retry_after == 60 and refused.value.headers["Retry-After"] == "60"
    now[0] = 59.5
    with pytest.raises(WriteLimitExceeded):
        budget.take("a")  # a refusal spends nothing and does not extend the window
    now[0] = 60.0
    assert budget.take("a") == 2
    for n in range(1000):  # an address-hopping client: memory stays bounded
        budget.take(f"hop-{n}")
    assert budget.take("a") == 3 - 1  # forgotten, so a fresh window: each new address has one anyway
