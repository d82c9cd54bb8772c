"""Property tests: the loader never crashes, and value validation agrees with the declared constraints."""

from __future__ import annotations

import copy
import json
from typing import Any

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
