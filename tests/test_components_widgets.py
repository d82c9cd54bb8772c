"""bff/widgets.py through the real app (ASGI, database, bridge): mount-point validation, the store adapter's
writes, and what a session sends — spoken in ReactPy's wire protocol, without a browser."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient
from litestar.testing.websocket_test_session import WebSocketTestSession

from bff.reactpy_bridge import apply_layout_update, walk_model
from bff.widgets import CLIENT_MESSAGE_IDS
from components import CATALOGS

try:
    from _bff_app import WRITE, running_app, write_registry
except ImportError:  # tests/ not on sys.path (e.g. --import-mode=importlib)
    from tests._bff_app import WRITE, running_app, write_registry


@pytest.fixture
def client(tmp_path: Path, sqlite_url: str) -> Iterator[TestClient]:
    with running_app(write_registry(tmp_path), sqlite_url) as (client, _service):
        client.get("/api/v1/preferences")  # the shopper's identity cookie, as a page load would set it
        yield client


def _find(model: dict[str, Any], predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
    return next((n for n in walk_model(model) if predicate(n.get("attributes", {}))), None)


def _until(
    ws: WebSocketTestSession,
    model: dict[str, Any],
    condition: Callable[[dict[str, Any]], Any],
    limit: int = 20,
) -> dict[str, Any]:
    for _ in range(limit):
        if condition(model):
            return model
        message = ws.receive_json(timeout=10)
        assert message["type"] == "layout-update"
        model = apply_layout_update(model, message["path"], message["model"])
    raise AssertionError("the expected update never arrived")


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("consent-toggle?key=nope", "no consent preference 'nope' in the registry (data-key)"),
        ("consent-toggle?key=level", "no consent preference 'level' in the registry (data-key)"),
        ("preference-slider", "no slider preference '' in the registry (data-key)"),
        ("filter-group?key=newsletter", "no filter preference 'newsletter' in the registry (data-key)"),
        ("preference-center?theme=Bad%20Theme", "invalid theme name 'Bad Theme' (data-theme)"),
    ],
)
def test_bad_mount_points_are_refused_at_the_handshake(client: TestClient, query: str, reason: str) -> None:
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect(f"/_prefkit/ws/{query}"):
        pass
    assert reason in str(refused.value)


def test_a_toggle_session_writes_through_the_service_with_method_ui(client: TestClient) -> None:
    with client.websocket_connect("/_prefkit/ws/consent-toggle?key=newsletter&locale=en&theme=dark") as ws:
        model = _until(ws, {}, lambda m: _find(m, lambda a: a.get("role") == "switch"))
        root = _find(model, lambda a: "data-prefkit-root" in a)
        assert root is not None and root["attributes"]["data-prefkit-theme"] == "dark"
        assert root["attributes"]["lang"] == "en"
        link = _find(model, lambda a: a.get("rel") == "stylesheet")
        assert link is not None and link["attributes"]["href"].endswith("/_prefkit/themes/dark.css")
        switch = _find(model, lambda a: a.get("role") == "switch")
        assert switch is not None and switch["attributes"]["aria-checked"] == "false"
        ws.send_json(
            {"type": "layout-event", "target": switch["eventHandlers"]["onClick"]["target"], "data": [{}]}
        )
        _until(
            ws,
            model,
            lambda m: (
                (_find(m, lambda a: a.get("role") == "switch") or {})
                .get("attributes", {})
                .get("aria-checked")
                == "true"
            ),
        )
    stored = client.get("/api/v1/preferences").json()["preferences"]["newsletter"]
    assert (stored["value"], stored["source"]) == (True, "explicit")
    entries = client.get("/api/v1/consents/history").json()["events"]
    assert [(e["key"], e["method"], e["new_value"]) for e in entries] == [("newsletter", "ui", True)]


def test_a_change_through_the_api_reaches_an_open_widget(client: TestClient) -> None:
    with client.websocket_connect("/_prefkit/ws/preference-slider?key=balance&locale=pl") as ws:
        model = _until(ws, {}, lambda m: _find(m, lambda a: a.get("role") == "slider"))
        assert _find(model, lambda a: a.get("role") == "slider")["attributes"]["aria-valuenow"] == 0.5  # type: ignore[index]
        assert (
            client.put("/api/v1/preferences/balance", json={"value": 0.75}, headers=WRITE).status_code == 200
        )
        _until(
            ws,
            model,
            lambda m: (
                (_find(m, lambda a: a.get("role") == "slider") or {})
                .get("attributes", {})
                .get("aria-valuenow")
                == 0.75
            ),
        )


def test_closing_a_widget_ends_its_subscriptions(tmp_path: Path, sqlite_url: str) -> None:
    try:
        from _bff_app import wait_for
    except ImportError:  # tests/ not on sys.path
        from tests._bff_app import wait_for

    with running_app(write_registry(tmp_path), sqlite_url) as (client, service):
        client.get("/api/v1/preferences")
        registry_listeners = len(service.registry._listeners)
        # The app's own plugins (metrics, cluster, insights...) subscribe to every subject's events.
        event_listeners = service.events.subscriber_count()
        with client.websocket_connect("/_prefkit/ws/preference-center?locale=en") as ws:
            _until(ws, {}, lambda m: _find(m, lambda a: a.get("role") == "switch"))
            assert len(service.registry._listeners) == registry_listeners + 1
            assert service.events.subscriber_count() == event_listeners + 1
        # A closed page must not keep listeners (and with them its whole component tree) alive.
        wait_for(lambda: len(service.registry._listeners) == registry_listeners
                 and service.events.subscriber_count() == event_listeners,
                 message="the session's listeners to be removed")


def test_kit_messages_for_widgets_without_a_socket_are_served_per_locale(client: TestClient) -> None:
    response = client.get("/_prefkit/kit/messages.json")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    assert response.headers["access-control-allow-origin"] == "*"  # fetched by shop pages on other origins
    assert response.json() == {
        locale: {message_id: catalog[message_id] for message_id in CLIENT_MESSAGE_IDS}
        for locale, catalog in CATALOGS.items()
    }
    again = client.get("/_prefkit/kit/messages.json", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304


def test_prefkit_js_fallback_messages_are_the_english_catalog() -> None:
    # prefkit.js shows English when even its first fetch of the catalog failed; the copy must not drift.
    script = (Path(__file__).resolve().parent.parent / "bff" / "static" / "prefkit.js").read_text("utf-8")
    block = script.split("const FALLBACK_MESSAGES = {", 1)[1].split("};", 1)[0]
    fallback = dict(re.findall(r'(\w+): "([^"]*)"', block))
    assert fallback == {message_id: CATALOGS["en"][message_id] for message_id in CLIENT_MESSAGE_IDS}
