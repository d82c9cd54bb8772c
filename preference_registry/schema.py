"""The registry document: what a merchant declares, as frozen msgspec Structs.

These Structs (with their ``Meta`` constraints) are the single source of truth for the file format:
the loader decodes into them, the validator adds the cross-field rules a type system cannot express,
and per-preference value types (see :mod:`preference_registry.values`) are derived from them.

The shared parts live in :mod:`preference_registry.common`, each kind's declaration in its module of
:mod:`preference_registry.kinds`; this module assembles the document from the kinds table and re-exports
every name, so ``from preference_registry.schema import SliderType`` keeps working.
"""

from __future__ import annotations

from typing import Any, Literal

from msgspec import field

from .common import (
    KEY_PATTERN,
    LOCALE_PATTERN,
    MAX_EXACT_INTEGER,
    SAFE_URL_PATTERN,
    THEME_PATTERN,
    Key,
    LocalizedList,
    LocalizedText,
    PreferenceBase,
    Scalar,
    Section,
    ShopSettings,
    StrictStruct,
    full_match,
)
from .experiments import Experiment, Variant
from .insights import InsightsSettings
from .kinds import KINDS, kind_of, preference_union
from .kinds.consent import ConsentMechanism, ConsentType
from .kinds.filter import AppliesTo, FilterOption, FilterRule, FilterType
from .kinds.slider import Criterion, SliderEffect, SliderStop, SliderType

__all__ = [
    "KEY_PATTERN",
    "LOCALE_PATTERN",
    "MAX_EXACT_INTEGER",
    "SAFE_URL_PATTERN",
    "THEME_PATTERN",
    "AppliesTo",
    "Criterion",
    "ConsentMechanism",
    "Experiment",
    "InsightsSettings",
    "ConsentType",
    "FilterOption",
    "FilterRule",
    "FilterType",
    "Key",
    "LocalizedList",
    "LocalizedText",
    "PreferenceBase",
    "PreferenceType",
    "PREFERENCE_KINDS",
    "RegistryDocument",
    "Scalar",
    "Section",
    "default_value",
    "full_match",
    "ShopSettings",
    "SliderEffect",
    "SliderStop",
    "SliderType",
    "StrictStruct",
    "Variant",
]

PreferenceType = preference_union(KINDS)
"""Any preference type: the tagged union (on ``kind``) of every kind's Struct in :data:`KINDS`."""

PREFERENCE_KINDS: dict[str, type[PreferenceBase]] = {name: kind.struct for name, kind in KINDS.items()}
"""Kind name -> its Struct, as the loader looks an entry up by its ``kind``."""


class RegistryDocument(StrictStruct):
    """A whole registry file."""

    shop: ShopSettings
    """Shop settings."""
    preferences: list[PreferenceType] = field(default_factory=list)  # type: ignore[valid-type]
    """The preference types, in file order."""
    sections: list[Section] = field(default_factory=list)
    """Optional headings that group preference types."""
    experiments: list[Experiment] = field(default_factory=list)
    """A/B tests of wording and defaults (:mod:`preference_registry.experiments`), guarded against dark
    patterns by the validator."""
    insights: InsightsSettings | None = None
    """``[insights]``: the purpose that allows linking conversions, the k of suppression."""
    schema_version: Literal[1] = 1
    """Format version of this document; only ``1`` exists."""


def default_value(pref: Any) -> object:
    """Initial value of a preference type, before the shopper chooses anything."""
    return kind_of(pref).default_value(pref)
