"""Ranking follows the shopper's priorities (rank-sum weights, explained) and the discovery slider reserves
positions for good products outside their preferences (issue 18): exact positions on a fixed catalog, hard
filters never violated, stable paging, no change at the slider's minimum."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bff.catalog import ATTRIBUTE_WORDS, ReasonTexts, rank_catalog
from bff.catalog.ranking import rank_page
from preference_registry import load_registry

try:
    from test_ranking import CATALOG, ids, product, profile_for
except ImportError:  # tests/ not on sys.path (e.g. --import-mode=importlib)
    from tests.test_ranking import CATALOG, ids, product, profile_for

REGISTRY = load_registry("""
[shop]
name = "S"

[[preferences]]
key = "what_matters"
kind = "priorities"
title = { pl = "Co jest ważne", en = "What matters" }
criteria = [
  { key = "price", attribute = "price", prefer = "lower", label = { pl = "Cena", en = "Price" } },
  { key = "eco", attribute = "eco_score", optional = true, label.pl = "Ekologia", label.en = "Sustainability" },
  { key = "rating", attribute = "rating", label = { pl = "Ocena", en = "Rating" } },
]

[[preferences]]
key = "discovery"
kind = "slider"
title = { pl = "Odkrywaj nowości", en = "Discover something new" }
min = 0
max = 2
default = 0
applies_to = { rule = "discovery" }

[[preferences]]
key = "only_bags"
kind = "filter"
title = { pl = "Tylko torby", en = "Bags only" }
multiple = true
options = [{ key = "bags", label = { pl = "Torby", en = "Bags" } }]
applies_to = { attribute = "category", rule = "include" }
""", "toml")

# Cheaper is better and popularity runs the other way: the personalized order is p1..p8, the neutral p8..p1.
LADDER = [product(f"p{n}", price=10 * n, popularity=100 * n, category="shoes" if n == 8 else "bags")
          for n in range(1, 9)]


def _ranked(choices: dict[str, Any], catalog: list[Any] = CATALOG, locale: str = "en") -> list[Any]:
    return rank_catalog(catalog, profile_for(REGISTRY, choices), locale=locale,
                        render=ReasonTexts(REGISTRY, ATTRIBUTE_WORDS).render)


def test_the_order_of_criteria_decides_the_ranking() -> None:
    # eco first: weights 1/2, 1/3, 1/6 (rank sums of three); price first swaps the first two weights.
    assert ids(_ranked({"what_matters": ["eco", "price", "rating"]})) == ["c", "e", "b", "a", "d", "f"]
    assert ids(_ranked({"what_matters": ["price", "eco", "rating"]})) == ["c", "e", "a", "b", "f", "d"]
    # Sustainability left out: it counts nothing, b (eco 90, price 400) falls to the end.
    assert ids(_ranked({"what_matters": ["price", "rating"]}))[-1] == "b"


def test_why_this_says_which_place_the_shopper_gave_the_criterion() -> None:
    [top, *_] = _ranked({"what_matters": ["eco", "price", "rating"]})
    assert top.explanation[0].startswith("Ranked higher: ")
    assert "because you put “Sustainability” first" in top.explanation[0]
    [top, *_] = _ranked({"what_matters": ["eco", "price", "rating"]}, locale="pl")
    assert "bo „Ekologia” jest u Ciebie na pierwszym miejscu" in top.explanation[0]
    codes = [r.code for r in top.reasons]
    assert codes[0] == "priority.better" and top.reasons[0].params["criterion"] == "eco"


def test_discovery_at_its_minimum_changes_nothing() -> None:
    choices = {"what_matters": ["price", "rating"]}
    plain = _ranked(choices, LADDER)
    assert ids(plain) == [f"p{n}" for n in range(1, 9)]
    assert ids(_ranked({**choices, "discovery": 0}, LADDER)) == ids(plain)
    assert all(r.code != "order.discovery" for entry in plain for r in entry.reasons)


def test_discovery_gives_every_fourth_position_to_the_most_popular_item_outside_the_preferences() -> None:
    result = _ranked({"what_matters": ["price", "rating"], "discovery": 2}, LADDER)
    # Outside the preferences: personal score below the median (p5..p8), taken most popular first.
    assert ids(result) == ["p1", "p2", "p3", "p8", "p4", "p5", "p6", "p7"]
    discovered = [entry.position for entry in result if entry.reasons[0].code == "order.discovery"]
    assert discovered == [4, 8]
    said = result[3].explanation[0]
    assert said == "Something different from your usual choices (“Discover something new”)"
    half = _ranked({"what_matters": ["price", "rating"], "discovery": 1}, LADDER)  # every 8th position
    assert [entry.position for entry in half if entry.reasons[0].code == "order.discovery"] == [8]


def test_discovery_never_goes_outside_the_hard_filters() -> None:
    result = _ranked({"what_matters": ["price", "rating"], "discovery": 2, "only_bags": ["bags"]}, LADDER)
    assert "p8" not in ids(result)  # the one pair of shoes, most popular and "different", stays hidden
    assert ids(result) == ["p1", "p2", "p3", "p7", "p4", "p5", "p6"]


@settings(max_examples=40, deadline=None)
@given(prices=st.lists(st.integers(1, 500), min_size=1, max_size=30),
       level=st.integers(0, 2), bags_only=st.booleans(), limit=st.integers(1, 7))
def test_pages_are_slices_of_one_order(prices: list[int], level: int, bags_only: bool, limit: int) -> None:
    catalog = [product(f"x{i}", price=price, popularity=(i * 37) % 101, category="bags" if i % 3 else "home")
               for i, price in enumerate(prices)]
    choices: dict[str, Any] = {"what_matters": ["price", "rating", "eco"], "discovery": level}
    if bags_only:
        choices["only_bags"] = ["bags"]
    profile = profile_for(REGISTRY, choices)
    whole = ids(rank_page(catalog, profile, locale="en").items)
    paged: list[str] = []
    for offset in range(0, len(catalog), limit):
        paged += ids(rank_page(catalog, profile, locale="en", offset=offset, limit=limit).items)
    assert paged == whole
    assert len(set(whole)) == len(whole)
    expected = {p.id for p in catalog if not bags_only or p.category == "bags"}
    assert set(whole) == expected  # every candidate once; nothing outside the hard filter


@pytest.mark.parametrize("order", [["price", "rating"], ["rating", "eco", "price"]])
def test_the_profile_hands_a_shop_engine_the_weights(order: list[str]) -> None:
    profile = profile_for(REGISTRY, {"what_matters": order})
    [entry] = profile.priorities
    assert [c.key for c in entry.criteria] == order
    n = len(order)
    rank_sums = [(n - i) / (n * (n + 1) / 2) for i in range(n)]
    assert [c.weight for c in entry.criteria] == pytest.approx(rank_sums)


def test_the_profile_summary_lists_the_order_in_the_shoppers_words() -> None:
    profile = profile_for(REGISTRY, {"what_matters": ["rating", "price"]})
    summary = ReasonTexts(REGISTRY, ATTRIBUTE_WORDS).summarize(profile, "pl")
    [entry] = summary.priorities
    assert (entry.title, entry.applied) == ("Co jest ważne", True)
    assert [o.label for o in entry.order] == ["Ocena", "Cena"]
