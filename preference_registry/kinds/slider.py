"""The ``slider`` kind: a value on a numeric scale (how much personalization, price vs. sustainability...)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from fractions import Fraction
from typing import Annotated, Any, ClassVar, Literal

import msgspec
from msgspec import Meta, field

from ..common import Key, LocalizedText, Number, PositiveNumber, PreferenceBase, StrictStruct
from ..errors import RegistryIssue, ValueValidationError
from ..grid import exact_range_limit, grid_value, is_on_step, steps_from
from .base import CheckContext, Kind, LabelledList, quote_value

__all__ = ["KIND", "Criterion", "SliderEffect", "SliderStop", "SliderType"]


class SliderStop(StrictStruct):
    """A labelled value on a slider, used as its accessible value text."""

    value: Number
    """A value on the slider's scale (between min and max, on a step)."""
    label: LocalizedText
    """What the value means, e.g. "Off", "Limited", "Full"."""


class Criterion(StrictStruct):
    """A product attribute and which end of it a slider end favours."""

    attribute: Key
    """Catalog attribute, e.g. ``price`` or ``eco_score``."""
    prefer: Literal["lower", "higher"] = "higher"
    """Whether lower or higher attribute values rank better."""


class SliderEffect(StrictStruct):
    """What a slider does to product results."""

    rule: Literal["personalization", "balance", "weight", "discovery"]
    """``personalization``: the intensity of personalization (its minimum means neutral order);
    ``balance``: blends ranking between the ``low`` and ``high`` criteria as the slider moves;
    ``weight``: scales the ``high`` criterion's influence by the slider position;
    ``discovery``: reserves a share of positions, growing with the slider, for good products outside the
    shopper's preferences (against the filter bubble; its minimum changes nothing)."""
    low: Criterion | None = None
    """Criterion favoured at the slider's minimum (``balance``)."""
    high: Criterion | None = None
    """Criterion favoured at the slider's maximum (``balance``, ``weight``)."""


class SliderType(PreferenceBase, tag="slider", kw_only=True):
    """A value on a numeric scale: how much personalization, price vs. sustainability..."""

    min: Number
    """Lowest value."""
    max: Number
    """Highest value (greater than ``min``)."""
    default: Number
    """Initial value (between ``min`` and ``max``, on a step)."""
    step: PositiveNumber = 1
    """Distance between allowed values; must divide ``max - min``."""
    page_step: PositiveNumber | None = None
    """Larger jump for PageUp/PageDown; defaults to a tenth of the range (at least one step)."""
    stops: list[SliderStop] = field(default_factory=list)
    """Labelled values; a value's label becomes its ``aria-valuetext``."""
    applies_to: SliderEffect | None = None
    """What it changes in product results; none means it is only stored and exposed in the profile."""

    kind: ClassVar[str] = "slider"

    @property
    def is_integral(self) -> bool:
        return all(isinstance(v, int) for v in (self.min, self.max, self.step))

    @property
    def step_count(self) -> int:
        """How many steps from ``min`` to ``max`` (a whole number on a valid registry)."""
        return round(steps_from(self.max, self.min, self.step))

    @property
    def page_step_count(self) -> int:
        """How many steps PageUp/PageDown moves: ``page_step``, or a tenth of the range (at least one)."""
        if self.page_step is not None:
            return round(steps_from(self.page_step, 0, self.step))
        return max(1, round(Fraction(self.step_count, 10)))

    @property
    def effective_page_step(self) -> Number:
        if self.page_step is not None:
            return self.page_step
        return grid_value(0, self.step, self.page_step_count, integral=self.is_integral)

    def value_at_step(self, steps: int) -> Number:
        """The value ``steps`` steps above ``min``, exactly on its step (``3 * 0.1`` is ``0.3``)."""
        return grid_value(self.min, self.step, steps, integral=self.is_integral)

    def stop_for(self, value: Number) -> SliderStop | None:
        return next((stop for stop in self.stops if stop.value == value), None)


def _value_type(pref: SliderType) -> Any:
    description = f"Value of `{pref.key}` ({pref.kind})."
    base: type = int if pref.is_integral else float
    # JSON Schema's multipleOf counts from zero; only state it when the grid starts on a multiple.
    multiple = pref.step if is_on_step(pref.min, 0, pref.step) else None
    return Annotated[base, Meta(ge=pref.min, le=pref.max, multiple_of=multiple, description=description)]


def _value_schema(pref: SliderType) -> dict[str, Any]:
    schema = msgspec.json.schema(_value_type(pref))
    if "multipleOf" not in schema:
        schema["description"] += f" Allowed values: {pref.min} + n * {pref.step}."
    return schema


def _validate_value(pref: SliderType, raw: Any) -> int | float:
    is_number = isinstance(raw, (int, float)) and not isinstance(raw, bool)
    # math.isfinite(10**400) raises OverflowError: only floats can be infinite or NaN.
    if not is_number or (isinstance(raw, float) and not math.isfinite(raw)):
        expected = "integer" if pref.is_integral else "number"
        raise ValueValidationError(pref.key, "a slider value is a number", expected=expected,
                                   got=quote_value(raw))
    if not pref.min <= raw <= pref.max:
        raise ValueValidationError(pref.key, "value out of range", expected=f"{pref.min}..{pref.max}",
                                   got=quote_value(raw))
    # On a step exactly, as written (1.0 is 1; 1e-154 is not 0; 0.25000000000000006 is not 0.25): a value is
    # stored as sent, so one off its step is refused rather than stored or silently rounded.
    if not is_on_step(raw, pref.min, pref.step):
        raise ValueValidationError(pref.key, "value is not on a step of the slider",
                                   expected=f"{pref.min} + n * {pref.step}", got=quote_value(raw))
    if pref.is_integral:
        return int(raw)
    return float(raw)


def _default_value(pref: SliderType) -> Number:
    return pref.default


def _check(ctx: CheckContext, pref: SliderType, path: str) -> Iterator[RegistryIssue]:
    # The grid (min, max, step) is what every value is checked against: without it, only the rules
    # that do not need it run.
    grid = ctx.readable(path, "min", "max", "step")
    if ctx.readable(path, "min", "max") and pref.min >= pref.max:
        yield ctx.issue(f"{path}.max", "max must be greater than min", expected=f"> {pref.min}",
                        got=pref.max)
        grid = False  # every other bound check would only repeat this one
    elif grid:
        # Integer grids are exact at any size. A float step finer than the spacing of floats at the
        # range's ends would make neighbouring values the same number (and step counts overflow).
        largest = max(abs(pref.min), abs(pref.max))
        finest = math.ulp(largest)
        limit, quantum = exact_range_limit(pref.min, pref.step)
        if not pref.is_integral and pref.step < finest:
            yield ctx.issue(f"{path}.step", f"step {pref.step} is finer than numbers near "
                            f"{largest} can be told apart exactly",
                            expected=f"a step of at least {finest!r}", got=pref.step)
            grid = False
        elif not pref.is_integral and largest >= limit:
            # Each step is a float apart, but some steps' floats would read back as another number
            # (0.3 steps near 1.5e15: 1499999999999999.7 is stored as 1499999999999999.8).
            yield ctx.issue(f"{path}.step", f"values from {pref.min} in steps of {pref.step} reach "
                            f"{largest}, where a float cannot hold every step exactly",
                            expected=f"|min| and |max| below {limit!r} for values in multiples of "
                            f"{quantum}", got=pref.step)
            grid = False
        elif not is_on_step(pref.max, pref.min, pref.step):
            yield ctx.issue(f"{path}.step", f"step {pref.step} does not divide the range "
                            f"{pref.min}..{pref.max}", expected=f"a divisor of {pref.max - pref.min}",
                            got=pref.step)
    if grid and ctx.readable(path, "default"):
        yield from _check_value(ctx, pref, pref.default, f"{path}.default")
    if pref.page_step is not None and ctx.readable(path, "page_step", "step") \
            and not is_on_step(pref.page_step, 0, pref.step):
        yield ctx.issue(f"{path}.page_step", "page_step must be a whole number of steps",
                        expected=f"a multiple of {pref.step}", got=pref.page_step)
    seen: dict[float, int] = {}
    for index, stop in enumerate(pref.stops or []):
        if stop is None or stop.value is None:
            continue
        if grid:
            yield from _check_value(ctx, pref, stop.value, f"{path}.stops[{index}].value")
        if stop.value in seen:
            yield ctx.issue(f"{path}.stops[{index}].value", f"value {stop.value} already labelled at "
                            f"stops[{seen[stop.value]}]", expected="one label per value", got=stop.value)
        seen.setdefault(stop.value, index)
    effect = pref.applies_to
    if effect is not None and effect.rule is not None:
        needs = {"balance": ("low", "high"), "weight": ("high",), "personalization": (),
                 "discovery": ()}[effect.rule]
        for end in needs:
            if getattr(effect, end) is None and ctx.readable(path, f"applies_to.{end}"):
                yield ctx.issue(f"{path}.applies_to.{end}", f"rule `{effect.rule}` needs a `{end}` "
                                "criterion", expected="{ attribute = ..., prefer = ... }", got="nothing")


def _check_value(ctx: CheckContext, pref: SliderType, value: float, path: str) -> Iterator[RegistryIssue]:
    if not pref.min <= value <= pref.max:
        yield ctx.issue(path, "value outside the slider's range", expected=f"{pref.min}..{pref.max}",
                        got=value)
    elif not is_on_step(value, pref.min, pref.step):
        yield ctx.issue(path, "value is not on a step", expected=f"{pref.min} + n * {pref.step}", got=value)


KIND: Kind[SliderType] = Kind(
    name="slider",
    struct=SliderType,
    value_type=_value_type,
    value_schema=_value_schema,
    validate_value=_validate_value,
    default_value=_default_value,
    check=_check,
    labelled_lists=(LabelledList("stops", id_field="value"),),
    description="A value on a numeric scale (min, max, step), with optional labelled stops.",
)
"""The slider kind."""
