"""The ranking contract: what a ranking engine gets, what it returns, and how prefkit checks it.

A **ranker** is anything callable as ``ranker(candidates, profile, *, offset, limit) -> RankedPage`` (the
:class:`Ranker` protocol). prefkit's own ranking (:func:`bff.catalog.ranking.rank_candidates`) is one; a shop
plugs in its own with ``CatalogPlugin(ranker=...)`` and ``GET /api/v1/catalog``, the product endpoint, the demo
pages and the live listing widget all use it.

In
    ``candidates``  the :class:`Candidates` a query selected (search text, category), in neutral order
                    (popularity descending, then catalog order); a read-only sequence of the catalog's items.
    ``profile``     the shopper's :class:`bff.profile.Profile`: everything they allowed, nothing else.
    ``offset``, ``limit``  the page: the ranker returns ranked places ``offset + 1 .. offset + limit``.

Out
    a :class:`RankedPage`: how many candidates it kept (all pages), whether the shopper's choices shaped
    the order, and the page's :class:`RankedItem` entries in rank order, each with *unrendered* reasons
    (:class:`Reason`: a code, an effect, the preference key, structured params). prefkit renders them in the
    shopper's language (:mod:`bff.catalog.explain`), so an engine never deals with wording or locales.

The rules every engine must keep (hard filters narrow, neutral order without consent...) are documented
with the reference ranking in :mod:`bff.catalog.ranking`; docs/catalog.md shows a shop engine in 20 lines.

This module depends on nothing else of the catalog (the explanation and ranking modules both import it), so
the contract has no import cycle behind it.
"""

from __future__ import annotations

import inspect
from collections.abc import Hashable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar, overload, runtime_checkable

import msgspec

if TYPE_CHECKING:
    from bff.profile import Profile

__all__ = [
    "Candidates",
    "Effect",
    "RankedItem",
    "RankedPage",
    "Ranker",
    "RankerError",
    "Reason",
    "check_ranker",
    "checked_page",
]

Item = TypeVar("Item")
Effect = Literal["shown", "higher", "lower", "neutral"]
"""What a reason did to an item: ``shown`` (passed a filter), ``higher``/``lower`` (moved), ``neutral``."""


class Reason(msgspec.Struct, frozen=True, kw_only=True):
    """One structured reason why an item is shown, or shown where it is."""

    code: str
    """What happened. prefkit's own: ``filter.include``, ``filter.prefer``, ``criterion.better``,
    ``criterion.worse``, ``order.popular``, ``order.default``, ``order.neutral``; a shop's engine may use its
    own codes and give their sentences to ``CatalogPlugin(messages=...)``."""
    effect: Effect
    """``shown`` (passed a filter), ``higher``/``lower`` (moved by a signal) or ``neutral``."""
    preference: str | None = None
    """Registry key of the preference behind it, if any (its title fills ``{title}`` in the sentence)."""
    params: dict[str, Any] = msgspec.field(default_factory=dict)
    """Details for the sentence: ``options`` (selected option keys), ``attribute``, ``prefer``, ``value``...;
    a shop's own scalar params fill the ``{name}`` fields of its own sentences."""


class RankedItem(msgspec.Struct, Generic[Item], frozen=True, kw_only=True):
    """An item in its place in the ranked list."""

    item: Item
    """The catalog item (one of the candidates)."""
    position: int
    """1-based position in the whole ranked list (not just the page): ``offset + 1`` for the first."""
    score: float
    """Ranking score (higher first); shown to API clients, not compared by prefkit."""
    reasons: list[Reason]
    """Structured reasons, most important first."""
    explanation: list[str] = msgspec.field(default_factory=list)
    """``reasons`` rendered, same order: filled only by :func:`bff.catalog.ranking.rank_page` when asked to
    render; an engine leaves it empty (prefkit renders the reasons it returns)."""


class RankedPage(msgspec.Struct, Generic[Item], frozen=True, kw_only=True):
    """One page of a ranked result."""

    total: int
    """Number of items kept (all pages)."""
    personalized: bool
    """Whether personal signals shaped the order (false: neutral popularity order)."""
    items: list[RankedItem[Item]]
    """The page, in rank order."""


class Candidates(Sequence[Item]):
    """The items one query selected, in neutral order: what a :class:`Ranker` ranks.

    A read-only sequence (``len``, indexing, iteration) of the catalog's own items. An engine that keeps
    its own index of the catalog can use :attr:`catalog`, :attr:`positions` and :attr:`key` instead of
    iterating.
    """

    __slots__ = ("_items", "catalog", "key", "positions")

    # ``catalog`` is a bff.catalog.data.Catalog; not annotated as one, as the catalog's modules import this one.
    def __init__(self, catalog: Any, positions: Sequence[int] | None = None, key: Hashable | None = None) -> None:
        self.catalog = catalog
        """The whole :class:`~bff.catalog.data.Catalog` the candidates come from."""
        self.positions = positions
        """Ascending positions in ``catalog.index.items`` (``None``: every item of the catalog)."""
        self.key = key
        """What identifies this selection (the same key always comes with the same positions; ``None`` with
        ``positions=None``): a cache key for an engine's per-selection work."""
        self._items: Sequence[Item] = catalog.index.items

    def __len__(self) -> int:
        return len(self._items) if self.positions is None else len(self.positions)

    @overload
    def __getitem__(self, index: int) -> Item: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Item]: ...
    def __getitem__(self, index: int | slice) -> Item | Sequence[Item]:
        if self.positions is None:
            return self._items[index]
        if isinstance(index, slice):
            return [self._items[i] for i in self.positions[index]]
        return self._items[self.positions[index]]

    def __iter__(self) -> Iterator[Item]:
        if self.positions is None:
            return iter(self._items)
        items = self._items
        return (items[i] for i in self.positions)

    def __repr__(self) -> str:
        return f"Candidates({len(self)} of {len(self._items)} items, key={self.key!r})"


@runtime_checkable
class Ranker(Protocol[Item]):
    """A ranking engine: ``ranker(candidates, profile, *, offset, limit) -> RankedPage``.

    Any callable with this signature satisfies it (a function, or an object with ``__call__``). It must
    return the ranked places ``offset + 1 .. offset + limit`` of the kept candidates (fewer on the last
    page, none beyond it), best first, each with its structured reasons; ``total`` counts every kept
    candidate. It must keep the rules of :mod:`bff.catalog.ranking` (hard filters narrow, no personal signal
    when ``profile.personalized`` is false, equal input gives equal output). It may be called from several
    threads at once.
    """

    def __call__(self, candidates: Candidates[Item], profile: Profile, *, offset: int,
                 limit: int) -> RankedPage[Item]: ...


class RankerError(TypeError):
    """A ranking engine that does not satisfy :class:`Ranker` (raised at start-up), or returned something
    that is not a :class:`RankedPage` (raised when it does)."""


_SIGNATURE = "ranker(candidates, profile, *, offset, limit) -> RankedPage"


def check_ranker(ranker: object, *, where: str = "ranker") -> Ranker[Any]:
    """``ranker`` if it can be called as a :class:`Ranker`, else a :class:`RankerError` saying why.

    Only the call shape can be checked before the first query (what it returns is checked on every call):
    two positional arguments and the keyword arguments ``offset`` and ``limit``.
    """
    if not callable(ranker):
        raise RankerError(f"{where}: expected a Ranker, a callable {_SIGNATURE}; got {_describe(ranker)}, "
                          "which is not callable")
    try:
        signature = inspect.signature(ranker)
    except (TypeError, ValueError):  # a builtin without a signature: nothing to check before it runs
        return ranker  # type: ignore[return-value]
    try:
        signature.bind(None, None, offset=0, limit=1)
    except TypeError as exc:
        raise RankerError(f"{where}: expected a Ranker, a callable {_SIGNATURE}; {_describe(ranker)} has the "
                          f"signature {signature}, which cannot be called like that ({exc})") from None
    return ranker  # type: ignore[return-value]


def checked_page(result: object, ranker: object) -> RankedPage[Any]:
    """``result`` if it is a :class:`RankedPage` (what ``ranker`` returned), else a :class:`RankerError`."""
    if not isinstance(result, RankedPage):
        raise RankerError(f"{_describe(ranker)} returned {_describe(result)}, expected a RankedPage")
    return result


def _describe(value: object) -> str:
    name = getattr(value, "__qualname__", None)
    if isinstance(name, str) and callable(value):
        return f"{getattr(value, '__module__', '?')}.{name}"
    return f"{type(value).__module__}.{type(value).__qualname__} object"
