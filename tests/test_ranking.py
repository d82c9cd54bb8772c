"""The ranking function over a fixed small catalog: filters, sliders, neutral fallback, explanations.

Profiles are built the real way (registry -> stored decisions -> effective values -> profile), so these tests
also pin down how the registry declarations drive the ranking.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bff.catalog import ATTRIBUTE_WORDS, Product, RankingIndex, ReasonTexts, candidate_scales, rank, rank_catalog
from bff.catalog.ranking import NEUTRAL_WEIGHT, rank_page
from bff.effective import StoredDecision, resolve_effective
from bff.profile import Profile, build_profile
from preference_registry import RegistrySnapshot, load_file, load_registry

DEMO = load_file(str(Path(__file__).resolve().parents[1] / "examples" / "demo-shop.toml"))
NOW = datetime(2026, 3, 1, tzinfo=UTC)


def profile_for(snapshot: RegistrySnapshot, choices: dict[str, Any], *, gpc: bool = False) -> Profile:
    stored = {key: StoredDecision(value=value, decided_at=NOW, text_hash=snapshot.text_hash(key),
                                  registry_version=snapshot.version) for key, value in choices.items()}
    return build_profile(snapshot, resolve_effective(snapshot, stored, gpc=gpc, now=NOW), "subject-1")


def product(pid: str, *, category: str = "bags", brand_size: str = "large", eco: bool = False, eco_score: int = 50,
            price: float = 100.0, popularity: int = 100, rating: float = 4.0) -> Product:
    return Product(id=pid, name={"pl": f"Produkt {pid}", "en": f"Product {pid}"}, category=category,  # type: ignore[arg-type]
                   brand="Brand", brand_size=brand_size, eco_certified=eco, eco_score=eco_score,  # type: ignore[arg-type]
                   price=price, rating=rating, popularity=popularity)


# A fixed catalog whose neutral order is a, b, c, ... (popularity descending).
CATALOG = [
    product("a", category="shoes", eco=False, eco_score=20, price=90, popularity=900),
    product("b", category="bags", eco=True, eco_score=90, price=400, popularity=800, brand_size="small"),
    product("c", category="home", eco=True, eco_score=70, price=60, popularity=700),
    product("d", category="shoes", eco=False, eco_score=35, price=250, popularity=600, brand_size="small"),
    product("e", category="clothing", eco=True, eco_score=95, price=150, popularity=500, brand_size="small"),
    product("f", category="accessories", eco=False, eco_score=10, price=30, popularity=400),
]
NEUTRAL_ORDER = ["a", "b", "c", "d", "e", "f"]

WITH_RECOMMENDATIONS = {"recommendations": True}


def ids(ranked: list[Any]) -> list[str]:
    return [entry.item["id"] if isinstance(entry.item, dict) else entry.item.id for entry in ranked]


def ranked(choices: dict[str, Any], *, catalog: list[Product] = CATALOG, snapshot: RegistrySnapshot = DEMO,
           locale: str = "en") -> list[Any]:
    return rank_catalog(catalog, profile_for(snapshot, choices), locale=locale,
                        render=ReasonTexts(snapshot, ATTRIBUTE_WORDS).render)


# --- filters -------------------------------------------------------------------------------------------


def test_include_filter_keeps_only_matching_items_and_says_so() -> None:
    result = ranked({**WITH_RECOMMENDATIONS, "eco_only": ["eco"]})
    assert sorted(ids(result)) == ["b", "c", "e"]
    for entry in result:
        assert entry.reasons[0].code == "filter.include"
        assert entry.reasons[0].preference == "eco_only"
        assert entry.reasons[0].params == {"options": ["eco"]}
        assert entry.explanation[0] == "Shown because you chose “Eco products only”"


def test_prefer_filter_hides_nothing_and_lifts_matches_by_the_registry_weight() -> None:
    result = ranked({**WITH_RECOMMENDATIONS, "personalization_level": 2, "small_brands": ["small"]})
    assert sorted(ids(result)) == sorted(NEUTRAL_ORDER)
    # weight 2.0 (registry) outweighs popularity (0.25) and the balanced price/eco slider (at most 1.0)
    assert set(ids(result)[:3]) == {"b", "d", "e"}
    small = next(entry for entry in result if entry.item.id == "d")
    assert any(r.code == "filter.prefer" and r.params == {"options": ["small"]} for r in small.reasons)
    assert "Ranked higher: matches your choice “Prefer small brands” (“Small brands”)" in small.explanation


def test_prefer_filter_names_the_option_the_item_matched() -> None:
    result = ranked({**WITH_RECOMMENDATIONS, "categories": ["home", "shoes"]})
    by_id = {entry.item.id: entry for entry in result}
    assert [r.params for r in by_id["c"].reasons if r.code == "filter.prefer"] == [{"options": ["home"]}]
    assert [r.params for r in by_id["a"].reasons if r.code == "filter.prefer"] == [{"options": ["shoes"]}]
    assert not [r for r in by_id["b"].reasons if r.code == "filter.prefer"]


GENERIC_REGISTRY = load_registry("""
[shop]
name = "Other shop"
default_locale = "en"
locales = ["en", "pl"]

[[preferences]]
key = "no_giants"
kind = "filter"
multiple = true
applies_to = { attribute = "brand_size", rule = "exclude" }
title = { en = "Hide big chains", pl = "Ukryj sieciówki" }
options = [{ key = "large", label = { en = "Big chains", pl = "Sieciówki" } }]

[[preferences]]
key = "only"
kind = "filter"
multiple = true
applies_to = { attribute = "category", rule = "include" }
title = "Departments"
options = [{ key = "shoes", label = "Shoes" }, { key = "bags", label = "Bags" }, { key = "home", label = "Home" }]

[[preferences]]
key = "quality_focus"
kind = "slider"
min = 0
max = 4
default = 0
applies_to = { rule = "weight", high = { attribute = "rating", prefer = "higher" } }
title = { en = "Quality focus", pl = "Nacisk na jakość" }
""", "toml", "generic.toml")


def test_exclude_and_include_filters_come_from_the_registry_not_from_key_names() -> None:
    result = ranked({"no_giants": ["large"]}, snapshot=GENERIC_REGISTRY)
    assert ids(result) == ["b", "d", "e"]
    result = ranked({"no_giants": ["large"], "only": ["shoes", "bags"]}, snapshot=GENERIC_REGISTRY)
    assert ids(result) == ["b", "d"], "several include/exclude filters must all hold"
    # A registry without a recommendations consent or personalization slider is always personalized.
    shoes = ranked({"only": ["shoes"]}, snapshot=GENERIC_REGISTRY)
    assert [entry.explanation[0] for entry in shoes] == ["Shown because you chose “Shoes”"] * 2


def test_weight_slider_scales_its_criterion() -> None:
    catalog = [product("pop", rating=3.0, popularity=1000), product("best", rating=5.0, popularity=10)]
    assert ids(ranked({"quality_focus": 0}, catalog=catalog, snapshot=GENERIC_REGISTRY)) == ["pop", "best"]
    assert ids(ranked({"quality_focus": 4}, catalog=catalog, snapshot=GENERIC_REGISTRY)) == ["best", "pop"]
    best = ranked({"quality_focus": 4}, catalog=catalog, snapshot=GENERIC_REGISTRY, locale="pl")[0]
    assert "Wyżej na liście: lepiej oceniany (Twoje ustawienie „Nacisk na jakość”)" in best.explanation


def test_items_missing_the_filtered_attribute_are_not_included_and_not_excluded() -> None:
    items = [{"id": "x", "popularity": 5, "category": "shoes"}, {"id": "y", "popularity": 9}]
    assert ids(ranked({"only": ["shoes"]}, catalog=items, snapshot=GENERIC_REGISTRY)) == ["x"]  # type: ignore[arg-type]
    assert ids(ranked({"no_giants": ["large"]}, catalog=items, snapshot=GENERIC_REGISTRY)) == ["y", "x"]  # type: ignore[arg-type]


# --- sliders -------------------------------------------------------------------------------------------


def full(price_vs_sustainability: int, **more: Any) -> dict[str, Any]:
    return {**WITH_RECOMMENDATIONS, "personalization_level": 2, "price_vs_sustainability": price_vs_sustainability,
            **more}


def test_balance_slider_changes_the_order_between_price_and_sustainability() -> None:
    # score = 0.25 * popularity + price or eco score (min-max over the six items); e.g. at "price only"
    # a = 0.25 * 1.0 + (400 - 90) / 370 = 1.088 beats f = 0.25 * 0.0 + 1.0 (cheapest, least popular).
    assert ids(ranked(full(0))) == ["a", "c", "f", "e", "d", "b"]
    assert ids(ranked(full(10))) == ["b", "e", "c", "d", "a", "f"]
    assert ids(ranked(full(5))) == ["c", "e", "a", "b", "f", "d"]


def test_slider_reasons_use_the_registry_title_and_catalog_words_in_both_locales() -> None:
    cheapest = next(entry for entry in ranked(full(0)) if entry.item.id == "f")
    assert "Ranked higher: lower price (your setting “Price or sustainability”)" in cheapest.explanation
    dearest = ranked(full(0))[-1]
    assert "Ranked lower: higher price (your setting “Price or sustainability”)" in dearest.explanation
    greenest = next(entry for entry in ranked(full(10), locale="pl") if entry.item.id == "e")
    assert "Wyżej na liście: bardziej ekologiczny (Twoje ustawienie „Cena czy ekologia”)" in greenest.explanation
    cheapest_pl = next(entry for entry in ranked(full(0), locale="pl") if entry.item.id == "f")
    assert "Wyżej na liście: niższa cena (Twoje ustawienie „Cena czy ekologia”)" in cheapest_pl.explanation


def test_personalization_level_scales_personal_signals() -> None:
    profile_full = profile_for(DEMO, full(0))
    profile_limited = profile_for(DEMO, {**full(0), "personalization_level": 1})
    f = CATALOG[-1]  # cheapest, least popular: its score is all personal signal
    scales = candidate_scales(CATALOG, profile_full)
    assert rank(f, profile_full, scales=scales).score == pytest.approx(1.0)
    assert rank(f, profile_limited, scales=scales).score == pytest.approx(0.5)


prices = st.floats(min_value=1, max_value=10_000, allow_nan=False, allow_infinity=False)
others = st.lists(st.builds(
    lambda pid, price, eco, score, pop, small, cat: product(
        f"o{pid}", price=price, eco=eco, eco_score=score, popularity=pop, brand_size="small" if small else "large",
        category=cat),
    st.integers(0, 10_000), prices, st.booleans(), st.integers(0, 100), st.integers(0, 10_000), st.booleans(),
    st.sampled_from(["shoes", "bags", "clothing", "accessories", "home"])), max_size=12, unique_by=lambda p: p.id)


@settings(max_examples=200, deadline=None)
@given(others=others, cheap=prices, extra=st.floats(min_value=0.01, max_value=5_000), slider=st.integers(0, 9),
       level=st.integers(1, 2), eco=st.booleans(), score=st.integers(0, 100), pop=st.integers(0, 10_000),
       small=st.sampled_from([[], ["small"]]), cats=st.sampled_from([[], ["shoes"], ["bags", "home"]]),
       cheaper_listed_first=st.booleans())
def test_price_weight_never_ranks_a_dearer_otherwise_equal_item_above_a_cheaper_one(
        others: list[Product], cheap: float, extra: float, slider: int, level: int, eco: bool, score: int, pop: int,
        small: list[str], cats: list[str], cheaper_listed_first: bool) -> None:
    twins = [product("cheaper", price=cheap, eco=eco, eco_score=score, popularity=pop),
             product("dearer", price=cheap + extra, eco=eco, eco_score=score, popularity=pop)]
    catalog = others + (twins if cheaper_listed_first else twins[::-1])  # catalog order must not decide
    choices = {**WITH_RECOMMENDATIONS, "personalization_level": level, "price_vs_sustainability": slider,
               "small_brands": small, "categories": cats}
    order = ids(ranked(choices, catalog=catalog))
    assert order.index("cheaper") < order.index("dearer")


@settings(max_examples=100, deadline=None)
@given(others=others, slider_low=st.integers(0, 10), slider_high=st.integers(0, 10))
def test_moving_the_slider_towards_price_never_lowers_the_cheapest_of_equals(
        others: list[Product], slider_low: int, slider_high: int) -> None:
    low, high = sorted((slider_low, slider_high))  # low = more weight on price
    twins = [product(f"t{i}", price=10.0 * (i + 1), eco_score=50, popularity=100) for i in range(3)]
    catalog = others + twins[::-1]
    at_low = ids(ranked(full(low), catalog=catalog))
    at_high = ids(ranked(full(high), catalog=catalog))
    if at_high.index("t0") < at_high.index("t2"):
        assert at_low.index("t0") < at_low.index("t2")
    if low < 10:
        assert at_low.index("t0") < at_low.index("t1") < at_low.index("t2")


@settings(max_examples=100, deadline=None)
@given(others=others, slider=st.integers(0, 10), small=st.sampled_from([[], ["small"]]),
       eco=st.sampled_from([[], ["eco"]]), cats=st.sampled_from([[], ["shoes", "home"]]))
def test_rank_of_one_item_with_candidate_scales_agrees_with_rank_catalog(
        others: list[Product], slider: int, small: list[str], eco: list[str], cats: list[str]) -> None:
    catalog = CATALOG + others
    profile = profile_for(DEMO, full(slider, small_brands=small, eco_only=eco, categories=cats))
    scales = candidate_scales(catalog, profile)
    whole = {entry.item.id: entry for entry in rank_catalog(catalog, profile, locale="en")}
    for item in catalog:
        decision = rank(item, profile, scales=scales)
        assert decision.kept == (item.id in whole)
        if decision.kept:
            assert decision.score == pytest.approx(whole[item.id].score)
            assert decision.reasons == whole[item.id].reasons


# --- neutral fallback ----------------------------------------------------------------------------------


@pytest.mark.parametrize("choices", [
    pytest.param({"price_vs_sustainability": 0, "small_brands": ["small"]}, id="no-recommendations-consent"),
    pytest.param({"recommendations": False, "price_vs_sustainability": 0}, id="consent-withdrawn"),
    pytest.param(full(0, small_brands=["small"], categories=["home"], personalization_level=0), id="level-off"),
])
def test_without_consent_or_with_level_off_the_order_is_neutral_popularity(choices: dict[str, Any]) -> None:
    result = ranked(choices)
    assert ids(result) == NEUTRAL_ORDER
    for entry in result:
        assert [r.code for r in entry.reasons] == ["order.neutral"]
        assert entry.explanation == ["Neutral order: most popular first, not personalized"]
    assert ranked(choices, locale="pl")[0].explanation == [
        "Kolejność neutralna: najpierw najpopularniejsze, bez personalizacji"]
    assert [entry.score for entry in result] == sorted((entry.score for entry in result), reverse=True)


def test_gpc_signal_withdraws_recommendations_and_gives_the_neutral_order() -> None:
    choices = full(0, small_brands=["small"])
    assert ids(ranked(choices)) != NEUTRAL_ORDER
    profile = profile_for(DEMO, {key: value for key, value in choices.items() if key != "recommendations"}, gpc=True)
    assert ids(rank_catalog(CATALOG, profile, locale="en")) == NEUTRAL_ORDER


def test_neutral_order_still_applies_the_hard_filters_the_shopper_set() -> None:
    result = ranked({"eco_only": ["eco"], "price_vs_sustainability": 0})  # no recommendations consent
    assert ids(result) == ["b", "c", "e"]  # eco only, in popularity order
    assert [r.code for r in result[0].reasons] == ["filter.include", "order.neutral"]


def test_neutral_ties_keep_catalog_order_and_results_are_deterministic() -> None:
    catalog = [product(pid, popularity=50) for pid in ("z", "y", "x")]
    assert ids(ranked({}, catalog=catalog)) == ["z", "y", "x"]
    profile = profile_for(DEMO, full(3, small_brands=["small"]))
    first = rank_catalog(CATALOG, profile, locale="pl")
    assert first == rank_catalog(list(CATALOG), profile, locale="pl")


# --- explanations and paging ---------------------------------------------------------------------------


def test_every_personalized_item_is_explained_in_both_locales() -> None:
    for locale in ("en", "pl"):
        for entry in ranked(full(5, categories=["bags"]), locale=locale):
            assert entry.explanation, entry.item.id
            assert all(text.strip() for text in entry.explanation)
    middle = [e for e in ranked(full(5)) if e.reasons and e.reasons[-1].code == "order.default"]
    for entry in middle:
        assert entry.explanation[-1] == "Placed mainly by popularity: no strong match with your choices"


def test_texts_without_a_registry_fall_back_to_keys() -> None:
    profile = profile_for(DEMO, {"eco_only": ["eco"]})
    entry = rank_catalog(CATALOG, profile, locale="en")[0]
    assert entry.explanation[0] == "Shown because you chose “eco”"


def test_rank_page_returns_the_requested_slice_with_whole_list_positions() -> None:
    profile = profile_for(DEMO, full(0))
    index = RankingIndex(CATALOG)
    whole = rank_catalog(index, profile, locale="en")
    page = rank_page(index, profile, locale="en", offset=2, limit=3)
    assert page.total == 6 and page.personalized
    assert [(e.item.id, e.position) for e in page.items] == [(e.item.id, e.position) for e in whole[2:5]]
    assert rank_page(index, profile, locale="en", offset=10, limit=3).items == []


def test_neutral_score_is_popularity_only() -> None:
    result = ranked({})
    assert result[0].score == pytest.approx(NEUTRAL_WEIGHT)
    assert result[-1].score == pytest.approx(0.0)


@settings(max_examples=50, deadline=None)
@given(others=others, first=st.integers(0, 10), second=st.integers(0, 10),
       small=st.sampled_from([[], ["small"]]), cats=st.sampled_from([[], ["bags"], ["shoes", "home"]]),
       eco_before=st.sampled_from([[], ["eco"]]), eco=st.sampled_from([[], ["eco"]]))
def test_a_shared_index_answers_like_a_fresh_one_whatever_was_asked_before(
        others: list[Product], first: int, second: int, small: list[str], cats: list[str], eco_before: list[str],
        eco: list[str]) -> None:
    """The index caches candidate sets and columns; a later profile must never see an earlier one's data."""
    catalog = CATALOG + others
    shared = RankingIndex(catalog)
    earlier = profile_for(DEMO, full(first, small_brands=["small"], categories=["home"], eco_only=eco_before))
    later = profile_for(DEMO, full(second, small_brands=small, categories=cats, eco_only=eco))
    rank_catalog(shared, earlier, locale="en")
    reused = rank_catalog(shared, later, locale="en")
    fresh = rank_catalog(RankingIndex(catalog), later, locale="en")
    assert [(e.item.id, e.score, e.reasons) for e in reused] == [(e.item.id, e.score, e.reasons) for e in fresh]


@settings(max_examples=30, deadline=None)
@given(slider=st.integers(0, 10), eco=st.sampled_from([[], ["eco"]]),
       queries=st.lists(st.sampled_from(["linen", "wool bag", "czarn", "skorzana", "zzz"]), min_size=1, max_size=4),
       category=st.sampled_from([None, "bags", "shoes"]))
def test_cached_search_candidate_sets_rank_like_uncached_ones(slider: int, eco: list[str], queries: list[str],
                                                              category: str | None) -> None:
    from bff.catalog import Catalog, generate_products

    catalog = Catalog.from_products(generate_products(300, seed=3))
    profile = profile_for(DEMO, full(slider, eco_only=eco, small_brands=["small"]))
    for query in queries:  # several searches in a row share the index's caches
        positions = catalog.select(query=query, category=category)
        key = catalog.selection_key(query=query, category=category)
        cached = rank_page(catalog.index, profile, locale="en", positions=positions, candidates_key=key, limit=50)
        plain = rank_page(RankingIndex(list(catalog.index.items)), profile, locale="en",
                          positions=None if positions is None else list(positions), limit=50)
        assert cached.total == plain.total
        assert [(e.item.id, e.reasons) for e in cached.items] == [(e.item.id, e.reasons) for e in plain.items]
        assert [e.score for e in cached.items] == pytest.approx([e.score for e in plain.items])
