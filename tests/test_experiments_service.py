"""A running experiment through the real app (SQLite file, HTTP): each shopper's decision is recorded under
the wording of their arm, and their history, export and receipts show that arm's text; a default varied by
an arm is the default that shopper gets; the insights count each arm from the ledger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _bff_app import ADMIN_KEY, SHOP_SECRET, running_app, write_registry

from bff.identity import issue_customer_token
from preference_registry import load_registry
from preference_registry.experiments import assign

NOW = datetime.now(UTC)
START = (NOW - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
END = (NOW + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")

REGISTRY = f"""
[shop]
name = "Shop"
default_locale = "en"
locales = ["en"]

[[preferences]]
kind = "consent"
key = "personalization"
purpose = "recommendations"
title = "Personal recommendations"
description = "We suggest products from what you viewed."

[[preferences]]
kind = "slider"
key = "price_focus"
title = "Price focus"
min = 0
max = 1
step = 0.25
default = 0.5

[[experiments]]
key = "recs_wording"
preference = "personalization"
start = {START}
end = {END}
sample_size = 1000
outcome = "grant"
variants = [
  {{ key = "control" }},
  {{ key = "benefit", title = "Products picked for you", description = "Fewer pages to scroll: we rank what fits you first." }},
]

[[experiments]]
key = "price_default"
preference = "price_focus"
start = {START}
end = {END}
sample_size = 1000
outcome = "engagement"
variants = [{{ key = "control" }}, {{ key = "cheaper", default = 0.75 }}]
"""


def customers_in_each_arm(experiment_key: str) -> dict[str, str]:
    """A customer id per arm (allocation is a pure function: found by trying ids in order)."""
    experiment = next(
        e for e in load_registry(REGISTRY, "toml").document.experiments if e.key == experiment_key
    )
    found: dict[str, str] = {}
    for n in range(1000):
        found.setdefault(assign(experiment, f"cust:x{n}").key, f"x{n}")
        if len(found) == len(experiment.variants):
            return found
    raise AssertionError("no customer found for every arm")


def bearer(customer: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + issue_customer_token(customer, SHOP_SECRET, 3600)}


def test_each_shopper_decides_under_their_arm_and_their_proof_shows_that_wording(
    tmp_path: Path, sqlite_url: str
) -> None:
    arms = customers_in_each_arm("recs_wording")
    registry = write_registry(tmp_path, REGISTRY)
    with running_app(registry, sqlite_url) as (client, service):
        exports: dict[str, Any] = {}
        histories: dict[str, Any] = {}
        for arm, customer in arms.items():
            response = client.put(
                "/api/v1/preferences/personalization", json={"value": True}, headers=bearer(customer)
            )
            assert response.status_code == 200, response.text
            assert response.json()["stale"] is False  # decided under the wording it was shown
            histories[arm] = client.get("/api/v1/consents/history", headers=bearer(customer)).json()
            exports[arm] = client.get("/api/v1/me/export", headers=bearer(customer)).json()
        snapshot = service.registry.current
        answer = client.get("/api/v1/admin/insights", headers={"X-Admin-Key": ADMIN_KEY}).json()

    shown = {"control": "Personal recommendations", "benefit": "Products picked for you"}
    for arm, title in shown.items():
        view = snapshot.for_subject(f"cust:{arms[arm]}", datetime.now(UTC))
        event = histories[arm]["events"][0]
        assert event["title"] == title
        assert event["text_hash"] == view.text_hash("personalization")
        exported = [e for e in exports[arm]["history"] if e["key"] == "personalization"][0]
        assert exported["wording"]["texts"]["en"]["title"] == title
        assert exported["wording"]["text_hash_verified"] is True
    assert histories["control"] != histories["benefit"]
    result = next(r for r in answer["experiments"] if r["key"] == "recs_wording")
    assert result["sample_size_reached"] is False and "no verdict" in result["verdict"]
    assert [arm["variant"] for arm in result["arms"]] == ["control", "benefit"]
    assert all(arm["outcome"]["trials"] is None for arm in result["arms"])  # 1 subject per arm: under k


def test_a_varied_default_is_the_default_that_shopper_gets(tmp_path: Path, sqlite_url: str) -> None:
    arms = customers_in_each_arm("price_default")
    registry = write_registry(tmp_path, REGISTRY)
    with running_app(registry, sqlite_url) as (client, _service):
        values = {
            arm: client.get("/api/v1/preferences/price_focus", headers=bearer(customer)).json()["value"]
            for arm, customer in arms.items()
        }
    assert values == {"control": 0.5, "cheaper": 0.75}
