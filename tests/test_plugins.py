"""Explicit plugins (bff/plugins.py): what an app serves is what its plugin list contributes, per app.

A shop extension adds a route, a widget, a state entry and a lifespan hook to the app it is passed to; an
app created without it (same process, afterwards) has none of them, so nothing is kept in module state.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar, get
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient
from reactpy import component, html

from bff.app import create_app, default_plugins
from bff.plugins import PluginConflictError, PluginSetup, PrefkitPlugin
from bff.reactpy_bridge import apply_layout_update, walk_model
from bff.service import PreferenceService
from bff.storage import Database
from preference_registry import RegistryService

try:
    from _bff_app import make_settings, write_registry
except ImportError:  # tests/ not on sys.path (e.g. --import-mode=importlib)
    from tests._bff_app import make_settings, write_registry


@get("/shop/gift-ideas", sync_to_thread=False)
def gift_ideas() -> dict[str, str]:
    return {"ideas": "socks"}


@component
def GiftFinder() -> Any:
    return html.p({"data-gift-finder": "1"}, "gift finder")


def _document_gift_budget(document: dict[str, Any], state: Any) -> None:
    document["info"]["x-gift-budget"] = state.shop_gift_budget


class ShopPlugin(PrefkitPlugin):
    """What a shop writes to extend prefkit: a route, a widget, a state entry and a lifespan hook."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.seen_registry: Any = None

    def on_prefkit_init(self, setup: PluginSetup) -> None:
        self.seen_registry = setup.registry
        setup.add_route_handlers(gift_ideas)
        setup.add_widget("gift-finder", lambda _request: GiftFinder())
        setup.set_state("shop_gift_budget", 25)
        setup.add_openapi_hook(_document_gift_budget, lambda state: state.shop_gift_budget)

        @asynccontextmanager
        async def lifespan(_app: Litestar) -> AsyncIterator[None]:
            self.events.append("started")
            yield
            self.events.append("stopped")

        setup.add_lifespan(lifespan)


@pytest.fixture
def make_app(tmp_path: Path, sqlite_url: str) -> Iterator[Any]:
    settings = make_settings(write_registry(tmp_path), sqlite_url)
    databases: list[Database] = []

    def make(plugins: list[PrefkitPlugin] | None) -> Litestar:
        database = Database(sqlite_url)
        databases.append(database)
        service = PreferenceService(RegistryService.from_file(settings.registry_path), database)
        return create_app(settings, service=service, plugins=plugins, watch=False)

    make.settings = settings  # type: ignore[attr-defined]
    yield make
    for database in databases:
        database.dispose()


def _gift_finder_renders(client: TestClient) -> bool:
    with client.websocket_connect("/_prefkit/ws/gift-finder") as ws:
        message = ws.receive_json(timeout=10)
        model = apply_layout_update({}, message["path"], message["model"])
        return any("data-gift-finder" in node.get("attributes", {}) for node in walk_model(model))


def test_a_shop_plugin_extends_only_the_app_it_is_passed_to(make_app: Any) -> None:
    shop = ShopPlugin()
    with TestClient(make_app([*default_plugins(make_app.settings), shop])) as client:
        assert client.get("/shop/gift-ideas").json() == {"ideas": "socks"}
        assert _gift_finder_renders(client)
        assert client.app.state.shop_gift_budget == 25
        assert client.get("/schema/openapi.json").json()["info"]["x-gift-budget"] == 25
        client.app.state.shop_gift_budget = 30  # a new fingerprint: the document is rebuilt
        assert client.get("/schema/openapi.json").json()["info"]["x-gift-budget"] == 30
        assert client.get("/api/v1/catalog").status_code == 200  # the default plugins are still there
        assert shop.events == ["started"]
    assert shop.events == ["started", "stopped"]
    assert shop.seen_registry is not None

    with TestClient(make_app(None)) as plain:
        assert plain.get("/shop/gift-ideas").status_code == 404
        with pytest.raises(WebSocketDisconnect), plain.websocket_connect("/_prefkit/ws/gift-finder"):
            pass
        assert "shop_gift_budget" not in plain.app.state
        assert "x-gift-budget" not in plain.get("/schema/openapi.json").json()["info"]
        assert plain.get("/api/v1/catalog").status_code == 200


def test_the_plugin_list_is_the_whole_extension_surface(make_app: Any) -> None:
    # No plugins: the core API only. Nothing that an earlier app (or an import) registered leaks in.
    with TestClient(make_app([])) as client:
        assert client.get("/api/v1/preferences").status_code == 200
        assert client.get("/api/v1/catalog").status_code == 404
        assert client.get("/demo/").status_code == 404
        assert client.get("/api/v1/me/export").status_code == 404
        assert client.get("/_prefkit/kit/messages.json").status_code == 404


def test_two_plugins_claiming_one_widget_or_a_kit_state_key_fail_at_start_up(make_app: Any) -> None:
    with pytest.raises(PluginConflictError, match="'gift-finder' is contributed by both ShopPlugin and ShopPlugin"):
        make_app([ShopPlugin(), ShopPlugin()])

    class Squatter(PrefkitPlugin):
        def on_prefkit_init(self, setup: PluginSetup) -> None:
            setup.set_state("prefkit", object())

    with pytest.raises(PluginConflictError, match="belong to the kit"):
        make_app([Squatter()])
