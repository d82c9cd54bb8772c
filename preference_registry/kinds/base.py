"""What a preference kind is made of: the :class:`Kind` record every kind module fills in, and the pieces
the kinds share (the common shopper texts, the check context, how a submitted value is quoted).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

import msgspec

from ..common import PreferenceBase
from ..errors import RegistryIssue

__all__ = [
    "COMMON_TEXTS",
    "CheckContext",
    "Kind",
    "LabelledList",
    "ShopperText",
    "common_texts",
    "labelled_texts",
    "quote_value",
]

_P = TypeVar("_P", bound=PreferenceBase)


class ShopperText(NamedTuple):
    """One text a shopper reads about a preference type, as the merchant declared it (every locale)."""

    name: str
    """The field it is shown as: ``title``, ``description``, ``data_used``, ``benefit``, the name of one of
    the kind's labelled lists (:attr:`Kind.labelled_lists`: ``stops``, ``options``) or of its own texts."""
    text: Any
    """``LocalizedText`` or ``LocalizedList`` as declared; ``None`` when absent (or unreadable)."""
    path: str
    """Where it is declared, relative to the preference: ``title``, ``stops[2].label``."""
    is_list: bool = False
    """Whether ``text`` is a ``LocalizedList`` (localize it with ``localize_list``)."""
    item: tuple[str, Any] | None = None
    """For the label of a list item: the name and value of the field that identifies the item
    (``("value", 3)`` for a slider stop, ``("key", "eco")`` for a filter option); ``None`` otherwise."""


COMMON_TEXTS: tuple[tuple[str, bool], ...] = (
    ("title", False), ("description", False), ("data_used", True), ("benefit", False),
)
"""The texts every preference type has, with whether each is a list, in display order."""


def common_texts(pref: PreferenceBase) -> Iterator[ShopperText]:
    """The texts every kind shares (:data:`COMMON_TEXTS`) of ``pref``."""
    for name, is_list in COMMON_TEXTS:
        yield ShopperText(name, getattr(pref, name), name, is_list)


class LabelledList(NamedTuple):
    """A list field of a kind whose items each carry a shopper text: a slider's ``stops``, a filter's
    ``options``."""

    name: str
    """The list field, e.g. ``stops``."""
    id_field: str
    """The item field that identifies an item to the shopper and in the wording: ``value``, ``key``."""
    label_field: str = "label"
    """The item field holding its ``LocalizedText``."""


def labelled_texts(pref: PreferenceBase, labelled: LabelledList) -> Iterator[ShopperText]:
    """The labels of the items of one labelled list of ``pref``, in declaration order. An unreadable list or
    item (``None`` in a partly decoded document) has none."""
    for index, item in enumerate(getattr(pref, labelled.name) or []):
        if item is not None:
            yield ShopperText(labelled.name, getattr(item, labelled.label_field),
                              f"{labelled.name}[{index}].{labelled.label_field}",
                              item=(labelled.id_field, getattr(item, labelled.id_field)))


class CheckContext(Protocol):
    """What a kind's semantic checks may ask of the document checker (``validate._Checker``)."""

    def issue(self, path: str, message: str, expected: Any = None, got: Any = None,
              severity: str = "error") -> RegistryIssue:
        """An issue at ``path`` (the full path, e.g. ``preferences[3].max``)."""
        ...

    def readable(self, part: str, *fields: str) -> bool:
        """Whether every one of ``fields`` of ``part`` (e.g. ``preferences[3]``) could be decoded; a rule that
        reads a field that could not is skipped rather than run on a guess."""
        ...


def quote_value(raw: Any) -> str:
    """A submitted value as an error message quotes it (JSON, at most 80 characters)."""
    return "null" if raw is None else msgspec.json.encode(raw).decode()[:80]


def _no_terms(pref: Any) -> Mapping[str, Any]:
    return {}


def _no_texts(pref: Any) -> Iterable[ShopperText]:
    return ()


def _no_rules_across(ctx: Any, entries: Sequence[tuple[str, Any]]) -> Iterable[RegistryIssue]:
    return ()


@dataclass(frozen=True, slots=True)
class Kind(Generic[_P]):
    """Everything the registry knows about one kind of preference type. One module per kind builds one
    (``kinds/consent.py`` ...); :data:`preference_registry.kinds.KINDS` lists them."""

    name: str
    """The ``kind = ...`` of a registry entry; also the key of the per-kind tables of the BFF and the
    components."""
    struct: type[_P]
    """Its declaration: a frozen Struct subclassing ``PreferenceBase`` with ``tag=name``."""
    value_type: Callable[[_P], Any]
    """The msgspec type of a value of a declaration (constraints as ``Meta``)."""
    value_schema: Callable[[_P], dict[str, Any]]
    """JSON Schema of a value (for OpenAPI): the schema of ``value_type`` plus what msgspec cannot state."""
    validate_value: Callable[[_P, Any], Any]
    """A submitted value, normalized, or ``ValueValidationError`` saying exactly what is wrong."""
    default_value: Callable[[_P], Any]
    """The value before the shopper chooses anything."""
    check: Callable[[CheckContext, _P, str], Iterable[RegistryIssue]]
    """The rules a type system cannot express, for one declaration at a path (``preferences[3]``). Runs on
    partly readable declarations too: any field may be ``None``, see :meth:`CheckContext.readable`."""
    check_all: Callable[[CheckContext, Sequence[tuple[str, _P]]], Iterable[RegistryIssue]] = _no_rules_across
    """The rules across every declaration of the kind in a document, given as ``(path, declaration)`` pairs
    in file order (e.g. two consents granting one Consent Mode type differently). Same tolerance as
    :attr:`check`."""
    labelled_lists: tuple[LabelledList, ...] = ()
    """Its lists whose items carry a shopper text (stops, options): shown, hashed and checked for
    translations item by item, and part of the wording even when empty."""
    texts: Callable[[_P], Iterable[ShopperText]] = _no_texts
    """Any other shopper texts of the kind, beyond :data:`COMMON_TEXTS` and its labelled lists. Must
    tolerate ``None`` for unreadable fields."""
    agreed_terms: Callable[[_P], Mapping[str, Any]] = _no_terms
    """Non-text terms that change what the shopper agrees to (a consent's mechanism): hashed with the
    texts, so a change of them makes earlier decisions stale like a change of wording."""
    description: str = field(default="")
    """One line for documentation (OpenAPI, ``docs/architecture.md``)."""

    def __post_init__(self) -> None:
        # The table key, the Struct's tag and its `kind` attribute must agree, or decoding (by tag) and
        # dispatch (by name) would disagree about what an entry is.
        tag = self.struct.__struct_config__.tag
        if tag != self.name or getattr(self.struct, "kind", None) != self.name:
            raise ValueError(f"kind {self.name!r}: {self.struct.__name__} has tag {tag!r} and kind "
                             f"{getattr(self.struct, 'kind', None)!r}; both must be {self.name!r}")
