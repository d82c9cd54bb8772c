"""prefkit's preference registry: the one place where a shop declares its preference types.

Pure: imports nothing else of prefkit. Load a file with :func:`load_registry` or run a live
:class:`RegistryService`; every other part of the kit derives from the :class:`RegistrySnapshot`. The kinds
of preference type (consent, slider, filter) are listed in one table, :data:`KINDS` (see
:mod:`preference_registry.kinds`).
"""

from __future__ import annotations

from .errors import RegistryIssue, RegistryLoadError, UnknownKindError, ValueValidationError
from .i18n import localize, localize_list, negotiate_locale
from .kinds import KINDS, Kind, ShopperText, kind_of, shopper_texts
from .loader import Format, detect_format, read_file
from .schema import (
    AppliesTo,
    ConsentMechanism,
    ConsentType,
    Criterion,
    FilterOption,
    FilterType,
    PreferenceType,
    RegistryDocument,
    Section,
    ShopSettings,
    SliderEffect,
    SliderStop,
    SliderType,
    default_value,
)
from .service import RegistryRejection, RegistryService, RegistryStatus
from .snapshot import RegistrySnapshot, load_registry, text_hash
from .values import validate_value, value_json_schema, value_type

__all__ = [
    "AppliesTo",
    "ConsentMechanism",
    "ConsentType",
    "Criterion",
    "FilterOption",
    "FilterType",
    "Format",
    "KINDS",
    "Kind",
    "PreferenceType",
    "RegistryDocument",
    "RegistryIssue",
    "RegistryLoadError",
    "RegistryRejection",
    "RegistryService",
    "RegistrySnapshot",
    "RegistryStatus",
    "Section",
    "ShopSettings",
    "ShopperText",
    "SliderEffect",
    "SliderStop",
    "SliderType",
    "UnknownKindError",
    "ValueValidationError",
    "default_value",
    "detect_format",
    "kind_of",
    "load_file",
    "load_registry",
    "localize",
    "localize_list",
    "negotiate_locale",
    "read_file",
    "shopper_texts",
    "text_hash",
    "validate_value",
    "value_json_schema",
    "value_type",
]


def load_file(path: str) -> RegistrySnapshot:
    """Load and validate a registry file (format from its suffix)."""
    text, fmt = read_file(path)
    return load_registry(text, fmt, source=str(path))
