"""Per-kind tables outside the registry, keyed by kind name (``pref.kind``), and the components' own table.

A preference kind (consent, slider, filter) is one unit: the registry package defines it, and every part
of prefkit that must decide something per kind looks its own piece up by ``pref.kind`` in a
:class:`KindTable` (the components here: :data:`CONTROLS`; the BFF: ``bff.kinds.KINDS``; the QA kit:
``e2e.kinds.KINDS``) rather than through ``isinstance`` ladders, whose ``else`` branch sent an unknown
kind into another kind's code. A kind no table knows is an :class:`UnknownKindError` naming the kind,
the table and the kinds it does know.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Generic, TypeVar

from .consent_toggle import CONTROL as _CONSENT
from preference_registry import UnknownKindError as _RegistryUnknownKindError

from .common import ControlKind, ControlLayout, ControlSlot
from .filter_group import CONTROL as _FILTER
from .priorities import CONTROL as _PRIORITIES
from .slider import CONTROL as _SLIDER

__all__ = ["CONTROLS", "ControlKind", "ControlLayout", "ControlSlot", "KindTable", "UnknownKindError"]

T = TypeVar("T")


class UnknownKindError(_RegistryUnknownKindError, KeyError):
    """A preference kind a table has no entry for: the registry's own
    :class:`preference_registry.UnknownKindError`, so one ``except`` catches a kind unknown anywhere.

    Also a ``KeyError`` so that ``kind in table`` and ``table.get(kind)`` work as for any mapping, with a
    readable message (a bare ``KeyError`` prints only the quoted key)."""

    def __init__(self, message: str, kind: object, known: tuple[str, ...]) -> None:
        Exception.__init__(self, message)  # the registry error composes its own message from a kind name
        self.kind = kind  # type: ignore[assignment]
        self.known = known

    def __str__(self) -> str:
        return str(self.args[0])


class KindTable(Mapping[str, T], Generic[T]):
    """An immutable mapping kind name -> ``T`` that refuses unknown kinds with a clear message."""

    __slots__ = ("_entries", "what")

    def __init__(self, what: str, entries: Mapping[str, T]) -> None:
        self.what = what
        """What an entry is (``"control component"``), for messages."""
        self._entries = dict(entries)

    def __getitem__(self, kind: str) -> T:
        try:
            return self._entries[kind]
        except (KeyError, TypeError):  # TypeError: an unhashable "kind" from a hostile caller
            known = tuple(self._entries)
            raise UnknownKindError(
                f"no {self.what} for preference kind {kind!r} (known kinds: {', '.join(known)})", kind, known
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"KindTable({self.what!r}, {list(self._entries)})"

    def of(self, pref: Any) -> T:
        """The entry of ``pref``'s kind (anything with a ``kind`` attribute: a registry type, a QA-kit
        ``PreferenceInfo``); an object without one is an :class:`UnknownKindError` too."""
        kind = getattr(pref, "kind", None)
        if kind is None:
            message = f"no {self.what} for {type(pref).__name__}: it has no preference kind (.kind)"
            raise UnknownKindError(message, None, tuple(self))
        return self[kind]


CONTROLS: KindTable[ControlKind] = KindTable(
    "control component",
    {"consent": _CONSENT, "slider": _SLIDER, "filter": _FILTER, "priorities": _PRIORITIES},
)
"""Kind name -> how the components render and describe a preference of that kind."""
