"""Hypothesis strategies for VALID registry documents (plain JSON-able dicts), drawn from the schema.

Reusable by any test that wants "a registry the kit's authors did not write": the component property test
(tests/test_components_any_registry.py), and anything that serves or validates registries. Every document
drawn here passes ``load_registry(json.dumps(doc), "json")``; tests/test_components_any_registry.py checks
that, so a strategy that drifts from the validator fails loudly instead of being filtered silently.

What the space covers (the README's promises, see preference_registry/schema.py and validate.py):
sections declared, partly used, or only used and never declared; 1..3 locales with full, partial or plain
(default-locale) texts; every consent mechanism, GPC and expiry; sliders with integral and fractional steps,
negative ranges, large storable bounds, page steps and labelled stops; single- and multi-choice filters with
many options and defaults; ``requires`` chains (acyclic: only on consents declared earlier); long texts;
keys that look like the components' own id and key segments (``center``, ``section``, ``title``...).
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

__all__ = [
    "LOCALES",
    "keys",
    "localized_texts",
    "registry_documents",
    "stored_values",
]

LOCALES = ("pl", "en", "de", "uk", "pt-BR")

# Words the components use in element ids, reconciliation keys and data-part names: keys equal to them are
# where "unique per page" mistakes hide (e.g. a preference `center` whose title id is the center's).
_TRICKY_KEYS = (
    "center", "section", "title", "history", "your", "data", "banner", "status", "bulk", "other",
    "no_section", "options", "description", "label", "requires", "error", "stale", "gpc", "none", "a", "x1",
)

# Tricky words twice as likely as random keys: hypothesis draws few examples per test run here.
keys = st.one_of(
    st.sampled_from(_TRICKY_KEYS),
    st.sampled_from(_TRICKY_KEYS),
    st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True),
)
"""Preference, section, option and purpose keys (``KEY_PATTERN``, at most 64 characters)."""

_short_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=24
)
# "Long texts in both languages": up to the schema's 4,000 characters, built by repetition (drawing 4,000
# random characters per text would make every example slow).
_long_text = st.builds(lambda word, times: (word * times)[:4000], _short_text, st.integers(40, 400))
texts = st.one_of(_short_text, _short_text, _short_text, _long_text)


def localized_texts(locales: list[str]) -> st.SearchStrategy[Any]:
    """A plain string (the default locale's text) or a table with the default locale and any others."""
    default, others = locales[0], locales[1:]
    table = st.builds(
        lambda first, rest: {default: first, **rest},
        texts,
        st.fixed_dictionaries({}, optional={locale: texts for locale in others}),
    )
    return texts | table


def _localized_lists(locales: list[str]) -> st.SearchStrategy[Any]:
    items = st.lists(_short_text, min_size=1, max_size=4)
    return items | st.fixed_dictionaries(
        {locales[0]: items}, optional={locale: items for locale in locales[1:]}
    )


@st.composite
def _common(draw: st.DrawFn, key: str, locales: list[str], section: str | None) -> dict[str, Any]:
    fields: dict[str, Any] = {"key": key, "title": draw(localized_texts(locales))}
    if draw(st.booleans()):
        fields["description"] = draw(localized_texts(locales))
    if draw(st.booleans()):
        fields["data_used"] = draw(_localized_lists(locales))
    if draw(st.booleans()):
        fields["benefit"] = draw(localized_texts(locales))
    if section is not None:
        fields["section"] = section
    if draw(st.booleans()):
        fields["order"] = draw(st.integers(-5, 5))
    return fields


@st.composite
def _consent(draw: st.DrawFn, common: dict[str, Any], earlier_consents: list[str]) -> dict[str, Any]:
    mechanism = draw(st.sampled_from(["opt_in", "opt_out", "notice_only", None]))
    consent: dict[str, Any] = {**common, "kind": "consent", "purpose": draw(keys)}
    if mechanism is not None:
        consent["mechanism"] = mechanism
    switchable = mechanism != "notice_only"
    if switchable and draw(st.booleans()):
        consent["gpc"] = True
    if switchable and draw(st.booleans()):
        consent["expires_after_days"] = draw(st.integers(1, 3650))
    if draw(st.booleans()):
        consent["default"] = mechanism in ("opt_out", "notice_only")  # only restating it is valid
    if earlier_consents and draw(st.booleans()):
        consent["requires"] = draw(st.lists(st.sampled_from(earlier_consents), max_size=2, unique=True))
    return consent


def _number(value: Decimal, integral: bool) -> int | float:
    return int(value) if integral else float(value)


@st.composite
def _slider(
    draw: st.DrawFn, common: dict[str, Any], locales: list[str], consents: list[str]
) -> dict[str, Any]:
    # Built on an exact decimal grid, so every bound, default, page step and stop is on a step for the
    # validator's tolerance too. Fractional steps keep moderate magnitudes (a float cannot hold 10**12 to a
    # thousandth); integral steps reach large but storable bounds, negative ones included.
    integral = draw(st.booleans())
    if integral:
        step = Decimal(draw(st.sampled_from([1, 1, 2, 5, 10, 1000])))
        start = Decimal(draw(st.sampled_from([0, -10, -(10**6)]) | st.integers(-(10**12), 10**12)))
        count = draw(st.integers(1, 1000))
    else:
        steps = ["0.1", "0.25", "0.5", "0.05", "0.001", "2.5", "0.00001", "1E-7"]
        step = Decimal(draw(st.sampled_from(steps)))
        start = Decimal(draw(st.integers(-1000, 1000))) * step
        count = draw(st.integers(1, 400))
    minimum, maximum = start, start + count * step
    grid = st.integers(0, count).map(lambda n: start + n * step)
    slider: dict[str, Any] = {
        **common,
        "kind": "slider",
        "min": _number(minimum, integral),
        "max": _number(maximum, integral),
        "default": _number(draw(grid), integral),
    }
    if step != 1 or not integral or draw(st.booleans()):
        slider["step"] = _number(step, integral)
    if draw(st.booleans()):
        slider["page_step"] = _number(step * draw(st.integers(1, max(1, count))), integral)
    stops = draw(st.lists(grid, max_size=5, unique=True))
    if stops:
        slider["stops"] = [
            {"value": _number(value, integral), "label": draw(localized_texts(locales))} for value in stops
        ]
    effect = draw(st.sampled_from([None, "personalization", "balance", "weight", "discovery"]))
    if effect is not None:
        criterion = st.fixed_dictionaries(
            {"attribute": keys}, optional={"prefer": st.sampled_from(["lower", "higher"])}
        )
        applies: dict[str, Any] = {"rule": effect}
        if effect == "balance":
            applies |= {"low": draw(criterion), "high": draw(criterion)}
        elif effect == "weight":
            applies["high"] = draw(criterion)
        slider["applies_to"] = applies
    if consents and draw(st.booleans()):
        slider["requires"] = draw(st.lists(st.sampled_from(consents), min_size=1, max_size=2, unique=True))
    return slider


@st.composite
def _filter(
    draw: st.DrawFn, common: dict[str, Any], locales: list[str], consents: list[str]
) -> dict[str, Any]:
    option_keys = draw(
        st.lists(keys, min_size=1, max_size=draw(st.sampled_from([3, 8, 40])), unique=True)
    )
    options = []
    for option_key in option_keys:
        option: dict[str, Any] = {"key": option_key, "label": draw(localized_texts(locales))}
        if draw(st.integers(0, 4)) == 0:
            option["value"] = draw(st.integers(-5, 5) | _short_text | st.booleans())
        options.append(option)
    multiple = draw(st.booleans())
    flt: dict[str, Any] = {**common, "kind": "filter", "options": options}
    if multiple or draw(st.booleans()):
        flt["multiple"] = multiple
    if draw(st.booleans()):
        if multiple:
            flt["default"] = draw(st.lists(st.sampled_from(option_keys), max_size=3, unique=True))
        else:
            flt["default"] = draw(st.sampled_from(option_keys))
    if draw(st.booleans()):
        flt["applies_to"] = draw(
            st.fixed_dictionaries(
                {"attribute": keys},
                optional={
                    "rule": st.sampled_from(["include", "exclude", "prefer"]),
                    "weight": st.floats(0.5, 100),
                },
            )
        )
    if consents and draw(st.booleans()):
        flt["requires"] = draw(st.lists(st.sampled_from(consents), min_size=1, max_size=2, unique=True))
    return flt


@st.composite
def _priorities(
    draw: st.DrawFn, common: dict[str, Any], locales: list[str], consents: list[str]
) -> dict[str, Any]:
    criterion_keys = draw(st.lists(keys, min_size=2, max_size=draw(st.sampled_from([3, 6, 20])), unique=True))
    criteria = []
    for criterion_key in criterion_keys:
        criterion: dict[str, Any] = {"key": criterion_key, "attribute": draw(keys),
                                     "label": draw(localized_texts(locales))}
        if draw(st.booleans()):
            criterion["prefer"] = draw(st.sampled_from(["lower", "higher"]))
        if draw(st.booleans()):
            criterion["optional"] = draw(st.booleans())
        criteria.append(criterion)
    prio: dict[str, Any] = {**common, "kind": "priorities", "criteria": criteria}
    if draw(st.booleans()):
        # Every required criterion once, in any order, plus some of the optional ones.
        optional = {c["key"]: bool(c.get("optional")) for c in criteria}
        order = draw(st.permutations(criterion_keys))
        prio["default"] = [key for key in order if not optional[key] or draw(st.booleans())]
    if draw(st.booleans()):
        prio["weight"] = draw(st.floats(0.1, 100))
    if consents and draw(st.booleans()):
        prio["requires"] = draw(st.lists(st.sampled_from(consents), min_size=1, max_size=2, unique=True))
    return prio


@st.composite
def registry_documents(draw: st.DrawFn, max_types: int = 8) -> dict[str, Any]:
    """A valid registry document (a dict; ``json.dumps`` it for ``load_registry(..., "json")``)."""
    locales = draw(st.lists(st.sampled_from(LOCALES), min_size=1, max_size=3, unique=True))
    shop: dict[str, Any] = {"name": draw(_short_text), "default_locale": locales[0], "locales": locales}
    if draw(st.booleans()):
        shop["theme"] = draw(st.sampled_from(["default", "dark", "high-contrast"]))
    doc: dict[str, Any] = {"shop": shop}

    section_keys = draw(st.lists(keys, max_size=4, unique=True))
    declared = section_keys and draw(st.booleans())  # else: used, never declared (a warning, not an error)
    if declared:
        doc["sections"] = [
            {
                "key": key,
                "title": draw(localized_texts(locales)),
                **({"description": draw(localized_texts(locales))} if draw(st.booleans()) else {}),
                **({"order": draw(st.integers(-3, 3))} if draw(st.booleans()) else {}),
            }
            for key in section_keys
        ]
    section_choice = st.none() | st.sampled_from(section_keys) if section_keys else st.none()

    preferences: list[dict[str, Any]] = []
    consents: list[str] = []
    for key in draw(st.lists(keys, max_size=max_types, unique=True)):
        common = draw(_common(key, locales, draw(section_choice)))
        kind = draw(st.sampled_from(["consent", "slider", "filter", "priorities"]))
        if kind == "consent":
            preferences.append(draw(_consent(common, list(consents))))
            consents.append(key)
        elif kind == "slider":
            preferences.append(draw(_slider(common, locales, consents)))
        elif kind == "priorities":
            preferences.append(draw(_priorities(common, locales, consents)))
        else:
            preferences.append(draw(_filter(common, locales, consents)))
    if preferences or draw(st.booleans()):
        doc["preferences"] = preferences
    return doc


def _valid_value(pref: Any, rnd: random.Random) -> Any:
    """A value the registry accepts for ``pref`` (a ``preference_registry`` type)."""
    kind = pref.kind
    if kind == "consent":
        return rnd.random() < 0.5
    if kind == "slider":
        if pref.is_integral:
            return pref.min + rnd.randint(0, int((pref.max - pref.min) // pref.step)) * pref.step
        low, step = Decimal(str(pref.min)), Decimal(str(pref.step))
        count = round((Decimal(str(pref.max)) - low) / step)
        return float(low + rnd.randint(0, count) * step)
    if kind == "priorities":
        order = list(pref.criterion_keys)
        rnd.shuffle(order)
        return [key for key in order if key in pref.required_keys or rnd.random() < 0.5]
    option_keys = list(pref.option_keys)
    if pref.multiple:
        return [key for key in option_keys if rnd.random() < 0.3]
    return rnd.choice([None, *option_keys])


def stored_values(snapshot: Any, rnd: random.Random) -> dict[str, Any]:
    """Explicit choices for some types of ``snapshot`` (a ``RegistrySnapshot``), chosen by ``rnd`` (draw it
    with ``st.randoms()``: unlike ``st.data()``, it works with ``@example``)."""
    return {
        pref.key: _valid_value(pref, rnd)
        for pref in snapshot.preferences
        if getattr(pref, "switchable", True) and rnd.random() < 0.5
    }
