"""The ``filter`` kind: a choice of options that narrows or re-ranks results (only eco products...)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, ClassVar, Literal

import msgspec
from msgspec import Meta

from ..common import Key, LocalizedText, PreferenceBase, Scalar, StrictStruct
from ..errors import RegistryIssue, ValueValidationError
from .base import CheckContext, Kind, LabelledList, quote_value

__all__ = ["KIND", "AppliesTo", "FilterOption", "FilterRule", "FilterType"]


class FilterOption(StrictStruct):
    """One choice of a filter."""

    key: Key
    """Identifier stored as the selection."""
    label: LocalizedText
    """Text of the checkbox or radio button."""
    value: Scalar | None = None
    """Catalog attribute value this option matches; defaults to ``key``."""

    @property
    def match_value(self) -> Scalar:
        return self.key if self.value is None else self.value


FilterRule = Literal["include", "exclude", "prefer"]


class AppliesTo(StrictStruct):
    """What a filter does in the catalog."""

    attribute: Key
    """Catalog attribute compared with the selected options' values."""
    rule: FilterRule = "include"
    """``include``: hard filter, only matching products; ``exclude``: hide matching products;
    ``prefer``: ranking boost for matching products, nothing is hidden."""
    weight: Annotated[float, Meta(gt=0, le=100)] = 1.0
    """Strength of the ``prefer`` boost relative to other ranking signals."""


class FilterType(PreferenceBase, tag="filter", kw_only=True):
    """A choice of options that narrows or re-ranks results: only eco products, preferred categories..."""

    options: Annotated[list[FilterOption], Meta(min_length=1)]
    """The choices, in display order."""
    multiple: bool = False
    """Checkbox group (any number) when true; radio group (one or none) when false."""
    # `str`, not `Key`, for the single choice: msgspec 0.22 crashes converting a union of `list[Key] | Key`
    # (the validator checks the key against the declared options anyway).
    default: list[Key] | str | None = None
    """Initial selection: a list for ``multiple``, one option key or nothing otherwise. Never pre-selects
    anything unless declared."""
    applies_to: AppliesTo | None = None
    """What it filters in the catalog."""

    kind: ClassVar[str] = "filter"

    @property
    def option_keys(self) -> tuple[str, ...]:
        return tuple(option.key for option in self.options)

    @property
    def default_value(self) -> list[str] | str | None:
        if self.multiple:
            if self.default is None:
                return []
            return [self.default] if isinstance(self.default, str) else list(self.default)
        return self.default if not isinstance(self.default, list) else None


def _value_type(pref: FilterType) -> Any:
    description = f"Value of `{pref.key}` ({pref.kind})."
    options = Literal.__getitem__(pref.option_keys)  # type: ignore[attr-defined]
    if pref.multiple:
        return Annotated[list[options], Meta(max_length=len(pref.option_keys),  # type: ignore[valid-type]
                                             description=description + " Selected option keys, each once.")]
    return Annotated[options | None, Meta(description=description + " One option key, or null for none.")]


def _value_schema(pref: FilterType) -> dict[str, Any]:
    schema = msgspec.json.schema(_value_type(pref))
    if pref.multiple:
        schema["uniqueItems"] = True
    return schema


def _validate_value(pref: FilterType, raw: Any) -> list[str] | str | None:
    allowed = pref.option_keys
    if pref.multiple:
        if not isinstance(raw, list):
            raise ValueValidationError(pref.key, "a multiple-choice filter takes a list of option keys",
                                       expected="list of option keys", got=quote_value(raw))
        for index, item in enumerate(raw):
            if item not in allowed or not isinstance(item, str):
                raise ValueValidationError(pref.key, f"unknown option {quote_value(item)}",
                                           expected=" | ".join(allowed), got=quote_value(item),
                                           path=f"value[{index}]")
        if len(set(raw)) != len(raw):
            raise ValueValidationError(pref.key, "an option is selected twice", expected="unique option keys",
                                       got=quote_value(raw))
        # Store in declaration order so equal selections compare and hash equal.
        return [key for key in allowed if key in raw]
    if raw is None:
        return None
    if not isinstance(raw, str) or raw not in allowed:
        raise ValueValidationError(pref.key, f"unknown option {quote_value(raw)}",
                                   expected=" | ".join(allowed) + " | null", got=quote_value(raw))
    return raw


def _default_value(pref: FilterType) -> list[str] | str | None:
    return pref.default_value


def _check(ctx: CheckContext, pref: FilterType, path: str) -> Iterator[RegistryIssue]:
    seen: dict[str, int] = {}
    options = pref.options or []
    for index, option in enumerate(options):
        if option is None or option.key is None:
            continue
        if option.key in seen:
            yield ctx.issue(f"{path}.options[{index}].key", f"duplicate option key `{option.key}`, first "
                            f"at options[{seen[option.key]}]", expected="unique option keys",
                            got=repr(option.key))
        seen.setdefault(option.key, index)
    if not ctx.readable(path, "default", "multiple"):
        return
    default = pref.default
    if pref.multiple and isinstance(default, str):
        yield ctx.issue(f"{path}.default", "a multiple-choice filter's default is a list of option keys",
                        expected="list of option keys", got=repr(default))
        return
    if not pref.multiple and isinstance(default, list):
        yield ctx.issue(f"{path}.default", "a single-choice filter's default is one option key or none",
                        expected="one option key", got=repr(default))
        return
    chosen = [default] if isinstance(default, str) else list(default or [])
    # An option whose key could not be read may be the one the default names: no guess.
    keys_known = pref.options is not None and all(o is not None and o.key is not None for o in options)
    for index, key in enumerate(chosen):
        item_path = f"{path}.default[{index}]" if isinstance(default, list) else f"{path}.default"
        if keys_known and key not in seen:
            yield ctx.issue(item_path, f"`{key}` is not a declared option",
                            expected=" | ".join(seen), got=repr(key))
    if len(set(chosen)) != len(chosen):
        yield ctx.issue(f"{path}.default", "an option is selected twice", expected="unique option keys",
                        got=repr(chosen))


KIND: Kind[FilterType] = Kind(
    name="filter",
    struct=FilterType,
    value_type=_value_type,
    value_schema=_value_schema,
    validate_value=_validate_value,
    default_value=_default_value,
    check=_check,
    labelled_lists=(LabelledList("options", id_field="key"),),
    description="A choice among declared options (radio group, or checkboxes when `multiple`).",
)
"""The filter kind."""
