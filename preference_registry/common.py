"""The parts of a registry document every kind shares: field types, the strict base Struct, the shop, sections
and the fields common to every preference type.

Split from :mod:`preference_registry.schema` so that the kind modules (:mod:`preference_registry.kinds`) can
build on these types while ``schema`` assembles the document from the kinds table, without an import cycle.
``schema`` re-exports every public name here.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Union

from msgspec import Meta, Struct, field

__all__ = [
    "KEY_PATTERN",
    "LOCALE_PATTERN",
    "MAX_EXACT_INTEGER",
    "SAFE_URL_PATTERN",
    "THEME_PATTERN",
    "ExactFloat",
    "ExactInt",
    "Key",
    "Locale",
    "LocalizedList",
    "LocalizedText",
    "NonEmptyText",
    "Number",
    "PositiveNumber",
    "PreferenceBase",
    "SafeUrl",
    "Scalar",
    "Section",
    "ShopSettings",
    "StrictStruct",
    "full_match",
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


class StrictStruct(Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    """Base for every document Struct: immutable, and a typo like ``titel`` is an error, not ignored."""


class ShopSettings(StrictStruct):
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


class Section(StrictStruct):
    """``[[sections]]``: a heading that groups preference types in the preference center."""

    key: Key
    """Identifier referenced by ``preferences[].section``."""
    title: LocalizedText
    """Heading shown to the shopper."""
    description: LocalizedText | None = None
    """Optional text under the heading."""
    order: ExactInt = 0
    """Position among sections (ascending; ties keep file order)."""


class PreferenceBase(StrictStruct, tag_field="kind"):
    """Fields every preference type shares; each kind's Struct (in :mod:`preference_registry.kinds`)
    subclasses it with ``tag=<kind name>``, which is the ``kind = ...`` field of the file."""

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
