"""``GET /api/v1/catalog`` through the real app: real SQLite, real identity cookie, real preference writes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from _bff_app import catalog, choose, running_app
from bff.catalog import sample_catalog
from bff.catalog.data import fold_text

DEMO_REGISTRY = Path(__file__).resolve().parents[1] / "examples" / "demo-shop.toml"


@pytest.fixture
def client(sqlite_url: str) -> Iterator[TestClient]:
    with running_app(DEMO_REGISTRY, sqlite_url) as (test_client, _service):
        yield test_client


def test_first_visit_gets_the_neutral_popularity_order(client: TestClient) -> None:
    body = catalog(client, locale="en")
    assert body["personalized"] is False and body["locale"] == "en"
    assert body["total"] == len(sample_catalog()) >= 200
    assert body["page"] == 1 and body["per_page"] == 24 and len(body["items"]) == 24
    popularity = [item["popularity"] for item in body["items"]]
    assert popularity == sorted(popularity, reverse=True)
    assert [item["position"] for item in body["items"]] == list(range(1, 25))
    for item in body["items"]:
        assert [reason["code"] for reason in item["reasons"]] == ["order.neutral"]
        assert item["reasons"][0]["text"] == "Neutral order: most popular first, not personalized"
    assert body["profile"]["personalized"] is False
    assert body["profile"]["notice"].startswith("Neutral order")


def test_answers_are_private_to_the_subject(client: TestClient) -> None:
    response = client.get("/api/v1/catalog")
    assert "no-store" in response.headers["cache-control"]
    assert "Cookie" in response.headers["vary"]


def test_eco_filter_with_recommendations_shows_only_eco_products_each_explained(client: TestClient) -> None:
    choose(client, recommendations=True, eco_only=["eco"])
    body = catalog(client, locale="en", per_page=100)
    expected_total = sum(1 for p in sample_catalog().by_id.values() if p.eco_certified)
    assert body["personalized"] is True and body["total"] == expected_total
    for item in body["items"]:
        assert item["eco_certified"] is True
        assert item["reasons"][0] == {"code": "filter.include", "effect": "shown", "preference": "eco_only",
                                      "params": {"options": ["eco"]},
                                      "text": "Shown because you chose “Eco products only”"}
    polish = catalog(client, locale="pl")
    assert polish["items"][0]["reasons"][0]["text"] == "Pokazujemy, bo wybrano „Tylko ekologiczne”"
    assert polish["profile"]["filters"][0] == {"key": "eco_only", "title": "Produkty ekologiczne", "rule": "include",
                                               "applied": True, "options": [{"key": "eco", "label": "Tylko ekologiczne"}]}


def test_the_price_sustainability_slider_changes_the_order(client: TestClient) -> None:
    choose(client, recommendations=True, personalization_level=2, price_vs_sustainability=0)
    cheap_first = catalog(client, per_page=10, locale="en")
    choose(client, price_vs_sustainability=10)
    green_first = catalog(client, per_page=10, locale="en")
    assert [i["id"] for i in cheap_first["items"]] != [i["id"] for i in green_first["items"]]
    assert (sum(i["price"] for i in cheap_first["items"]) < sum(i["price"] for i in green_first["items"]))
    assert (sum(i["eco_score"] for i in green_first["items"]) > sum(i["eco_score"] for i in cheap_first["items"]))
    assert any("lower price" in r["text"] for i in cheap_first["items"] for r in i["reasons"])
    assert any("more sustainable" in r["text"] for i in green_first["items"] for r in i["reasons"])


def test_level_off_and_gpc_give_the_neutral_order(client: TestClient) -> None:
    choose(client, recommendations=True, personalization_level=2, price_vs_sustainability=0)
    assert catalog(client)["personalized"] is True
    gpc = client.get("/api/v1/catalog", headers={"Sec-GPC": "1"}).json()
    assert gpc["personalized"] is False
    choose(client, personalization_level=0)
    body = catalog(client)
    assert body["personalized"] is False
    popularity = [item["popularity"] for item in body["items"]]
    assert popularity == sorted(popularity, reverse=True)


def test_choices_of_one_subject_never_reach_another(client: TestClient, sqlite_url: str) -> None:
    choose(client, recommendations=True, eco_only=["eco"])
    assert catalog(client)["total"] < len(sample_catalog())
    stranger = TestClient(client.app)
    with stranger:
        assert stranger.get("/api/v1/catalog").json()["total"] == len(sample_catalog())


def test_search_category_and_paging(client: TestClient) -> None:
    body = catalog(client, q="LINEN", locale="en", per_page=100)
    assert body["total"] > 0 and all("linen" in item["name"].lower() for item in body["items"])
    polish = catalog(client, q="lniana", locale="pl", per_page=100)  # diacritics-insensitive Polish search
    assert polish["total"] > 0 and all("lnian" in fold_text(item["name"]) for item in polish["items"])
    assert any("Lniana" in item["name"] or "lniana" in item["name"] for item in polish["items"])
    shoes = catalog(client, category="shoes", per_page=100, locale="pl")
    assert shoes["total"] > 0 and {item["category"] for item in shoes["items"]} == {"shoes"}
    assert {item["category_label"] for item in shoes["items"]} == {"Buty"}
    page2 = catalog(client, page=2, per_page=10)
    assert [item["position"] for item in page2["items"]] == list(range(11, 21))
    assert page2["pages"] == -(-page2["total"] // 10)
    beyond = catalog(client, page=1000, per_page=10)
    assert beyond["items"] == [] and beyond["total"] == len(sample_catalog())


@pytest.mark.parametrize(("params", "path"), [
    ({"page": 0}, "page"),
    ({"per_page": 1000}, "per_page"),
    ({"per_page": "many"}, "per_page"),
    ({"category": "cars"}, "category"),
    ({"q": "x" * 500}, "q"),
])
def test_bad_parameters_are_problem_details(client: TestClient, params: dict[str, Any], path: str) -> None:
    response = client.get("/api/v1/catalog", params=params)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == 400 and problem["type"].startswith("urn:prefkit:problem:")
    assert any(error["path"] == path for error in problem["errors"]), problem
    if path == "category":
        assert problem["errors"][0]["got"] == "cars" and "shoes" in problem["errors"][0]["expected"]


def test_product_endpoint_places_the_product_in_the_subjects_ranking(client: TestClient) -> None:
    choose(client, recommendations=True, eco_only=["eco"])
    eco = next(p for p in sample_catalog().index.items if p.eco_certified)
    plain = next(p for p in sample_catalog().index.items if not p.eco_certified)
    shown = client.get(f"/api/v1/catalog/products/{eco.id}", params={"locale": "en"}).json()
    assert shown["shown"] is True and shown["item"]["id"] == eco.id
    assert shown["item"]["reasons"][0]["text"] == "Shown because you chose “Eco products only”"
    hidden = client.get(f"/api/v1/catalog/products/{plain.id}").json()
    assert hidden["shown"] is False and hidden["item"] is None
    missing = client.get("/api/v1/catalog/products/nope")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")


def test_a_shops_own_catalog_and_ranking_engine_plug_in_through_the_catalog_plugin(sqlite_url: str) -> None:
    from _bff_app import make_settings

    from bff.app import create_app, default_plugins
    from bff.catalog import Catalog, CatalogPlugin, RankedItem, RankedPage, Reason, generate_products

    calls: list[bool] = []

    def cheapest_first(candidates: Any, profile: Any, *, offset: int, limit: int) -> RankedPage[Any]:
        calls.append(profile.personalized)
        items = sorted(candidates, key=lambda p: p.price)
        reason = Reason(code="order.neutral", effect="neutral")
        page = items[offset: offset + limit]
        return RankedPage(total=len(items), personalized=False, items=[
            RankedItem(item=p, position=offset + n + 1, score=-p.price, reasons=[reason]) for n, p in enumerate(page)])

    settings = make_settings(DEMO_REGISTRY, sqlite_url)
    shop_catalog = Catalog.from_products(generate_products(30, seed=7))

    def app_with(catalog_plugin: CatalogPlugin) -> Any:
        return create_app(settings, plugins=[catalog_plugin if isinstance(plugin, CatalogPlugin) else plugin
                                             for plugin in default_plugins(settings)])

    with TestClient(app_with(CatalogPlugin(catalog=shop_catalog, ranker=cheapest_first))) as shop:
        body = catalog(shop, per_page=30, locale="en")
        prices = [item["price"] for item in body["items"]]
        assert body["total"] == 30 and prices == sorted(prices) and calls
        assert body["items"][0]["reasons"][0]["text"] == "Neutral order: most popular first, not personalized"
        page = shop.get("/demo/", params={"locale": "en"}).text
        first_ids = [item["id"] for item in body["items"][:3]]
        assert all(f'data-product-id="{pid}"' in page for pid in first_ids)
    with TestClient(app_with(CatalogPlugin(catalog=shop_catalog))) as default_engine:
        assert [i["price"] for i in catalog(default_engine, per_page=30)["items"]] != prices
