"""The ``priorities`` kind: the shopper puts the merchant's criteria (price, sustainability, rating...) in the
order that matters to them, and may leave out the optional ones.

The value is the list of criterion keys, most important first: every required criterion exactly once, an
optional one at most once (absent: left out). It is stored in the shopper's order (the order *is* the value).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, ClassVar, Literal

import msgspec
from msgspec import Meta

from ..common import Key, LocalizedText, PreferenceBase, StrictStruct
from ..errors import RegistryIssue, ValueValidationError
from .base import CheckContext, Kind, LabelledList, quote_value

__all__ = ["KIND", "MAX_CRITERIA", "PrioritiesType", "PriorityCriterion"]

MAX_CRITERIA = 20
"""Most criteria one type may declare: an order of more is not a choice a shopper can make (and each
criterion is a ranking signal on every query)."""


class PriorityCriterion(StrictStruct):
    """One thing the shopper may rank: a catalog attribute and which end of it is better."""

    key: Key
    """Identifier stored in the value."""
    label: LocalizedText
    """What the shopper reads, e.g. "Price", "Sustainability"."""
    attribute: Key
    """Catalog attribute it ranks by, e.g. ``price`` or ``eco_score``."""
    prefer: Literal["lower", "higher"] = "higher"
    """Whether lower or higher attribute values are better."""
    optional: bool = False
    """Whether the shopper may leave it out of their order altogether."""


class PrioritiesType(PreferenceBase, tag="priorities", kw_only=True):
    """An ordered list of criteria: what matters most to the shopper, in which order."""

    criteria: Annotated[list[PriorityCriterion], Meta(min_length=2, max_length=MAX_CRITERIA)]
    """The criteria, in the order they are shown when nothing else is declared."""
    default: list[Key] | None = None
    """Initial order (criterion keys, most important first): every required criterion once, optional
    ones once or left out. None: every criterion, in declaration order."""
    weight: Annotated[float, Meta(gt=0, le=100)] = 1.0
    """Strength of the whole order relative to other ranking signals: the criteria's rank-based weights
    add up to it."""

    kind: ClassVar[str] = "priorities"

    @property
    def criterion_keys(self) -> tuple[str, ...]:
        return tuple(criterion.key for criterion in self.criteria)

    @property
    def required_keys(self) -> tuple[str, ...]:
        return tuple(criterion.key for criterion in self.criteria if not criterion.optional)

    @property
    def default_value(self) -> list[str]:
        return list(self.default) if self.default is not None else list(self.criterion_keys)

    def criterion(self, key: str) -> PriorityCriterion | None:
        return next((criterion for criterion in self.criteria if criterion.key == key), None)


def _value_type(pref: PrioritiesType) -> Any:
    description = (f"Value of `{pref.key}` ({pref.kind}): criterion keys, most important first, each at "
                   "most once.")
    if pref.required_keys:
        description += " Must contain: " + ", ".join(pref.required_keys) + "."
    keys = Literal.__getitem__(pref.criterion_keys)  # type: ignore[attr-defined]
    return Annotated[list[keys], Meta(min_length=len(pref.required_keys),  # type: ignore[valid-type]
                                      max_length=len(pref.criteria), description=description)]


def _value_schema(pref: PrioritiesType) -> dict[str, Any]:
    schema = msgspec.json.schema(_value_type(pref))
    schema["uniqueItems"] = True
    if pref.required_keys:
        # JSON Schema 2020-12 (OpenAPI 3.1): each required criterion must be in the list.
        schema["allOf"] = [{"contains": {"const": key}} for key in pref.required_keys]
    return schema


def _validate_value(pref: PrioritiesType, raw: Any) -> list[str]:
    allowed = pref.criterion_keys
    if not isinstance(raw, list):
        raise ValueValidationError(pref.key, "a priorities value is a list of criterion keys, most important "
                                   "first", expected="list of criterion keys", got=quote_value(raw))
    seen: dict[str, int] = {}
    for index, item in enumerate(raw):
        if not isinstance(item, str) or item not in allowed:
            raise ValueValidationError(pref.key, f"unknown criterion {quote_value(item)}",
                                       expected=" | ".join(allowed), got=quote_value(item),
                                       path=f"value[{index}]")
        if item in seen:
            raise ValueValidationError(pref.key, f"criterion {quote_value(item)} is listed twice (first at "
                                       f"value[{seen[item]}])", expected="each criterion at most once",
                                       got=quote_value(item), path=f"value[{index}]")
        seen[item] = index
    missing = [key for key in pref.required_keys if key not in seen]
    if missing:
        raise ValueValidationError(pref.key, "a criterion that cannot be left out is missing: "
                                   + ", ".join(missing), expected="contains " + ", ".join(pref.required_keys),
                                   got=quote_value(raw))
    return list(raw)


def _default_value(pref: PrioritiesType) -> list[str]:
    return pref.default_value


def _check(ctx: CheckContext, pref: PrioritiesType, path: str) -> Iterator[RegistryIssue]:
    seen: dict[str, int] = {}
    criteria = pref.criteria or []
    for index, criterion in enumerate(criteria):
        if criterion is None or criterion.key is None:
            continue
        if criterion.key in seen:
            yield ctx.issue(f"{path}.criteria[{index}].key", f"duplicate criterion key `{criterion.key}`, "
                            f"first at criteria[{seen[criterion.key]}]", expected="unique criterion keys",
                            got=repr(criterion.key))
        seen.setdefault(criterion.key, index)
    if pref.default is None or not ctx.readable(path, "default", "criteria"):
        return
    # `criteria` is readable here; a criterion without a key (a partly decoded entry) allows no verdict.
    known = all(c is not None and c.key is not None for c in criteria)
    listed: dict[str, int] = {}
    for index, key in enumerate(pref.default):
        if known and key not in seen:
            yield ctx.issue(f"{path}.default[{index}]", f"`{key}` is not a declared criterion",
                            expected=" | ".join(seen), got=repr(key))
        elif key in listed:
            yield ctx.issue(f"{path}.default[{index}]", f"`{key}` is listed twice (first at "
                            f"default[{listed[key]}])", expected="each criterion at most once", got=repr(key))
        listed.setdefault(key, index)
    if known:
        missing = [c.key for c in criteria if not c.optional and c.key not in listed]
        if missing:
            yield ctx.issue(f"{path}.default", "the default order leaves out a criterion that is not "
                            "optional: " + ", ".join(missing),
                            expected="every criterion without `optional = true`",
                            got=repr(list(pref.default)))


KIND: Kind[PrioritiesType] = Kind(
    name="priorities",
    struct=PrioritiesType,
    value_type=_value_type,
    value_schema=_value_schema,
    validate_value=_validate_value,
    default_value=_default_value,
    check=_check,
    labelled_lists=(LabelledList("criteria", id_field="key"),),
    description="An order of declared criteria (most important first); optional ones may be left out.",
)
"""The priorities kind."""
