"""The registry document: what a merchant declares, as frozen msgspec Structs.

These Structs (with their ``Meta`` constraints) are the single source of truth for the file format:
the loader decodes into them, the validator adds the cross-field rules a type system cannot express,
and per-preference value types (see :mod:`preference_registry.values`) are derived from them.
"""

from __future__ import annotations

import enum
from fractions import Fraction
from typing import Annotated, ClassVar, Literal, Union

import msgspec
from msgspec import Meta, Struct, field

from .grid import grid_value, steps_from

__all__ = [
    "KEY_PATTERN",
    "LOCALE_PATTERN",
    "MAX_EXACT_INTEGER",
    "SAFE_URL_PATTERN",
    "THEME_PATTERN",
    "AppliesTo",
    "Criterion",
    "ConsentMechanism",
    "ConsentType",
    "FilterOption",
    "FilterRule",
    "FilterType",
    "Key",
    "LocalizedList",
    "LocalizedText",
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
]


def full_match(body: str) -> str:
    """A Meta ``pattern`` that matches the whole string.

    msgspec applies patterns with ``re.search``, where ``$`` also matches before a final newline (so
    ``"en\\n"`` passed as a locale). ``$(?!\\n)`` ends at the true end in Python and means the same as ``$``
    in ECMAScript, so the pattern published in JSON Schema / OpenAPI stays portable (``\\Z`` is not).
    """
    return f"^(?:{body})$(?!\\n)"


KEY_PATTERN = full_match(r"[a-z][a-z0-9_]*")
LOCALE_PATTERN = full_match(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})?")
THEME_PATTERN = full_match(r"[a-z][a-z0-9_-]*")
SAFE_URL_PATTERN = full_match(r"(https?://|mailto:|/(?!/))[^\s<>\"']*")

MAX_EXACT_INTEGER = 2**53 - 1
"""Largest magnitude of a number in a registry: 2^53 - 1, the largest integer that JavaScript (the widgets, any
browser client) and JSON decoders reading numbers as doubles keep exactly. Within it, every integer also fits
SQLite's and PostgreSQL's 64-bit integers, so a stored choice reads back as the same value."""

Key = Annotated[
    str,
    Meta(
        pattern=KEY_PATTERN,
        min_length=1,
        max_length=64,
        description="Stable identifier: lowercase letter, then lowercase letters, digits or underscores.",
    ),
]
Locale = Annotated[str, Meta(pattern=LOCALE_PATTERN, description="BCP 47 language tag, e.g. `pl`, `en`.")]
NonEmptyText = Annotated[str, Meta(min_length=1, max_length=4000)]
# Merchant links end up in href attributes: only schemes that cannot run script (no `javascript:`, `data:`).
SafeUrl = Annotated[str, Meta(pattern=SAFE_URL_PATTERN, max_length=2000,
                              description="http(s) or mailto URL, or a path on the shop's own site")]

LocalizedText = Union[NonEmptyText, dict[Locale, NonEmptyText]]
"""A text per locale (``{pl = "...", en = "..."}``) or one plain string meaning the shop's default locale."""

LocalizedList = Union[list[NonEmptyText], dict[Locale, list[NonEmptyText]]]
"""A list of short texts per locale (e.g. data categories) or one plain list in the default locale."""

ExactInt = Annotated[int, Meta(ge=-MAX_EXACT_INTEGER, le=MAX_EXACT_INTEGER)]
"""An integer every part of prefkit (JSON clients, SQLite, PostgreSQL) keeps exactly."""
ExactFloat = Annotated[float, Meta(ge=-MAX_EXACT_INTEGER, le=MAX_EXACT_INTEGER)]
"""A finite number (no inf, no nan) in the same range."""
Scalar = Union[str, ExactInt, ExactFloat, bool]
Number = Union[ExactInt, ExactFloat]
PositiveNumber = Union[Annotated[int, Meta(gt=0, le=MAX_EXACT_INTEGER)],
                       Annotated[float, Meta(gt=0, le=MAX_EXACT_INTEGER)]]


class _Strict(Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    """Base for every document Struct: immutable, and a typo like ``titel`` is an error, not ignored."""


class ShopSettings(_Strict):
    """``[shop]``: who the controller is and which languages the shopper may read."""

    name: NonEmptyText
    """Shop (data controller) name, shown in consent receipts."""
    default_locale: Locale = "pl"
    """Locale every text must have; other locales fall back to it."""
    locales: Annotated[list[Locale], Meta(min_length=1)] = field(default_factory=lambda: ["pl", "en"])
    """Locales the shop offers; must contain ``default_locale``."""
    theme: Annotated[str, Meta(pattern=THEME_PATTERN, max_length=64)] = "default"
    """Theme name from ``themes/`` (``default``, ``dark``, ``high-contrast``) or a shop's own."""
    controller_contact: str | None = None
    """Where a shopper reaches the controller (e-mail or URL); shown in consent receipts."""
    privacy_policy_url: SafeUrl | None = None
    """Link to the full privacy policy: ``https://``, ``http://``, ``mailto:`` or a site path (``/privacy``)."""


class Section(_Strict):
    """``[[sections]]``: a heading that groups preference types in the preference center."""

    key: Key
    """Identifier referenced by ``preferences[].section``."""
    title: LocalizedText
    """Heading shown to the shopper."""
    description: LocalizedText | None = None
    """Optional text under the heading."""
    order: ExactInt = 0
    """Position among sections (ascending; ties keep file order)."""


class ConsentMechanism(str, enum.Enum):
    """How a consent starts and whether the shopper can change it."""

    OPT_IN = "opt_in"
    """Starts off; only the shopper can switch it on (GDPR: never pre-ticked)."""
    OPT_OUT = "opt_out"
    """Starts on; the shopper can switch it off (legitimate interest)."""
    NOTICE_ONLY = "notice_only"
    """Strictly necessary processing: shown for transparency, not switchable."""


class _PreferenceBase(_Strict, tag_field="kind"):
    """Fields every preference type shares."""

    key: Key
    """Stable identifier, unique in the registry; used in URLs and storage."""
    title: LocalizedText
    """Short label of the control."""
    description: LocalizedText | None = None
    """What the preference does, in plain words."""
    data_used: LocalizedList | None = None
    """Transparency: which data categories this uses ("what we use")."""
    benefit: LocalizedText | None = None
    """Transparency: what the shopper gets ("what you get")."""
    section: Key | None = None
    """Key of the section it is shown in; types without one go to a trailing "other" group."""
    order: ExactInt = 0
    """Position inside its section (ascending; ties keep file order)."""
    requires: list[Key] = field(default_factory=list)
    """Consent keys that must be granted for this preference to take effect."""

    kind: ClassVar[str]


class ConsentType(_PreferenceBase, tag="consent", kw_only=True):
    """A consent toggle for one data-use purpose."""

    purpose: Key
    """Data-use purpose: ``recommendations``, ``analytics``, ``marketing`` or a merchant-defined one."""
    mechanism: ConsentMechanism = ConsentMechanism.OPT_IN
    """``opt_in`` (default), ``opt_out`` or ``notice_only``."""
    gpc: bool = False
    """Whether a Global Privacy Control signal (``Sec-GPC: 1``) turns it off."""
    expires_after_days: Annotated[int, Meta(ge=1, le=3650)] | None = None
    """Re-consent interval: a decision older than this reverts to the default."""
    default: bool | None = None
    """Optional, and only to restate the mechanism: ``opt_in`` can never default to on."""

    kind: ClassVar[str] = "consent"

    @property
    def default_value(self) -> bool:
        return self.mechanism is not ConsentMechanism.OPT_IN

    @property
    def switchable(self) -> bool:
        return self.mechanism is not ConsentMechanism.NOTICE_ONLY


class SliderStop(_Strict):
    """A labelled value on a slider, used as its accessible value text."""

    value: Number
    """A value on the slider's scale (between min and max, on a step)."""
    label: LocalizedText
    """What the value means, e.g. "Off", "Limited", "Full"."""


class Criterion(_Strict):
    """A product attribute and which end of it a slider end favours."""

    attribute: Key
    """Catalog attribute, e.g. ``price`` or ``eco_score``."""
    prefer: Literal["lower", "higher"] = "higher"
    """Whether lower or higher attribute values rank better."""


class SliderEffect(_Strict):
    """What a slider does to product results."""

    rule: Literal["personalization", "balance", "weight"]
    """``personalization``: the intensity of personalization (its minimum means neutral order);
    ``balance``: blends ranking between the ``low`` and ``high`` criteria as the slider moves;
    ``weight``: scales the ``high`` criterion's influence by the slider position."""
    low: Criterion | None = None
    """Criterion favoured at the slider's minimum (``balance``)."""
    high: Criterion | None = None
    """Criterion favoured at the slider's maximum (``balance``, ``weight``)."""


class SliderType(_PreferenceBase, tag="slider", kw_only=True):
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


class FilterOption(_Strict):
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


class AppliesTo(_Strict):
    """What a filter does in the catalog."""

    attribute: Key
    """Catalog attribute compared with the selected options' values."""
    rule: FilterRule = "include"
    """``include``: hard filter, only matching products; ``exclude``: hide matching products;
    ``prefer``: ranking boost for matching products, nothing is hidden."""
    weight: Annotated[float, Meta(gt=0, le=100)] = 1.0
    """Strength of the ``prefer`` boost relative to other ranking signals."""


class FilterType(_PreferenceBase, tag="filter", kw_only=True):
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


PreferenceType = Union[ConsentType, SliderType, FilterType]
PREFERENCE_KINDS: dict[str, type[ConsentType] | type[SliderType] | type[FilterType]] = {
    "consent": ConsentType,
    "slider": SliderType,
    "filter": FilterType,
}


class RegistryDocument(_Strict):
    """A whole registry file."""

    shop: ShopSettings
    """Shop settings."""
    preferences: list[PreferenceType] = field(default_factory=list)
    """The preference types, in file order."""
    sections: list[Section] = field(default_factory=list)
    """Optional headings that group preference types."""
    schema_version: Literal[1] = 1
    """Format version of this document; only ``1`` exists."""


def default_value(pref: PreferenceType) -> object:
    """Initial value of a preference type, before the shopper chooses anything."""
    if isinstance(pref, SliderType):
        return pref.default
    return pref.default_value
