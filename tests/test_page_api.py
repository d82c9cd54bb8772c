"""The page API's server side (bff/page_api.py): Consent Mode defaults script, the shopper's page state, the
per-subject change stream with the widget sockets' limits, the server-to-server read and the Jinja helpers."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import jinja2
import pytest
from litestar.testing import TestClient
from litestar.exceptions import WebSocketDisconnect

from bff.jinja_helpers import fetch_consents, install_prefkit

try:
    from _bff_app import CONSENT_MODE_REGISTRY as REGISTRY
    from _bff_app import API_KEY, WRITE, Clock, running_app, wait_for, write_registry
except ImportError:  # tests/ not on sys.path
    from tests._bff_app import CONSENT_MODE_REGISTRY as REGISTRY
    from tests._bff_app import API_KEY, WRITE, Clock, running_app, wait_for, write_registry

NO_MAPPING = re.sub(r"consent_mode = .*\n", "", REGISTRY)
ORIGIN = "http://shop.test"


@pytest.fixture
def app(tmp_path: Path) -> Any:
    clock = Clock()
    with running_app(write_registry(tmp_path, REGISTRY), f"sqlite:///{tmp_path / 'db.sqlite'}", clock=clock,
                     allowed_origins=(ORIGIN,), max_sockets_per_client=2) as (client, service):
        yield client, service, clock


@contextlib.contextmanager
def as_another_shopper(client: TestClient) -> Iterator[None]:
    """Requests of ``client`` without its cookies (a second TestClient on the same app would run the app's
    lifespan again on another event loop)."""
    saved = dict(client.cookies)
    client.cookies.clear()
    try:
        yield
    finally:
        client.cookies.clear()
        client.cookies.update(saved)


def defaults_of(script: str) -> list[dict[str, Any]]:
    match = re.search(r"var c = (\{.*\});", script)
    assert match, script
    return json.loads(match.group(1))["defaults"]


def test_consent_mode_script_denies_everything_but_what_notice_only_consents_grant(app: Any) -> None:
    client, _, _ = app
    response = client.get("/_prefkit/consent-mode.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert defaults_of(response.text) == [{
        "ad_storage": "denied", "ad_user_data": "denied", "ad_personalization": "denied",
        "analytics_storage": "denied", "functionality_storage": "granted", "personalization_storage": "denied",
        "security_storage": "granted", "wait_for_update": 500,
    }]
    assert '"dataLayer":false' in response.text
    assert '"dataLayer":true' in client.get("/_prefkit/consent-mode.js?datalayer=1").text
    etag = response.headers["etag"]
    assert client.get("/_prefkit/consent-mode.js", headers={"If-None-Match": etag}).status_code == 304


def test_a_registry_without_mapping_gets_a_script_that_sends_nothing(tmp_path: Path) -> None:
    with running_app(write_registry(tmp_path, NO_MAPPING), f"sqlite:///{tmp_path / 'db.sqlite'}") as (client, _):
        assert defaults_of(client.get("/_prefkit/consent-mode.js").text) == []
        assert client.get("/_prefkit/state").json()["consent_mode"] is None


def test_page_state_follows_the_shoppers_choices_gpc_and_expiry(app: Any) -> None:
    client, _, clock = app
    state = client.get("/_prefkit/state").json()
    assert state["consent_mode"] == {"security_storage": ["necessary"], "functionality_storage": ["necessary"],
                                     "analytics_storage": ["analytics"], "ad_storage": ["ads"],
                                     "ad_user_data": ["ads"], "ad_personalization": ["ads"]}
    assert {k: v["value"] for k, v in state["values"].items()} == {"necessary": True, "analytics": False,
                                                                   "ads": False}
    assert state["consents"]["ads"] == {"purpose": "marketing", "mechanism": "opt_in"}
    client.put("/api/v1/preferences/analytics", json={"value": True}, headers=WRITE)
    client.put("/api/v1/preferences/ads", json={"value": True}, headers=WRITE)
    values = client.get("/_prefkit/state").json()["values"]
    assert values["analytics"]["value"] is True and values["ads"]["value"] is True
    gpc = client.get("/_prefkit/state?gpc=1").json()["values"]["ads"]
    assert gpc == {"value": False, "in_effect": True, "source": "gpc"}
    clock.now += timedelta(days=31)
    assert client.get("/_prefkit/state").json()["values"]["analytics"]["source"] == "expired"


def test_the_change_stream_sends_the_state_on_every_change_of_its_own_subject_only(app: Any) -> None:
    client, service, _ = app
    client.get("/_prefkit/session")
    before = service.events.subscriber_count()
    with client.websocket_connect("/_prefkit/changes") as socket:
        first = json.loads(socket.receive_text())
        assert first["source"] == "initial" and first["values"]["analytics"]["value"] is False
        # Another shopper's change (a request without this shopper's cookie): never seen here.
        with as_another_shopper(client):
            client.put("/api/v1/preferences/analytics", json={"value": True}, headers=WRITE)
        client.put("/api/v1/preferences/ads", json={"value": True}, headers=WRITE)
        change = json.loads(socket.receive_text())
        assert change["source"] == "api"
        assert change["values"]["ads"]["value"] is True
        assert change["values"]["analytics"]["value"] is False  # the other shopper's grant is not ours
        client.put("/api/v1/preferences/ads", json={"value": False}, headers=WRITE)
        assert json.loads(socket.receive_text())["values"]["ads"]["value"] is False
    # Unsubscribed when the page went away.
    wait_for(lambda: service.events.subscriber_count() == before, message="the socket to unsubscribe")


def test_the_change_stream_takes_no_messages(app: Any) -> None:
    client, _, _ = app
    with client.websocket_connect("/_prefkit/changes") as socket:
        socket.receive_text()
        socket.send_text("x" * 10_000)
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_text()
        assert closed.value.code == 1008


def test_the_change_stream_refuses_foreign_origins_and_holds_the_socket_limit(app: Any) -> None:
    client, _, _ = app
    with pytest.raises(WebSocketDisconnect):
        with client.websocket_connect("/_prefkit/changes", headers={"Origin": "http://evil.test"}) as socket:
            socket.receive_text()
    with client.websocket_connect("/_prefkit/changes", headers={"Origin": ORIGIN}) as one, \
            client.websocket_connect("/_prefkit/changes", headers={"Origin": ORIGIN}) as two:
        one.receive_text()
        two.receive_text()
        with client.websocket_connect("/_prefkit/changes") as third:
            with pytest.raises(WebSocketDisconnect) as closed:
                third.receive_text()
            assert closed.value.code == 1013


WIDGET = "/_prefkit/ws/consent-toggle?key=analytics&locale=en"
CHANGES = "/_prefkit/changes"


def test_widget_and_change_sockets_count_against_one_per_client_limit(app: Any) -> None:
    # max_sockets_per_client=2 for the whole app, whatever kind of socket holds a slot.
    client, _, _ = app

    def admitted(path: str, held: contextlib.ExitStack) -> bool:
        socket = held.enter_context(client.websocket_connect(path))
        try:
            socket.receive_text()  # the first render / the first state: the socket holds its slot
            return True
        except WebSocketDisconnect as closed:
            assert closed.code == 1013, closed
            return False

    def admitted_once_released(path: str, held: contextlib.ExitStack) -> None:
        # A closed socket's slot is free once the server has seen the close.
        wait_for(lambda: admitted(path, held), message=f"a socket slot for {path}")

    with contextlib.ExitStack() as held:
        assert admitted(WIDGET, held) and admitted(WIDGET, held)
        assert not admitted(CHANGES, held)
    with contextlib.ExitStack() as held:
        admitted_once_released(CHANGES, held)
        admitted_once_released(WIDGET, held)
        assert not admitted(WIDGET, held)
        assert not admitted(CHANGES, held)
    with contextlib.ExitStack() as held:
        admitted_once_released(CHANGES, held)
        admitted_once_released(CHANGES, held)
        assert not admitted(WIDGET, held)


def test_type_declarations_are_served_next_to_prefkit_js(app: Any) -> None:
    client, _, _ = app
    response = client.get("/_prefkit/prefkit.d.ts")
    assert response.status_code == 200
    for name in ("ready: Promise<PrefkitState>", "allowed(keyOrPurpose: string): boolean", "openCenter()",
                 '"prefkit:change": CustomEvent<PrefkitChange>'):
        assert name in response.text
    assert client.get("/_prefkit/prefkit.js").status_code == 200


def test_server_side_read_with_the_api_key_and_with_the_shoppers_cookie(app: Any) -> None:
    client, _, _ = app
    client.put("/api/v1/preferences/analytics", json={"value": True}, headers=WRITE)
    subject = client.get("/api/v1/profile").json()["subject"]
    consents = fetch_consents(str(client.base_url), subject=subject, api_key=API_KEY, client=client)
    assert consents.allowed("analytics") and consents.allowed("analytics") and not consents.allowed("ads")
    assert not consents.allowed("marketing")
    # A wrong key is refused by the BFF; the helper then grants nothing rather than guessing.
    refused = fetch_consents(str(client.base_url), subject=subject, api_key="wrong", client=client)
    assert not refused.allowed("analytics")
    shoppers_cookies = dict(client.cookies)
    with as_another_shopper(client):  # the shop's server: no cookie of its own, forwards the shopper's
        by_cookie = fetch_consents(str(client.base_url), cookies=shoppers_cookies, client=client)
    assert by_cookie.allowed("analytics")
    assert not fetch_consents("http://127.0.0.1:9", subject=subject, api_key=API_KEY, timeout=0.5).allowed(
        "analytics")


def test_jinja_head_helper_emits_the_defaults_first_with_the_nonce() -> None:
    env = jinja2.Environment(autoescape=True)
    install_prefkit(env, bff_url="https://prefs.example/")
    html = env.from_string('{{ prefkit_head(nonce=n, data_layer=True) }}').render(n='a"b')
    assert html == ('<script nonce="a&#34;b" src="https://prefs.example/_prefkit/consent-mode.js?datalayer=1">'
                    '</script><script type="module" nonce="a&#34;b" '
                    'src="https://prefs.example/_prefkit/prefkit.js"></script>')
