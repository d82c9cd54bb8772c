"""Origins: one reading of ``scheme://host[:port]`` for the allowlist (settings), framing (CSP
``frame-ancestors``), CORS, cookie-authenticated writes (CSRF) and component websockets."""

from __future__ import annotations

from pathlib import Path

import pytest
from _bff_app import SECRET, running_app, write_registry
from litestar.exceptions import WebSocketDisconnect

from bff.api.security import frame_ancestors
from bff.settings import Settings, SettingsError


@pytest.mark.parametrize(
    "entry",
    [
        "ftp://shop.example",  # no web origin
        "https://shop.example:99999",  # no port
        "https://user@shop.example",  # user info: no origin has one
        "https://shop.example/shop",  # a path: no origin has one
        "null",
        "shop.example",
    ],
)
def test_an_allowed_origin_no_browser_can_send_is_refused_at_start(entry: str) -> None:
    with pytest.raises(SettingsError, match="PREFKIT_ALLOWED_ORIGINS") as refused:
        Settings.from_env({"PREFKIT_SECRET": SECRET, "PREFKIT_ALLOWED_ORIGINS": entry})
    assert repr(entry) in str(refused.value)


def test_allowed_origins_are_kept_as_browsers_send_them() -> None:
    settings = Settings.from_env(
        {"PREFKIT_SECRET": SECRET, "PREFKIT_ALLOWED_ORIGINS": "HTTPS://Shop.Example:443, http://[::1]:3000/"}
    )
    assert settings.allowed_origins == ("https://shop.example", "http://[::1]:3000")


def test_frame_ancestors_keep_an_ipv6_origin_valid() -> None:
    # A CSP source "http://::1:3000" is no source at all: the host must stay in brackets.
    assert frame_ancestors(("http://[::1]:3000",)) == "'self' http://[::1]:3000"


def test_cors_and_writes_accept_an_allowlisted_origin_however_it_was_spelt(
    tmp_path: Path, sqlite_url: str
) -> None:
    spelt = "HTTPS://Shop.Example:443"  # the browser sends "https://shop.example"
    settings = Settings.from_env({"PREFKIT_SECRET": SECRET, "PREFKIT_ALLOWED_ORIGINS": spelt})
    with running_app(
        write_registry(tmp_path), sqlite_url, allowed_origins=settings.allowed_origins
    ) as (client, _service):
        response = client.put(
            "/api/v1/preferences/size", json={"value": "m"}, headers={"Origin": "https://shop.example"}
        )
        assert response.status_code == 200, response.text
        assert response.headers["access-control-allow-origin"] == "https://shop.example"


@pytest.mark.parametrize(
    ("origin", "host", "same"),
    [
        ("https://bff.example", "bff.example", True),
        # TLS ends at a proxy that forwards the Host with the default port: still this site.
        ("https://bff.example", "bff.example:443", True),
        ("http://[::1]:8000", "[::1]:8000", True),
        ("http://bff.example:8000", "bff.example", False),
        ("https://evil.example", "bff.example", False),
        ("null", "bff.example", False),
    ],
)
def test_writes_and_component_websockets_judge_an_origin_alike(
    tmp_path: Path, sqlite_url: str, origin: str, host: str, same: bool
) -> None:
    with running_app(write_registry(tmp_path), sqlite_url) as (client, _service):
        write = client.put(
            "/api/v1/preferences/size", json={"value": "m"}, headers={"Origin": origin, "Host": host}
        )
        assert (write.status_code == 200) is same, write.text
        headers = {"Origin": origin, "Host": host}
        if same:
            with client.websocket_connect("/_prefkit/ws/consent-toggle?key=newsletter", headers=headers):
                pass
        else:
            with pytest.raises(WebSocketDisconnect, match="origin not allowed"):
                with client.websocket_connect("/_prefkit/ws/consent-toggle?key=newsletter", headers=headers):
                    pass
