"""``/metrics``: a Prometheus scrape sees the series move after requests, never a subject id in a label; the key
protects it; with ``--workers 2`` every scrape, whichever worker answers, reports the sum over the workers."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from _bff_app import REGISTRY_TOML, WRITE, running_app, wait_for
from _live_server import LiveServer
from _raw_websocket import RawWebSocket

METRICS_KEY = "metrics-key-0123456789abcdefghijklmnop"
AUTH = {"Authorization": f"Bearer {METRICS_KEY}"}

_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Samples of a text exposition: (name, labels) -> value."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        assert match, f"not a sample line: {line!r}"
        labels = frozenset(_LABEL.findall(match["labels"] or ""))
        samples[(match["name"], labels)] = float(match["value"])
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` whose labels include ``labels`` (0 when none)."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


def label_values(samples: dict) -> set[str]:
    return {v for (_n, labels) in samples for (_k, v) in labels}


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    path = tmp_path / "registry.toml"
    path.write_text(REGISTRY_TOML, encoding="utf-8")
    return path


def test_metrics_need_the_key(registry: Path, tmp_path: Path) -> None:
    with running_app(registry, f"sqlite:///{tmp_path / 'a.db'}") as (client, _service):
        disabled = client.get("/metrics", headers=AUTH)
        assert disabled.status_code == 403 and disabled.json()["type"].endswith("metrics-disabled")
    with running_app(registry, f"sqlite:///{tmp_path / 'b.db'}", metrics_key=METRICS_KEY) as (client, _s):
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer " + "x" * 36}).status_code == 401
        assert client.get("/metrics", headers=AUTH).status_code == 200


def test_series_move_after_requests_and_no_label_names_a_subject(registry: Path, tmp_path: Path) -> None:
    with running_app(registry, f"sqlite:///{tmp_path / 'm.db'}", metrics_key=METRICS_KEY) as (client, _s):
        before = parse(client.get("/metrics", headers=AUTH).text)
        assert client.put("/api/v1/preferences/newsletter", json={"value": True}, headers=WRITE).status_code == 200
        assert client.patch(
            "/api/v1/preferences", json={"level": 4, "size": "m"}, headers=WRITE
        ).status_code == 200
        assert client.get("/api/v1/preferences/nope-not-a-key").status_code == 404
        client.get("/definitely/not/a/route/0f3a9c")
        subject = client.get("/api/v1/me/export").json()["subject"]
        after = parse(client.get("/metrics", headers=AUTH).text)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("prefkit_http_requests_total", family="preferences", method="PUT", status="2xx") == 1
    assert moved("prefkit_http_requests_total", family="preferences", method="PATCH", status="2xx") == 1
    assert moved("prefkit_http_requests_total", family="preferences", method="GET", status="4xx") == 1
    assert moved("prefkit_http_request_duration_seconds_count", family="preferences", method="PUT") == 1
    assert moved("prefkit_preference_changes_total", method="api") == 2
    assert moved("prefkit_ledger_events_total", method="api") == 3
    assert value(after, "prefkit_registry_active") == 1
    labels = label_values(after)
    assert subject not in labels and not any(subject in label for label in labels)
    assert not any("0f3a9c" in label or "nope-not-a-key" in label for label in labels)


def test_registry_rejections_are_counted(registry: Path, tmp_path: Path) -> None:
    from _live_server import ADMIN_KEY

    with running_app(
        registry, f"sqlite:///{tmp_path / 'r.db'}", metrics_key=METRICS_KEY, admin_key=ADMIN_KEY
    ) as (client, _s):
        refused = client.put(
            "/api/v1/admin/registry?format=toml", content=b"[shop]\nname = 1\n", headers={"X-Admin-Key": ADMIN_KEY}
        )
        assert refused.status_code == 422
        samples = parse(client.get("/metrics", headers=AUTH).text)
        assert value(samples, "prefkit_registry_rejections_total") == 1


def test_two_workers_report_the_sum_of_both(registry: Path, tmp_path: Path) -> None:
    server = LiveServer(
        registry, f"sqlite:///{tmp_path / 'w.db'}", args=("--workers", "2"), PREFKIT_METRICS_KEY=METRICS_KEY
    )
    with server:
        widget = RawWebSocket("127.0.0.1", server.port, "/_prefkit/ws/consent-toggle?key=newsletter")
        try:
            assert widget.status == 101
            writes = 8
            for _ in range(writes):  # a new connection each time: the workers share them
                with httpx.Client(base_url=server.url) as client:
                    response = client.put("/api/v1/preferences/newsletter", json={"value": True}, headers=WRITE)
                    assert response.status_code == 200

            def scrape() -> dict:
                with httpx.Client(base_url=server.url) as client:  # whichever worker takes it
                    return parse(client.get("/metrics", headers=AUTH).text)

            for _ in range(4):
                samples = scrape()
                assert value(samples, "prefkit_http_requests_total", family="preferences", method="PUT") == writes
                assert value(samples, "prefkit_preference_changes_total", method="api") == writes
                assert value(samples, "prefkit_widget_sessions") == 1
        finally:
            widget.close()
        wait_for(lambda: value(scrape(), "prefkit_widget_sessions") == 0, message="the widget session closed")
