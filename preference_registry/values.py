"""One value type per preference type, derived from its declaration.

The type carries the constraints (bounds, step, options) as msgspec ``Meta``, so request validation,
the OpenAPI schema and ARIA bounds all read the same definition.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from .errors import ValueValidationError
from .schema import ConsentType, FilterType, PreferenceType, SliderType
from .grid import is_on_step

__all__ = ["value_json_schema", "value_type", "validate_value"]


def value_type(pref: PreferenceType) -> Any:
    """The msgspec type of a value of ``pref``."""
    description = f"Value of `{pref.key}` ({pref.kind})."
    if isinstance(pref, ConsentType):
        if not pref.switchable:
            return Annotated[Literal[True], Meta(description=description + " Not switchable.")]
        return Annotated[bool, Meta(description=description + " true = granted.")]
    if isinstance(pref, SliderType):
        base: type = int if pref.is_integral else float
        # JSON Schema's multipleOf counts from zero; only state it when the grid starts on a multiple.
        multiple = pref.step if is_on_step(pref.min, 0, pref.step) else None
        return Annotated[base, Meta(ge=pref.min, le=pref.max, multiple_of=multiple, description=description)]
    options = Literal.__getitem__(pref.option_keys)  # type: ignore[attr-defined]
    if pref.multiple:
        return Annotated[list[options], Meta(max_length=len(pref.option_keys),  # type: ignore[valid-type]
                                             description=description + " Selected option keys, each once.")]
    return Annotated[options | None, Meta(description=description + " One option key, or null for none.")]


def value_json_schema(pref: PreferenceType) -> dict[str, Any]:
    """JSON Schema of a value of ``pref`` (for OpenAPI)."""
    schema = msgspec.json.schema(value_type(pref))
    if isinstance(pref, FilterType) and pref.multiple:
        schema["uniqueItems"] = True
    if isinstance(pref, SliderType) and "multipleOf" not in schema:
        schema["description"] += f" Allowed values: {pref.min} + n * {pref.step}."
    return schema


def validate_value(pref: PreferenceType, raw: Any) -> Any:
    """``raw`` as a valid value of ``pref``, or :class:`ValueValidationError` saying exactly what is wrong."""
    if isinstance(pref, ConsentType):
        return _consent(pref, raw)
    if isinstance(pref, SliderType):
        return _slider(pref, raw)
    return _filter(pref, raw)


def _got(raw: Any) -> str:
    return "null" if raw is None else msgspec.json.encode(raw).decode()[:80]


def _consent(pref: ConsentType, raw: Any) -> bool:
    if not pref.switchable:
        if raw is True:
            return True  # restating the fixed value is no change (the BFF records nothing for it)
        raise ValueValidationError(pref.key, "this is notice-only processing (strictly necessary) and cannot "
                                   "be switched", expected="no change", got=_got(raw))
    if not isinstance(raw, bool):
        raise ValueValidationError(pref.key, "a consent is granted (true) or not (false)",
                                   expected="boolean", got=_got(raw))
    return raw


def _slider(pref: SliderType, raw: Any) -> int | float:
    is_number = isinstance(raw, (int, float)) and not isinstance(raw, bool)
    # math.isfinite(10**400) raises OverflowError: only floats can be infinite or NaN.
    if not is_number or (isinstance(raw, float) and not math.isfinite(raw)):
        expected = "integer" if pref.is_integral else "number"
        raise ValueValidationError(pref.key, "a slider value is a number", expected=expected, got=_got(raw))
    if not pref.min <= raw <= pref.max:
        raise ValueValidationError(pref.key, "value out of range", expected=f"{pref.min}..{pref.max}",
                                   got=_got(raw))
    # On a step exactly, as written (1.0 is 1; 1e-154 is not 0; 0.25000000000000006 is not 0.25): a value is
    # stored as sent, so one off its step is refused rather than stored or silently rounded.
    if not is_on_step(raw, pref.min, pref.step):
        raise ValueValidationError(pref.key, "value is not on a step of the slider",
                                   expected=f"{pref.min} + n * {pref.step}", got=_got(raw))
    if pref.is_integral:
        return int(raw)
    return float(raw)


def _filter(pref: FilterType, raw: Any) -> list[str] | str | None:
    allowed = pref.option_keys
    if pref.multiple:
        if not isinstance(raw, list):
            raise ValueValidationError(pref.key, "a multiple-choice filter takes a list of option keys",
                                       expected="list of option keys", got=_got(raw))
        for index, item in enumerate(raw):
            if item not in allowed or not isinstance(item, str):
                raise ValueValidationError(pref.key, f"unknown option {_got(item)}",
                                           expected=" | ".join(allowed), got=_got(item), path=f"value[{index}]")
        if len(set(raw)) != len(raw):
            raise ValueValidationError(pref.key, "an option is selected twice", expected="unique option keys",
                                       got=_got(raw))
        # Store in declaration order so equal selections compare and hash equal.
        return [key for key in allowed if key in raw]
    if raw is None:
        return None
    if not isinstance(raw, str) or raw not in allowed:
        raise ValueValidationError(pref.key, f"unknown option {_got(raw)}",
                                   expected=" | ".join(allowed) + " | null", got=_got(raw))
    return raw
