"""Property tests: the loader never crashes, and value validation agrees with the declared constraints."""

from __future__ import annotations

import copy
import json
import math
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from preference_registry import RegistryLoadError, ValueValidationError, load_registry
from preference_registry.schema import SliderType

from test_registry_validation import BASE

json_scalars = st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False) | st.text(max_size=12)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=20)

FIELD_NAMES = ["key", "kind", "title", "min", "max", "step", "default", "options", "requires", "multiple",
               "mechanism", "purpose", "stops", "section", "gpc", "expires_after_days", "applies_to", "titel",
               "label", "value", "pl", "en"]


def _paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(doc, dict):
        for key, value in doc.items():
            found += _paths(value, prefix + (key,))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            found += _paths(value, prefix + (index,))
    return found


@st.composite
def mutated_documents(draw: st.DrawFn) -> Any:
    """The valid base document with a few places replaced, added or removed: near-misses a merchant makes."""
    doc = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(json_values)
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(FIELD_NAMES))] = draw(json_values)
        else:
            parent.append(draw(json_values))
    return doc


def _load_never_crashes(doc: Any) -> None:
    try:
        snapshot = load_registry(json.dumps(doc), "json", "fuzz.json")
    except RegistryLoadError as exc:
        assert exc.errors, "a rejected document must say why"
        for issue in exc.errors:
            assert issue.message and isinstance(issue.path, str)
    else:
        assert snapshot.version and len(snapshot.preferences) == len(doc.get("preferences", []))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_documents())
def test_near_miss_documents_load_or_fail_clearly(doc: Any) -> None:
    _load_never_crashes(doc)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_arbitrary_json_loads_or_fails_clearly(doc: Any) -> None:
    try:
        load_registry(json.dumps(doc), "json", "fuzz.json")
    except RegistryLoadError as exc:
        assert exc.errors


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), st.sampled_from(["toml", "yaml", "json"]))
def test_arbitrary_text_in_any_format_loads_or_fails_clearly(text: str, fmt: str) -> None:
    try:
        load_registry(text, fmt, "fuzz")  # type: ignore[arg-type]
    except RegistryLoadError as exc:
        assert exc.errors


@st.composite
def sliders(draw: st.DrawFn) -> SliderType:
    low = draw(st.integers(-50, 50))
    step = draw(st.integers(1, 5))
    count = draw(st.integers(1, 20))
    return SliderType(key="s", title="S", min=low, max=low + step * count, step=step, default=low)


@settings(max_examples=300, deadline=None)
@given(sliders(), st.integers(-200, 200) | st.floats(-200, 200, allow_nan=False) | st.booleans() | st.text(max_size=3))
def test_slider_values_are_accepted_exactly_when_in_range_and_on_step(slider: SliderType, value: Any) -> None:
    from preference_registry import validate_value

    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    should_accept = (numeric and slider.min <= value <= slider.max and float(value).is_integer()
                     and (int(value) - slider.min) % slider.step == 0)
    try:
        accepted = validate_value(slider, value)
    except ValueValidationError as exc:
        assert not should_accept, f"{value!r} rejected: {exc}"
        assert exc.key == "s" and exc.expected
    else:
        assert should_accept, f"{value!r} accepted"
        assert accepted == value and isinstance(accepted, int)


# -- float sliders: on a step exactly, in each number's shortest decimal form --------------------------
def _float_slider(step: float = 0.05, low: float = 0.0, high: float = 1.0) -> SliderType:
    return SliderType(key="f", title="F", min=low, max=high, step=step, default=low)


@pytest.mark.parametrize("value", [0.25, 0.3, 0.35, 0.7, 0.95, 0.0, 1.0, 0, 1, 0.05])
def test_a_float_slider_takes_each_step_as_written_and_stores_it_unchanged(value: float) -> None:
    from preference_registry import validate_value

    stored = validate_value(_float_slider(), value)
    assert stored == value and repr(stored) == repr(float(value))


@pytest.mark.parametrize("value", [
    0.25000000000000006,  # the float after 0.25: within float tolerance of a step, not on one
    0.30000000000000004,  # 0.1 + 0.2
    0.9500000000000001,
    2.9e-136,  # what schemathesis sent: within 1e-9 steps of 0
    5e-324,
    0.9999999999999999,
])
def test_a_float_slider_refuses_a_value_off_its_step_however_close(value: float) -> None:
    from preference_registry import validate_value

    with pytest.raises(ValueValidationError) as info:
        validate_value(_float_slider(), value)
    assert info.value.key == "f" and "not on a step" in info.value.message
    assert (info.value.expected, info.value.got) == ("0.0 + n * 0.05", repr(value))


@pytest.mark.parametrize("value", [10**400, -(10**400), 10**4000, 2**1024])
def test_an_integer_too_large_for_a_float_is_out_of_range_not_a_crash(value: int) -> None:
    from preference_registry import validate_value

    for pref in (_float_slider(), SliderType(key="i", title="I", min=0, max=10, default=0)):
        with pytest.raises(ValueValidationError) as info:  # was OverflowError (a 500 through the API)
            validate_value(pref, value)
        assert info.value.message == "value out of range"


_DECIMAL_STEPS = ["0.1", "0.05", "0.25", "0.3", "0.001", "2.5", "0.07", "1E-7", "0.3333"]


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(_DECIMAL_STEPS), st.integers(-10**6, 10**6), st.sampled_from(["0", "0.01", "0.003"]),
       st.integers(1, 10**4), st.data())
def test_every_decimal_step_is_accepted_and_its_float_neighbours_are_not(
    step: str, start_steps: int, offset: str, count: int, data: st.DataObject
) -> None:
    from preference_registry import validate_value

    low = Decimal(start_steps) * Decimal(step) + Decimal(offset)
    slider = _float_slider(float(step), float(low), float(low + count * Decimal(step)))
    on_step = float(low + data.draw(st.integers(0, count)) * Decimal(step))
    assert validate_value(slider, on_step) == on_step
    for neighbour in (math.nextafter(on_step, -math.inf), math.nextafter(on_step, math.inf)):
        if slider.min <= neighbour <= slider.max:
            with pytest.raises(ValueValidationError):
                validate_value(slider, neighbour)
