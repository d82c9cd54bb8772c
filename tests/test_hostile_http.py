"""Hostile request bodies, headers and websocket frames against the real app (issue 11, items 9, 11-13).

Bad input gets a precise 4xx problem or a clean websocket close, never a 500, never an answer much
bigger than the question, and never a change of stored state. Every state-changing path (HTTP writes,
widget writes over the websocket) draws on the same per-client write budget. The server refuses
oversized websocket frames before buffering them and limits the sockets one client may hold open.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _bff_app import WRITE, running_app, write_registry
from _live_server import LiveServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from bff.cli import demo_registry_path
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
