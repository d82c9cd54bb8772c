"""The sample catalog and its generator, loading a shop's own catalog, and candidate selection."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import msgspec
import pytest

from bff.catalog import Catalog, Product, generate_products, load_catalog, sample_catalog
from bff.catalog.data import CATEGORIES, CATEGORY_LABELS, SAMPLE_SIZE, fold_text
from preference_registry import FilterType, load_file

DEMO = load_file(str(Path(__file__).resolve().parents[1] / "examples" / "demo-shop.toml"))


def test_sample_catalog_is_big_varied_and_deterministic() -> None:
    catalog = sample_catalog()
    products = list(catalog.index.items)
    assert len(products) == SAMPLE_SIZE >= 200
    assert generate_products(SAMPLE_SIZE) == generate_products(SAMPLE_SIZE)
    assert generate_products(300)[:SAMPLE_SIZE] == generate_products(SAMPLE_SIZE), "product i depends on i only"
    assert set(Counter(p.category for p in products)) == set(CATEGORIES)
    assert {p.brand_size for p in products} == {"small", "large"}
    eco = sum(p.eco_certified for p in products)
    assert 0.2 * len(products) < eco < 0.8 * len(products)
    assert min(p.eco_score for p in products if p.eco_certified) > max(0, min(p.eco_score for p in products))
    assert all(p.price > 0 and 1 <= p.rating <= 5 and p.popularity > 0 for p in products)
    assert all(p.name["pl"] and p.name["en"] and p.name["pl"] != p.name["en"] for p in products)
    assert len({p.name["en"] + p.brand for p in products}) > 150, "names must not all repeat"


def test_catalog_attributes_match_the_demo_registry_filters() -> None:
    """Every option of every demo filter must select something, or the demo shows empty lists."""
    products = sample_catalog().index.items
    for pref in DEMO.preferences:
        if isinstance(pref, FilterType) and pref.applies_to is not None:
            for option in pref.options:
                matches = [p for p in products if getattr(p, pref.applies_to.attribute) == option.match_value]
                assert matches, (pref.key, option.key)
    assert set(CATEGORY_LABELS) == set(CATEGORIES)


def test_polish_names_agree_in_gender() -> None:
    names = {p.name["pl"] for p in generate_products(400)}
    assert not [n for n in names if n.startswith("Torba ") and ("lniany" in n or "czarne" in n)]
    assert any(n.startswith("Torba ") and n.split()[1].endswith("a") for n in names)
    assert any(n.startswith("Spodnie ") and n.split()[1].endswith("e") for n in names)


def test_load_catalog_validates_a_shops_file(tmp_path: Path) -> None:
    good = tmp_path / "catalog.json"
    good.write_bytes(msgspec.json.encode(generate_products(5)))
    assert [p.id for p in load_catalog(good).index.items] == [p.id for p in Catalog.from_products(
        generate_products(5)).index.items]
    bad = tmp_path / "bad.json"
    bad.write_text('[{"id": "x", "name": {"en": "X"}, "category": "cars", "brand": "B", "brand_size": "small",'
                   ' "eco_certified": false, "eco_score": 5, "price": 1.0, "rating": 4.0, "popularity": 1}]')
    with pytest.raises(msgspec.ValidationError, match=r"\$\[0\]\.category"):
        load_catalog(bad)
    products = generate_products(2)
    with pytest.raises(ValueError, match="duplicate product ids"):
        Catalog.from_products([products[0], products[0]])


def test_select_by_text_and_category_keeps_neutral_order() -> None:
    catalog = sample_catalog()
    assert catalog.select() is None
    found = catalog.select(query="Skorzana  CZARNA")
    assert found and all("skorzana" in fold_text(catalog.index.items[i].name["pl"]) for i in found)
    assert found == sorted(found)
    shoes = catalog.select(category="shoes", query="sandals")
    assert shoes and all(catalog.index.items[i].category == "shoes" for i in shoes)
    assert catalog.select(query="no-such-thing") == []
    assert fold_text("Łódź ŻÓŁW") == "lodz zolw"


def test_product_rejects_out_of_range_values() -> None:
    with pytest.raises(msgspec.ValidationError, match="eco_score"):
        msgspec.convert({"id": "a", "name": {"en": "A"}, "category": "home", "brand": "B", "brand_size": "small",
                         "eco_certified": True, "eco_score": 101, "price": 1.0, "rating": 1.0, "popularity": 1},
                        Product)
