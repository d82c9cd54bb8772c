"""Shared pieces of the BFF tests: a small registry that exercises every value rule, settings with test
secrets, a running app (Litestar TestClient: real ASGI app, real database, lifespan included), and a real
server for the browser tests (uvicorn in a thread: real sockets, real websockets)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from litestar.testing import TestClient

from bff.app import create_app
from bff.reactpy_bridge import server_ws_max_size
from bff.service import PreferenceService
from bff.settings import Settings
from bff.storage import Database
from e2e.waiting import wait_until
from preference_registry import RegistryService

SECRET = "test-cookie-secret-0123456789abcdefghijkl"
SHOP_SECRET = "test-shop-secret-0123456789abcdefghijklmn"
ADMIN_KEY = "test-admin-key-0123456789abcdefghijklm"
API_KEY = "test-api-key-0123456789abcdefghijklmno"
WRITE = {"X-Prefkit-CSRF": "1"}
"""Header a non-browser client adds to cookie-authenticated writes (see bff/api/security.py)."""

PROBLEM = "application/problem+json"


def expect_problem(response: Any, status: int, slug: str | None = None) -> dict[str, Any]:
    """The RFC 9457 problem document of ``response``, asserting its status, media type and fields."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    if slug is not None:
        assert body["type"] == f"urn:prefkit:problem:{slug}", body
    return body


REGISTRY_TOML = """
[shop]
name = "Test Shop"
default_locale = "pl"
locales = ["pl", "en"]

[[preferences]]
key = "newsletter"
kind = "consent"
purpose = "marketing"
mechanism = "opt_in"
gpc = true
expires_after_days = 30
title = { pl = "Newsletter", en = "Newsletter EN" }
description = { pl = "Raz w tygodniu.", en = "Once a week." }

[[preferences]]
key = "recommendations"
kind = "consent"
purpose = "recommendations"
title = { pl = "Rekomendacje", en = "Recommendations" }

[[preferences]]
key = "service_quality"
kind = "consent"
purpose = "quality"
mechanism = "opt_out"
title = { pl = "Jakość usług", en = "Service quality" }

[[preferences]]
key = "essential"
kind = "consent"
purpose = "essential"
mechanism = "notice_only"
title = { pl = "Niezbędne", en = "Essential" }

[[preferences]]
key = "level"
kind = "slider"
min = 0
max = 10
step = 2
default = 4
requires = ["recommendations"]
title = { pl = "Poziom", en = "Level" }

[[preferences]]
key = "balance"
kind = "slider"
min = 0.0
max = 1.0
step = 0.25
default = 0.5
title = { pl = "Balans", en = "Balance" }

[[preferences]]
key = "colors"
kind = "filter"
multiple = true
title = { pl = "Kolory", en = "Colors" }
options = [
  { key = "red", label = { pl = "Czerwony", en = "Red" } },
  { key = "green", label = { pl = "Zielony", en = "Green" } },
  { key = "blue", label = { pl = "Niebieski", en = "Blue" } },
]

[[preferences]]
key = "size"
kind = "filter"
title = { pl = "Rozmiar", en = "Size" }
options = [
  { key = "s", label = "S" },
  { key = "m", label = "M" },
]
"""

SWITCHABLE_CONSENTS = ["newsletter", "recommendations", "service_quality"]
REGISTRY_KEYS = [*SWITCHABLE_CONSENTS, "essential", "level", "balance", "colors", "size"]
"""The keys of ``REGISTRY_TOML``, in registry order."""

CONSENT_MODE_REGISTRY = """
[shop]
name = "Consent Mode shop"
default_locale = "en"
locales = ["en"]

[[preferences]]
key = "necessary"
kind = "consent"
purpose = "necessary"
mechanism = "notice_only"
title = "Necessary"
consent_mode = { grants = ["security_storage", "functionality_storage"] }

[[preferences]]
key = "analytics"
kind = "consent"
purpose = "analytics"
title = "Analytics"
expires_after_days = 30
consent_mode = { grants = ["analytics_storage"], wait_for_update = 500 }

[[preferences]]
key = "ads"
kind = "consent"
purpose = "marketing"
gpc = true
title = "Ads"
consent_mode = { grants = ["ad_storage", "ad_user_data", "ad_personalization"] }
"""
"""A shop whose consents map to Google Consent Mode types (the page API and Consent Mode tests)."""


def write_registry(directory: Path, text: str = REGISTRY_TOML, name: str = "registry.toml") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def make_settings(registry_path: Path | str, database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        registry_path=str(registry_path),
        database_url=database_url,
        secret=SECRET,
        shop_secret=SHOP_SECRET,
        admin_key=ADMIN_KEY,
        api_key=API_KEY,
        write_rate_limit_per_minute=0,
    )
    values.update(overrides)
    return Settings(**values).checked()


class Clock:
    """A settable clock for the service (tests move time instead of sleeping)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@contextmanager
def running_app(
    registry_path: Path,
    database_url: str,
    *,
    clock: Callable[[], datetime] | None = None,
    **settings_overrides: Any,
) -> Iterator[tuple[TestClient, PreferenceService]]:
    settings = make_settings(registry_path, database_url, **settings_overrides)
    registry = RegistryService.from_file(registry_path)
    database = Database(database_url)
    service = PreferenceService(registry, database, clock=clock)
    app = create_app(settings, service=service)
    try:
        with TestClient(app) as client:
            yield client, service
    finally:
        database.dispose()


@pytest.fixture
def clock() -> Clock:
    """The app fixture's clock (a fixture: import it with ``app`` into a test module)."""
    return Clock()


@pytest.fixture
def app(tmp_path: Path, database_url: str, clock: Clock) -> Iterator[tuple[TestClient, PreferenceService]]:
    """The test registry's app and service on ``database_url`` (SQLite, PostgreSQL); its time is ``clock``."""
    with running_app(write_registry(tmp_path), database_url, clock=clock) as running:
        yield running


def catalog(client: TestClient, **params: Any) -> dict[str, Any]:
    """``GET /api/v1/catalog`` with ``params``, asserting it answered 200: the page as JSON."""
    response = client.get("/api/v1/catalog", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def choose(client: TestClient, **values: Any) -> None:
    """The shopper of ``client`` sets ``values`` (``PATCH /api/v1/preferences``), asserting a 200."""
    response = client.patch("/api/v1/preferences", json=values, headers=WRITE)
    assert response.status_code == 200, response.text


def wait_for(
    condition: Callable[[], Any], *, timeout: float = 10.0, interval: float = 0.05, message: str = "condition"
) -> Any:
    """Poll ``condition`` until truthy (returned) or fail after ``timeout`` seconds: the kit's
    :func:`e2e.waiting.wait_until`, under the name and keywords these tests use."""
    return wait_until(condition, message, timeout_s=timeout, interval_s=interval)


class ThreadedServer:
    """``app`` served by uvicorn in a daemon thread on 127.0.0.1, with the websocket frame limit ``prefkit
    serve`` runs with (``ws_max_size``, default: the bridge's for its default message limit), so browser tests
    exercise what ships. ``port=0`` picks a free port; a fixed ``port`` lets a test stop and start a server at
    the same address. A context manager, or ``start()`` / ``stop()``."""

    def __init__(self, app: Any, *, port: int = 0, ws_max_size: int | None = None) -> None:
        # Binding the socket ourselves and handing it over avoids the pick-a-free-port race.
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", port))
        self.port: int = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        limit = server_ws_max_size() if ws_max_size is None else ws_max_size
        config = uvicorn.Config(app, log_level="warning", lifespan="on", ws_max_size=limit)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def start(self) -> ThreadedServer:
        self._thread.start()
        wait_until(lambda: self._server.started, "the BFF to start")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=timeout)

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
