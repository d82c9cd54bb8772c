"""The ranking contract through a live app: a shop's own engine and items plugged in with ``CatalogPlugin``.

The engine is the example of docs/catalog.md, executed from the document itself, so the documentation cannot
drift from what works. Misconfigurations (an engine of the wrong shape, a catalog of the wrong type) must fail
when the app is built, with a message that says what was expected.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from _bff_app import catalog, choose, make_settings
from bff.app import create_app, default_plugins
from bff.catalog import (
    Catalog,
    CatalogConfigError,
    CatalogPlugin,
    RankedPage,
    RankerError,
    generate_products,
    rank_page,
)
from bff.catalog.query import CatalogQuery, catalog_of, run_query
from bff.profile import Profile, build_profile
from preference_registry import load_file

ROOT = Path(__file__).resolve().parents[1]
DEMO_REGISTRY = ROOT / "examples" / "demo-shop.toml"
DOC = ROOT / "docs" / "catalog.md"


def doc_example() -> dict[str, Any]:
    """The tested block of docs/catalog.md, executed as a module."""
    text = DOC.read_text(encoding="utf-8")
    match = re.search(r"<!-- tested: tests/test_ranker_contract.py -->\n```python\n(.*?)```", text, re.S)
    assert match, "docs/catalog.md lost its tested example"
    namespace: dict[str, Any] = {"__name__": "docs_catalog_example"}
    exec(compile(match.group(1), str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace


EXAMPLE = doc_example()
Item = EXAMPLE["Item"]
ITEMS = [  # listed most popular first: the neutral order
    Item(id="kettle", name="Kettle", price=149.0, popularity=900, eco_certified=False),
    Item(id="mug", name="Mug", price=29.0, popularity=700, eco_certified=True),
    Item(id="lamp", name="Lamp", price=249.0, popularity=500, eco_certified=True),
    Item(id="towel", name="Towel", price=49.0, popularity=300, eco_certified=False),
]


@pytest.fixture
def shop(tmp_path: Path, sqlite_url: str) -> Iterator[TestClient]:
    settings = make_settings(DEMO_REGISTRY, sqlite_url)
    with TestClient(EXAMPLE["create_shop_app"](settings, ITEMS)) as client:
        yield client


def test_the_documented_engine_decides_the_order_and_its_reasons_read_in_both_locales(shop: TestClient) -> None:
    neutral = catalog(shop, locale="en")
    assert neutral["personalized"] is False and neutral["total"] == 4
    assert [item["id"] for item in neutral["items"]] == ["kettle", "mug", "lamp", "towel"]
    assert {item["reasons"][0]["text"] for item in neutral["items"]} == {
        "Neutral order: most popular first, not personalized"}

    choose(shop, recommendations=True, personalization_level=2)
    english = catalog(shop, locale="en")
    assert english["personalized"] is True
    assert [item["id"] for item in english["items"]] == ["mug", "towel", "kettle", "lamp"]
    assert [item["position"] for item in english["items"]] == [1, 2, 3, 4]
    assert english["items"][0]["reasons"] == [{"code": "shop.cheap", "effect": "higher", "preference": None,
                                               "params": {"price": "29.00"}, "text": "Cheapest first: 29.00 PLN"}]
    polish = catalog(shop, locale="pl")
    assert [item["id"] for item in polish["items"]] == ["mug", "towel", "kettle", "lamp"]
    assert polish["items"][1]["reasons"][0]["text"] == "Najpierw najtańsze: 49.00 zł"

    second_page = catalog(shop, locale="en", page=2, per_page=3)
    assert [(item["id"], item["position"]) for item in second_page["items"]] == [("lamp", 4)]
    assert second_page["total"] == 4 and second_page["pages"] == 2


def test_the_shoppers_hard_filters_hold_in_the_shop_engine(shop: TestClient) -> None:
    choose(shop, recommendations=True, personalization_level=2, eco_only=["eco"])
    body = catalog(shop, locale="en")
    assert [item["id"] for item in body["items"]] == ["mug", "lamp"]
    assert body["profile"]["filters"][0]["key"] == "eco_only"


def test_items_are_shown_with_their_own_fields_not_the_demo_products(shop: TestClient) -> None:
    item = catalog(shop, locale="en")["items"][0]
    assert item == {"id": "kettle", "name": "Kettle", "price": 149.0, "popularity": 900, "eco_certified": False,
                    "position": 1, "score": item["score"], "reasons": item["reasons"]}
    product = shop.get("/api/v1/catalog/products/lamp", params={"locale": "pl"}).json()
    assert product["shown"] is True and product["item"]["name"] == "Lamp" and product["item"]["position"] == 3
    assert shop.get("/api/v1/catalog/products/nope").status_code == 404


def test_the_openapi_schema_documents_the_flat_items(shop: TestClient, tmp_path: Path, sqlite_url: str) -> None:
    schemas = shop.get("/schema/openapi.json").json()["components"]["schemas"]
    item = next(schema for name, schema in schemas.items() if name.endswith("CatalogItem"))
    assert "fields" not in item["properties"] and "fields" not in item.get("required", [])
    assert {"id", "position", "score", "reasons"} <= set(item["properties"])
    assert item["additionalProperties"] is True
    # The demo catalog's items document their fields (ProductView) as well.
    settings = make_settings(DEMO_REGISTRY, sqlite_url)
    with TestClient(create_app(settings)) as demo:
        schemas = demo.get("/schema/openapi.json").json()["components"]["schemas"]
        item = next(schema for name, schema in schemas.items() if name.endswith("CatalogItem"))
        assert {"name", "category_label", "price", "eco_certified"} <= set(item["properties"])


def test_the_demo_pages_and_listing_use_the_plugged_in_engine(tmp_path: Path, sqlite_url: str) -> None:
    settings = make_settings(DEMO_REGISTRY, sqlite_url)
    products = generate_products(30, seed=7)
    plugins = [CatalogPlugin(catalog=Catalog.from_products(products), ranker=EXAMPLE["CheapestFirst"]())
               if isinstance(plugin, CatalogPlugin) else plugin for plugin in default_plugins(settings)]
    with TestClient(create_app(settings, plugins=plugins)) as client:
        choose(client, recommendations=True, personalization_level=2)
        body = catalog(client, per_page=30, locale="en")
        prices = [item["price"] for item in body["items"]]
        assert body["total"] == 30 and prices == sorted(prices)
        page = client.get("/demo/", params={"locale": "en"}).text
        first = [item["id"] for item in body["items"][:3]]
        assert [pid for pid in re.findall(r'data-product-id="([^"]+)"', page)][:3] == first
        assert "Cheapest first: " in page


# --- misconfiguration fails at start-up --------------------------------------------------------------


def old_style_engine(index: Any, profile: Any, *, locale: str, render: Any, positions: Any = None,
                     offset: int = 0, limit: int | None = None) -> RankedPage[Any]:
    return RankedPage(total=0, personalized=False, items=[])


def no_paging(candidates: Any, profile: Profile) -> RankedPage[Any]:
    return RankedPage(total=0, personalized=False, items=[])


@pytest.mark.parametrize(("ranker", "says"), [
    (old_style_engine, "missing a required argument: 'locale'"),
    (no_paging, "unexpected keyword argument 'offset'"),
    (rank_page, "missing a required argument: 'locale'"),  # the engine of the old app.state contract
    ("fast", "not callable"),
])
def test_an_engine_that_is_not_a_ranker_fails_create_app(tmp_path: Path, sqlite_url: str, ranker: Any,
                                                         says: str) -> None:
    settings = make_settings(DEMO_REGISTRY, sqlite_url)
    with pytest.raises(RankerError) as raised:
        create_app(settings, plugins=[CatalogPlugin(ranker=ranker)])
    message = str(raised.value)
    assert message.startswith("CatalogPlugin(ranker=...): expected a Ranker")
    assert "ranker(candidates, profile, *, offset, limit) -> RankedPage" in message and says in message


@pytest.mark.parametrize("catalog_value", [generate_products(3), "products.json", {"p1": None}])
def test_a_catalog_of_the_wrong_type_fails_create_app(tmp_path: Path, sqlite_url: str, catalog_value: Any) -> None:
    settings = make_settings(DEMO_REGISTRY, sqlite_url)
    with pytest.raises(CatalogConfigError, match=r"CatalogPlugin\(catalog=\.\.\.\): expected a bff\.catalog\.Catalog "
                                                 r"\(Catalog\.from_items\(items\)"):
        create_app(settings, plugins=[CatalogPlugin(catalog=catalog_value)])


@pytest.mark.parametrize(("messages", "says"), [
    ({"en": {"shop.cheap": "Cheap {price"}}, "not a sentence template"),
    ({"en": {"shop.cheap": "Cheap {price:.2f}"}}, "no format specs"),
    ({"en": {"shop.cheap": "Cheap {item.__class__}"}}, "plain names"),
    ({"en": ["Cheap"]}, "expected a mapping of reason code"),
])
def test_an_engines_bad_sentences_fail_create_app(messages: Any, says: str) -> None:
    class Engine:
        def __call__(self, candidates: Any, profile: Any, *, offset: int, limit: int) -> RankedPage[Any]:
            return RankedPage(total=0, personalized=False, items=[])

    engine = Engine()
    engine.messages = messages  # type: ignore[attr-defined]
    with pytest.raises((TypeError, ValueError), match=re.escape(says)):
        CatalogPlugin(ranker=engine)


def test_a_bad_catalog_on_app_state_is_an_error_not_the_sample_catalog() -> None:
    with pytest.raises(CatalogConfigError, match="expected a bff.catalog.Catalog"):
        catalog_of({"prefkit_catalog": generate_products(3)})
    with pytest.raises(CatalogConfigError, match="no catalog"):
        catalog_of({})


def test_an_engine_returning_something_else_is_named_in_the_error() -> None:
    snapshot = load_file(str(DEMO_REGISTRY))
    profile = build_profile(snapshot, {})

    def sloppy(candidates: Any, profile: Any, *, offset: int, limit: int) -> Any:
        return list(candidates)[offset:offset + limit]

    with pytest.raises(RankerError, match=r"sloppy returned builtins\.list object, expected a RankedPage"):
        run_query(Catalog.from_items(ITEMS), snapshot, profile, CatalogQuery(), locale="en", ranker=sloppy)


def test_items_without_ids_or_with_prefkits_field_names_are_refused() -> None:
    with pytest.raises(ValueError, match="non-empty string id"):
        Catalog.from_items([{"name": "no id", "popularity": 1}])
    with pytest.raises(ValueError, match=r"\['score'\] clash"):
        Catalog.from_items([{"id": "a", "score": 5, "popularity": 1}])
    with pytest.raises(ValueError, match="duplicate"):
        Catalog.from_items([{"id": "a", "popularity": 1}, {"id": "a", "popularity": 2}])
