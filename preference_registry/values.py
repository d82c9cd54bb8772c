"""One value type per preference type, derived from its declaration.

The type carries the constraints (bounds, step, options) as msgspec ``Meta``, so request validation,
the OpenAPI schema and ARIA bounds all read the same definition. Each kind defines its own (see
:mod:`preference_registry.kinds`); these functions dispatch through the kinds table, and refuse a kind
that is not in it with :class:`~preference_registry.errors.UnknownKindError`.
"""

from __future__ import annotations

from typing import Any

from .kinds import kind_of
from .schema import PreferenceType

__all__ = ["value_json_schema", "value_type", "validate_value"]


def value_type(pref: PreferenceType) -> Any:
    """The msgspec type of a value of ``pref``."""
    return kind_of(pref).value_type(pref)


def value_json_schema(pref: PreferenceType) -> dict[str, Any]:
    """JSON Schema of a value of ``pref`` (for OpenAPI)."""
    return kind_of(pref).value_schema(pref)


def validate_value(pref: PreferenceType, raw: Any) -> Any:
    """``raw`` as a valid value of ``pref``, or :class:`ValueValidationError` saying exactly what is wrong."""
    return kind_of(pref).validate_value(pref, raw)
