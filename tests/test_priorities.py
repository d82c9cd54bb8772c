"""The ``priorities`` kind (issue 18): declaration checks with precise paths, value validation, defaults,
the OpenAPI schema of a value, wording, and the profile's rank-based weights."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bff.effective import EffectiveValue
from bff.kinds import rank_weights
from bff.profile import build_profile
from preference_registry import (
    RegistryLoadError,
    ValueValidationError,
    load_registry,
    text_hash,
    validate_value,
    value_json_schema,
)

CRITERIA = [
    {"key": "price", "attribute": "price", "prefer": "lower", "label": {"pl": "Cena", "en": "Price"}},
    {"key": "eco", "attribute": "eco_score", "label": {"pl": "Ekologia", "en": "Sustainability"},
     "optional": True},
    {"key": "rating", "attribute": "rating", "label": {"pl": "Ocena", "en": "Rating"}},
    {"key": "delivery", "attribute": "delivery_days", "prefer": "lower",
     "label": {"pl": "Dostawa", "en": "Delivery"}, "optional": True},
]


def _doc(**fields: Any) -> dict[str, Any]:
    pref = {"kind": "priorities", "key": "what_matters",
            "title": {"pl": "Co jest ważne", "en": "What matters"}, "criteria": CRITERIA, **fields}
    return {"shop": {"name": "S"}, "preferences": [pref]}


def _load(**fields: Any) -> Any:
    return load_registry(json.dumps(_doc(**fields)), "json")


def _errors(**fields: Any) -> list[tuple[str, str | None, str | None]]:
    with pytest.raises(RegistryLoadError) as exc:
        _load(**fields)
    return [(issue.path, issue.expected, issue.got) for issue in exc.value.errors]


def test_default_is_every_criterion_in_declaration_order() -> None:
    snapshot = _load()
    assert snapshot.default_value("what_matters") == ["price", "eco", "rating", "delivery"]
    assert _load(default=["rating", "price"]).default_value("what_matters") == ["rating", "price"]


def test_declaration_errors_name_the_exact_place() -> None:
    assert _errors(default=["price", "bogus", "rating", "price"]) == [
        ("preferences[0].default[1]", "price | eco | rating | delivery", "'bogus'"),
        ("preferences[0].default[3]", "each criterion at most once", "'price'"),
    ]
    [(path, expected, _got)] = _errors(default=["price", "eco"])
    assert (path, expected) == ("preferences[0].default", "every criterion without `optional = true`")
    duplicate = [*CRITERIA, {**CRITERIA[0], "label": "Again"}]
    assert _errors(criteria=duplicate) == [
        ("preferences[0].criteria[4].key", "unique criterion keys", "'price'")]
    paths = [path for path, _e, _g in _errors(criteria=[CRITERIA[0]])]
    assert paths == ["preferences[0].criteria"]  # at least two: an order of one is no choice
    paths = [path for path, _e, _g in _errors(criteria=[CRITERIA[0], {**CRITERIA[1], "prefer": "sideways"}])]
    assert paths == ["preferences[0].criteria[1].prefer"]
    paths = [path for path, _e, _g in _errors(weight=0)]
    assert paths == ["preferences[0].weight"]


def test_values_are_checked_item_by_item() -> None:
    pref = _load().get("what_matters")
    assert validate_value(pref, ["rating", "price"]) == ["rating", "price"]  # optional ones left out
    every = ["delivery", "rating", "eco", "price"]
    assert validate_value(pref, every) == every
    cases = {
        json.dumps("price"): ("value", "list of criterion keys"),
        json.dumps(["price", "nope", "rating"]): ("value[1]", "price | eco | rating | delivery"),
        json.dumps(["price", 3]): ("value[1]", "price | eco | rating | delivery"),
        json.dumps(["price", "rating", "price"]): ("value[2]", "each criterion at most once"),
        json.dumps(["eco", "price"]): ("value", "contains price, rating"),
        json.dumps(None): ("value", "list of criterion keys"),
    }
    for raw, (path, expected) in cases.items():
        with pytest.raises(ValueValidationError) as exc:
            validate_value(pref, json.loads(raw))
        assert (exc.value.path, exc.value.expected) == (path, expected), raw


def test_the_value_schema_states_what_validation_checks() -> None:
    pref = _load().get("what_matters")
    schema = value_json_schema(pref)
    assert schema["type"] == "array" and schema["uniqueItems"] is True
    assert sorted(schema["items"]["enum"]) == ["delivery", "eco", "price", "rating"]
    assert (schema["minItems"], schema["maxItems"]) == (2, 4)
    assert schema["allOf"] == [{"contains": {"const": "price"}}, {"contains": {"const": "rating"}}]


def test_criterion_labels_are_part_of_the_wording() -> None:
    before = _load()
    relabelled = [{**CRITERIA[0], "label": {"pl": "Cena", "en": "Lowest price"}}, *CRITERIA[1:]]
    after = load_registry(json.dumps(_doc(criteria=relabelled)), "json")
    assert text_hash(before.get("what_matters")) != text_hash(after.get("what_matters"))


def test_a_missing_translation_of_a_label_is_reported_at_the_label() -> None:
    criteria = [CRITERIA[0], {**CRITERIA[2], "label": {"pl": "Ocena"}}]
    snapshot = _load(criteria=criteria)
    assert any(issue.path == "preferences[0].criteria[1].label.en" for issue in snapshot.warnings)


@st.composite
def _values(draw: st.DrawFn) -> Any:
    keys = [c["key"] for c in CRITERIA]
    return draw(st.one_of(
        st.permutations(keys).flatmap(lambda p: st.integers(0, len(p)).map(lambda n: list(p[:n]))),
        st.lists(st.sampled_from([*keys, "other", 1, None, True]), max_size=6),
        st.none(), st.integers(), st.text(max_size=5),
    ))


@settings(max_examples=300, deadline=None)
@given(raw=_values())
def test_any_value_is_accepted_exactly_when_it_is_a_valid_order(raw: Any) -> None:
    pref = _load().get("what_matters")
    valid = (isinstance(raw, list) and all(isinstance(k, str) and pref.criterion(k) for k in raw)
             and len(set(raw)) == len(raw) and {"price", "rating"} <= set(raw))
    try:
        result = validate_value(pref, raw)
    except ValueValidationError as exc:
        assert not valid
        assert exc.path == "value" or exc.path.startswith("value[")
    else:
        assert valid and result == raw
        # What is stored reads back as the same order (JSON round trip, as the ledger stores it).
        assert msgspec.json.decode(msgspec.json.encode(result)) == raw


def test_rank_weights_are_rank_sums() -> None:
    assert rank_weights(4) == [0.4, 0.3, 0.2, 0.1]
    assert rank_weights(2, 3.0) == [2.0, 1.0]
    assert rank_weights(0) == []
    for n in range(1, 21):
        weights = rank_weights(n, 2.5)
        assert sum(weights) == pytest.approx(2.5)
        assert weights == sorted(weights, reverse=True)


def test_the_profile_carries_the_order_with_its_weights() -> None:
    snapshot = _load(weight=2.0)
    effective = {"what_matters": EffectiveValue(key="what_matters", kind="priorities",
                                                value=["rating", "price", "eco"], source="explicit",
                                                in_effect=True)}
    profile = build_profile(snapshot, effective)
    [entry] = profile.priorities
    assert entry.order == ["rating", "price", "eco"] and entry.left_out == ["delivery"]
    assert [(c.key, c.attribute, c.prefer, c.position) for c in entry.criteria] == [
        ("rating", "rating", "higher", 1), ("price", "price", "lower", 2), ("eco", "eco_score", "higher", 3)]
    assert [c.weight for c in entry.criteria] == pytest.approx([1.0, 2 / 3, 1 / 3])
    wire = msgspec.json.decode(msgspec.json.encode(profile))
    assert wire["priorities"][0]["criteria"][0] == {
        "key": "rating", "attribute": "rating", "prefer": "higher", "position": 1, "weight": 1.0}


def test_over_http_a_bad_order_is_a_precise_problem_and_a_good_one_is_stored_ledgered_and_profiled(
    tmp_path: Any, sqlite_url: str
) -> None:
    try:
        from _bff_app import WRITE, running_app, write_registry
    except ImportError:  # tests/ not on sys.path (e.g. --import-mode=importlib)
        from tests._bff_app import WRITE, running_app, write_registry
    path = write_registry(tmp_path, json.dumps(_doc()), name="registry.json")
    with running_app(path, sqlite_url) as (client, _service):
        url = "/api/v1/preferences/what_matters"
        refused = client.put(url, json={"value": ["price", "nope"]}, headers=WRITE)
        assert refused.status_code == 422
        [error] = refused.json()["errors"]
        assert (error["path"], error["got"]) == ("value[1]", '"nope"')
        missing = client.put(url, json={"value": ["eco", "price"]}, headers=WRITE)
        assert missing.status_code == 422
        assert missing.json()["errors"][0]["expected"] == "contains price, rating"
        assert client.get("/api/v1/consents/history").json()["events"] == []  # nothing half-written

        stored = client.put(url, json={"value": ["rating", "eco", "price"]}, headers=WRITE)
        assert stored.status_code == 200 and stored.json()["value"] == ["rating", "eco", "price"]
        [event] = client.get("/api/v1/consents/history").json()["events"]
        assert (event["key"], event["new_value"]) == ("what_matters", ["rating", "eco", "price"])
        profile = client.get("/api/v1/profile").json()
        assert [c["key"] for c in profile["priorities"][0]["criteria"]] == ["rating", "eco", "price"]
        assert profile["priorities"][0]["left_out"] == ["delivery"]
        schemas = client.get("/schema/openapi.json").json()["components"]["schemas"]
        schema = schemas["PreferenceValue.what_matters"]
        assert schema["uniqueItems"] is True and {"contains": {"const": "rating"}} in schema["allOf"]
        reset = client.delete(url, headers=WRITE)
        assert reset.status_code == 200 and reset.json()["value"] == ["price", "eco", "rating", "delivery"]
