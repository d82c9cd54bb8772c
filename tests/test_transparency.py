"""The recommender transparency statement (issue 18, DSA Art. 27): generated from the live registry and the
ranking rules in Polish and English, served at ``GET /api/v1/transparency`` and on the demo page linked from
the listing, and changed by a registry edit without a restart."""

from __future__ import annotations

from pathlib import Path

try:
    from _bff_app import running_app, wait_for, write_registry
except ImportError:  # tests/ not on sys.path (e.g. --import-mode=importlib)
    from tests._bff_app import running_app, wait_for, write_registry

DEMO_REGISTRY = Path(__file__).resolve().parents[1] / "examples" / "demo-shop.toml"

PRIORITIES = """
[[preferences]]
key = "what_counts"
kind = "priorities"
section = "personalization"
title = { pl = "Co się liczy", en = "What counts" }
criteria = [
  { key = "price", attribute = "price", prefer = "lower", label = { pl = "Cena", en = "Price" } },
  { key = "eco", attribute = "eco_score", optional = true, label.pl = "Ekologia", label.en = "Sustainability" },
  { key = "rating", attribute = "rating", label = { pl = "Ocena", en = "Rating" } },
]

[[preferences]]
key = "explore"
kind = "slider"
section = "personalization"
title = { pl = "Odkrywaj", en = "Explore" }
min = 0
max = 4
default = 0
applies_to = { rule = "discovery" }
"""


def test_the_statement_names_every_signal_and_the_one_switch_for_the_neutral_order(
    tmp_path: Path, sqlite_url: str
) -> None:
    with running_app(DEMO_REGISTRY, sqlite_url) as (client, _service):
        response = client.get("/api/v1/transparency", params={"locale": "en"})
        assert response.status_code == 200
        assert "prefkit_sid" not in response.headers.get("set-cookie", "")  # public: about nobody
        body = response.json()
        assert body["title"] == "How we order products"
        by_key = {item["key"]: item for item in body["signals"]}
        assert by_key[None]["rule"] == "popularity"
        assert by_key["eco_only"]["text"].startswith("“Eco products”: when you choose options, only matching")
        assert "between lower price and more sustainable" in by_key["price_vs_sustainability"]["text"]
        assert "“Personalized recommendations”" in by_key["categories"]["text"]  # what it requires
        assert "marketing_email" not in by_key and "analytics" not in by_key  # no effect on the order
        assert body["neutral_action"] == {"key": "recommendations", "value": False,
                                          "label": "Switch off “Personalized recommendations”"}
        polish = client.get("/api/v1/transparency", headers={"Accept-Language": "pl"}).json()
        assert polish["title"] == "Jak układamy kolejność produktów"
        assert polish["neutral"].startswith("Kolejność neutralna, niezależna od czegokolwiek o Tobie: wyłącz "
                                            "„Spersonalizowane rekomendacje”")


def test_a_registry_edit_changes_the_statement_without_a_restart(tmp_path: Path, sqlite_url: str) -> None:
    path = write_registry(tmp_path, DEMO_REGISTRY.read_text(encoding="utf-8"), name="shop.toml")
    with running_app(path, sqlite_url, demo=True) as (client, _service):
        before = client.get("/api/v1/transparency?locale=en").json()
        assert {item["key"] for item in before["signals"]}.isdisjoint({"what_counts", "explore"})
        staged = tmp_path / "shop.toml.tmp"
        staged.write_text(path.read_text(encoding="utf-8") + PRIORITIES, encoding="utf-8")
        staged.replace(path)

        def keys() -> set[str | None]:
            return {item["key"] for item in client.get("/api/v1/transparency?locale=en").json()["signals"]}

        wait_for(lambda: {"what_counts", "explore"} <= keys(), message="the statement to follow the edit")
        signals = client.get("/api/v1/transparency?locale=en").json()["signals"]
        after = {item["key"]: item["text"] for item in signals}
        assert after["what_counts"].startswith("“What counts”: you put “Price”, “Sustainability”, "
                                               "“Rating” in order; the first counts most.")
        assert "rank-based weights: 3/6, 2/6, 1/6" in after["what_counts"]
        assert "up to one in 4" in after["explore"]
        assert "At its lowest it changes nothing" in after["explore"]
        # The demo's own order starts empty (every criterion optional): its weights are a full order's.
        assert "rank-based weights: 3/6, 2/6, 1/6" in after["what_matters"]

        page = client.get("/demo/transparency?locale=pl")
        assert page.status_code == 200
        assert "Jak układamy kolejność produktów" in page.text and "„Co się liczy”" in page.text
        # The one switch for the neutral order is on the page itself; the listing links the page.
        assert 'data-prefkit-widget="consent-toggle"' in page.text
        assert 'data-key="recommendations"' in page.text
        listing = client.get("/demo/?locale=en")
        assert 'href="/demo/transparency?locale=en"' in listing.text
        assert 'data-prefkit-widget="priorities"' in listing.text  # the listing's side panel
