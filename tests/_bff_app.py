"""Shared pieces of the BFF tests: a small registry that exercises every value rule, settings with test
secrets, and a running app (Litestar TestClient: real ASGI app, real database, lifespan included)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from litestar.testing import TestClient

from bff.app import create_app
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


def wait_for(
    condition: Callable[[], Any], *, timeout: float = 10.0, interval: float = 0.05, message: str = "condition"
) -> Any:
    """Poll ``condition`` until truthy (returned) or fail after ``timeout`` seconds: the kit's
    :func:`e2e.waiting.wait_until`, under the name and keywords these tests use."""
    return wait_until(condition, message, timeout_s=timeout, interval_s=interval)
