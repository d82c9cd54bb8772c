"""The kinds of preference type, one module each, and the one table that lists them.

A kind (``consent``, ``slider``, ``filter``) is one unit: its module holds the declaration Struct, the value
type, value validation, the semantic checks, the shopper-visible texts and the default, and exports them as
one :class:`Kind`. Everything else of the registry dispatches through :data:`KINDS`: the document's union
of preference types, the loader's lookup by ``kind = ...``, values, checks and wording hashes. Adding a
kind is a new module here plus one entry in the table below; the BFF and the components key their own
per-kind parts by :attr:`Kind.name`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any, Union

from ..errors import UnknownKindError
from ..i18n import localize as _localize
from ..i18n import localize_list as _localize_list
from .base import COMMON_TEXTS, CheckContext, Kind, LabelledList, ShopperText, common_texts, labelled_texts
from .consent import KIND as _CONSENT
from .filter import KIND as _FILTER
from .priorities import KIND as _PRIORITIES
from .slider import KIND as _SLIDER

__all__ = [
    "COMMON_TEXTS",
    "KINDS",
    "CheckContext",
    "Kind",
    "LabelledList",
    "ShopperText",
    "UnknownKindError",
    "common_texts",
    "kind_of",
    "labelled_texts",
    "localized_texts",
    "preference_union",
    "shopper_texts",
    "wording",
]

KINDS: Mapping[str, Kind[Any]] = MappingProxyType({kind.name: kind for kind in (_CONSENT, _SLIDER, _FILTER, _PRIORITIES)})
"""Every kind, by name, in the order the documentation and error messages list them. Read-only: a kind is
added here, in the source, not registered at run time."""


def preference_union(kinds: Mapping[str, Kind[Any]] = KINDS) -> Any:
    """The tagged union of the kinds' Structs, as msgspec decodes a ``preferences`` entry by its ``kind``."""
    structs = tuple(kind.struct for kind in kinds.values())
    return Union[structs]  # noqa: UP007 - built at run time from the table; `|` cannot take a tuple


def kind_of(pref_or_name: Any, kinds: Mapping[str, Kind[Any]] = KINDS) -> Kind[Any]:
    """The :class:`Kind` of a declaration, or of a kind name; :class:`UnknownKindError` for anything else.

    A declaration must be an instance of its kind's Struct: an object that merely claims a kind (``kind =
    "slider"`` on something else) would fail deep inside that kind's code, so it is refused here instead.
    """
    name = pref_or_name if isinstance(pref_or_name, str) else getattr(pref_or_name, "kind", None)
    kind = kinds.get(name) if isinstance(name, str) else None
    if kind is None:
        what = repr(name) if isinstance(name, str) else f"(none on {type(pref_or_name).__name__})"
        raise UnknownKindError(what, tuple(kinds))
    if not isinstance(pref_or_name, str) and not isinstance(pref_or_name, kind.struct):
        raise UnknownKindError(f"{name!r} on a {type(pref_or_name).__name__}, not a {kind.struct.__name__}",
                               tuple(kinds))
    return kind


def shopper_texts(pref: Any) -> Iterator[ShopperText]:
    """Every text the shopper reads about ``pref``, as declared: the common ones (:data:`COMMON_TEXTS`), then
    the kind's own (stop labels, option labels...), in display order.

    The one enumeration of a type's shopper-visible texts: the wording hash (:func:`wording`), the
    translation checks, the API's registry view and the subject-rights export all read it, so a text added
    to a kind is hashed, checked, served and exported without a second list to keep in step.
    """
    kind = kind_of(pref)
    yield from common_texts(pref)
    for labelled in kind.labelled_lists:
        yield from labelled_texts(pref, labelled)
    yield from kind.texts(pref)


def wording(pref: Any) -> dict[str, Any]:
    """Everything that decides what the shopper agrees to about ``pref``, in every locale: the texts (each
    labelled list as ``[(identifying value, label), ...]``, present even when empty) and the kind's agreed
    terms. ``text_hash`` hashes it; its shape is part of the ledger format (stored hashes depend on it)."""
    kind = kind_of(pref)
    result: dict[str, Any] = {}
    for text in shopper_texts(pref):
        if text.item is None:
            result[text.name] = text.text
        else:
            result.setdefault(text.name, []).append((text.item[1], text.text))
    for labelled in kind.labelled_lists:
        result.setdefault(labelled.name, [])
    result.update(kind.agreed_terms(pref))
    return result


def localized_texts(pref: Any, locale: str, default_locale: str) -> dict[str, Any]:
    """``pref``'s shopper texts in one locale (falling back to the default locale), as frontends and exports
    show them: ``title``, ``description`` (``None`` when absent), ``data_used`` (a list), ``benefit``, and
    each labelled list of the kind as ``[{"value": 0, "label": "Off"}, ...]`` (``{"key": ..., "label": ...}``
    for options), present even when empty."""
    kind = kind_of(pref)
    result: dict[str, Any] = {}
    for text in shopper_texts(pref):
        shown = _localize_list(text.text, locale, default_locale) if text.is_list \
            else _localize(text.text, locale, default_locale)
        if text.item is None:
            result[text.name] = shown
        else:
            result.setdefault(text.name, []).append({text.item[0]: text.item[1], "label": shown})
    for labelled in kind.labelled_lists:
        result.setdefault(labelled.name, [])
    return result
