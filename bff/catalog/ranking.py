"""Ranking products by the shopper's own choices: a small, pure, replaceable function.

The contract (what a shop's own search or recommendation engine must honour to replace this module)
-------------------------------------------------------------------------------------------------
Plug an engine in with ``CatalogPlugin(ranker=engine)``: any :class:`~bff.catalog.contract.Ranker`, called
as ``engine(candidates, profile, *, offset, limit)`` and returning a :class:`RankedPage` with structured
reasons (:func:`rank_candidates` is this module's); ``GET /api/v1/catalog``, the demo pages and the live
listing then all use it. Whatever it does inside, it must keep these rules:

Input is a catalog item and a :class:`bff.profile.Profile`; output is a :class:`Decision`
``(kept, score, reasons)``. Nothing else about the shopper may be used: the profile already leaves out
everything the shopper did not allow (a preference whose required consent is missing is simply absent).

* Every rule is read from the registry declarations the profile carries (``FilterProfile.attribute``,
  ``.rule``, ``.weight``; ``SliderProfile.rule``, ``.low``, ``.high``); no preference key is hard-coded.
* Filters. ``include``: keep only items whose attribute value is one of the selected values (several include
  filters must all hold; within one filter any selected value matches). ``exclude``: hide items whose value is
  selected. ``prefer``: nothing hidden; a matching item gains ``weight`` (from the registry).
* Sliders. ``balance``: at position ``t`` (0..1) the ``low`` criterion counts ``1 - t`` and the ``high`` one
  ``t``. ``weight``: the ``high`` criterion counts ``t``. ``personalization``: multiplies every personal signal
  by its position (0 means neutral order; several such sliders multiply). ``discovery``: reserves a share
  ``t * DISCOVERY_MAX_SHARE`` of the positions (at the maximum every 4th: 4, 8, 12...) for popular items
  *outside* the shopper's preferences — those whose personal score is below the candidates' median, in
  neutral order — explained as ``order.discovery``. They come from the candidate set, so hard filters hold;
  ``t = 0`` changes nothing, and so does a neutral order. The merge is a pure function of the candidates and
  the profile, so every page of one query is a slice of one order (stable paging). Several discovery
  sliders: the largest share counts.
* Priorities. The shopper's order of criteria (``PrioritiesProfile.criteria``) becomes one criterion signal
  each, weighted by rank-sum weights (:func:`bff.kinds.rank_weights`: with four criteria 0.4, 0.3, 0.2,
  0.1 of the type's ``weight``); left-out criteria count nothing. Explained as ``priority.better`` /
  ``priority.worse`` ("Ranked higher: lower price, because you put “Price” first").
* Numeric criteria are min-max normalized over the candidate set (the items left after search, category
  and hard filters), so ``1.0`` is the best candidate and ``0.0`` the worst whatever the unit; a missing or
  non-numeric value counts as worst. Without spread every candidate gets ``0.5``.
* ``score = NEUTRAL_WEIGHT * popularity + intensity * sum(weight * signal)`` where popularity is the
  normalized neutral attribute (``popularity`` by default). Ties keep the neutral order: popularity
  descending, then catalog order. Equal input gives equal output (stable, deterministic).
* Neutral fallback. When ``profile.personalized`` is false (recommendations consent withdrawn, personalization
  level off), the order is the neutral popularity order, never a personalized one; ``prefer`` filters and
  sliders are ignored. Hard filters (``include``/``exclude``) in effect *still narrow the list*: a filter is an
  explicit instruction the shopper gave ("only eco products"), not an inference about them, and the profile
  contains a filter only when its own requirements are met — a filter that needs the recommendations consent
  is already absent from the profile when that consent is missing.
* Reasons are structured (:class:`Reason`: ``code``, ``effect``, ``preference``, ``params``) and carry keys
  only; :mod:`bff.catalog.explain` renders them in the shopper's language with the registry's own titles and
  option labels. Codes: ``filter.include``, ``filter.prefer``, ``criterion.better``, ``criterion.worse``,
  ``priority.better``, ``priority.worse``, ``order.popular``, ``order.default``, ``order.neutral``,
  ``order.discovery``.

What each preference kind contributes is looked up by kind name in :data:`RANKING_KINDS` (and, within a
kind, by rule: :data:`FILTER_RULES`, :data:`SLIDER_RULES`), so a new kind or rule is one table entry.

Performance: :class:`RankingIndex` keeps the catalog in neutral order with per-attribute columns built once
per catalog; for the whole catalog and for each recent combination of hard filters (no search or category)
it also caches the candidate positions and each attribute's min/max and 0..1 column, so a query only weights
and adds lists in C (``map``) and picks the page with a heap. Reasons are worked out only for the page actually returned. Every path (whole catalog, subset, single
item) uses one normalization formula, so a product scores and is explained identically in all of them.
"""

from __future__ import annotations

import heapq
import operator
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import repeat
from threading import Lock
from typing import Any, Generic, Literal, TypeVar

import msgspec

from bff.profile import FilterProfile, PrioritiesProfile, Profile, SliderProfile

from .contract import Candidates, Effect, RankedItem, RankedPage, Reason
from .explain import ReasonTexts

__all__ = [
    "DISCOVERY_MAX_SHARE",
    "FILTER_RULES",
    "NEUTRAL_WEIGHT",
    "RANKING_KINDS",
    "SLIDER_RULES",
    "Decision",
    "Effect",
    "KindRanking",
    "PlanBuilder",
    "RankedItem",
    "RankedPage",
    "RankingIndex",
    "Reason",
    "Scales",
    "candidate_scales",
    "filter_predicate",
    "rank",
    "rank_candidates",
    "rank_catalog",
    "rank_page",
]

Item = TypeVar("Item")
Scales = Mapping[str, tuple[float, float]]
"""Per attribute, the ``(min, max)`` of the candidate set, used to normalize one item like the whole set."""

NEUTRAL_WEIGHT = 0.25
"""Weight of popularity next to personal signals (each at most 1.0 times its registry weight)."""
POPULAR_THRESHOLD = 0.8
"""Normalized popularity from which a personalized item is explained as popular."""
BETTER_THRESHOLD = 0.65
"""Normalized criterion score from which an item is "better" on it (``1 - this``: "worse")."""
VIEW_CACHE_SIZE = 32
"""Hard-filter combinations whose candidate sets a :class:`RankingIndex` keeps (least recently used go)."""
NOTICEABLE_WEIGHT = 0.15
"""Effective weight (intensity x slider share) from which a criterion is worth explaining."""
DISCOVERY_MAX_SHARE = 0.25
"""Share of positions a ``discovery`` slider at its maximum reserves for items outside the shopper's
preferences (every 4th position)."""


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    """What the ranking decided for one item."""

    kept: bool
    """Whether the item is shown at all."""
    score: float
    """Higher ranks first (0.0 for items not kept)."""
    reasons: list[Reason]
    """Why it is shown where it is (empty for items not kept)."""


# --- the compiled profile ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _HardFilter:
    key: str
    attribute: str
    exclude: bool
    values: frozenset[Any]
    choices: tuple[tuple[str, Any], ...]
    """Selected ``(option key, match value)`` pairs, to name the option an item matched."""


@dataclass(frozen=True, slots=True)
class _Signal:
    """A personal ranking signal: a ``prefer`` filter (``values`` set) or a slider criterion."""

    key: str
    attribute: str
    weight: float
    """Registry weight x slider share x personalization intensity."""
    values: frozenset[Any] | None = None
    choices: tuple[tuple[str, Any], ...] = ()
    prefer: Literal["lower", "higher"] = "higher"
    slider_value: float | None = None
    criterion: str | None = None
    """For a priorities criterion: its key (and :attr:`position` its place in the shopper's order)."""
    position: int | None = None


@dataclass(frozen=True, slots=True)
class _Plan:
    personalized: bool
    hard: tuple[_HardFilter, ...]
    signals: tuple[_Signal, ...]
    discovery: float = 0.0
    """Share of positions reserved for items outside the shopper's preferences (0: none)."""
    discovery_key: str | None = None


@dataclass(slots=True)
class PlanBuilder:
    """What a profile's entries ask of one query, collected entry by entry (:data:`RANKING_KINDS`).

    Signals are added with their registry weight; :meth:`plan` scales them by the personalization
    intensity every ``personalization`` rule contributed, or drops them all when the order must be neutral.
    """

    hard: list[_HardFilter] = field(default_factory=list)
    """Hard filters, in profile order."""
    signals: list[_Signal] = field(default_factory=list)
    """Personal signals with their unscaled weights, in profile order."""
    intensity: float = 1.0
    """Product of the personalization factors (0..1 each)."""
    discovery: float = 0.0
    """Share of positions for discovery (the largest a ``discovery`` rule asked for)."""
    discovery_key: str | None = None
    """The preference that asked for it."""

    def hard_filter(self, flt: FilterProfile, *, exclude: bool) -> None:
        """Keep only (``exclude``: hide) items whose attribute value is one of the filter's values."""
        assert flt.attribute is not None
        self.hard.append(_HardFilter(key=flt.key, attribute=flt.attribute, exclude=exclude,
                                     values=frozenset(flt.values), choices=tuple(zip(flt.options, flt.values))))

    def signal(self, signal: _Signal) -> None:
        """A personal signal (weight before intensity)."""
        self.signals.append(signal)

    def scale(self, factor: float) -> None:
        """Multiply every personal signal by ``factor`` (clamped to 0..1)."""
        self.intensity *= min(1.0, max(0.0, factor))

    def discover(self, key: str, share: float) -> None:
        """Reserve ``share`` (0..:data:`DISCOVERY_MAX_SHARE`) of the positions for discovery."""
        share = min(DISCOVERY_MAX_SHARE, max(0.0, share))
        if share > self.discovery:
            self.discovery, self.discovery_key = share, key

    def plan(self, profile: Profile) -> _Plan:
        if not profile.personalized or self.intensity <= 0.0:
            return _Plan(personalized=False, hard=tuple(self.hard), signals=())
        intensity = self.intensity
        return _Plan(personalized=True, hard=tuple(self.hard),
                     signals=tuple(replace(s, weight=s.weight * intensity) for s in self.signals),
                     discovery=self.discovery, discovery_key=self.discovery_key)


def _include(flt: FilterProfile, builder: PlanBuilder) -> None:
    builder.hard_filter(flt, exclude=False)


def _exclude(flt: FilterProfile, builder: PlanBuilder) -> None:
    builder.hard_filter(flt, exclude=True)


def _prefer(flt: FilterProfile, builder: PlanBuilder) -> None:
    assert flt.attribute is not None
    builder.signal(_Signal(key=flt.key, attribute=flt.attribute, weight=flt.weight, values=frozenset(flt.values),
                           choices=tuple(zip(flt.options, flt.values))))


def _criteria(slider: SliderProfile, builder: PlanBuilder, shares: list[tuple[Any, float]]) -> None:
    for criterion, share in shares:
        if criterion is not None and share > 0.0:
            builder.signal(_Signal(key=slider.key, attribute=criterion.attribute, weight=share,
                                   prefer=criterion.prefer, slider_value=slider.value))


def _position(slider: SliderProfile) -> float:
    return min(1.0, max(0.0, slider.normalized))


FILTER_RULES: Mapping[str, Callable[[FilterProfile, PlanBuilder], None]] = {
    "include": _include,
    "exclude": _exclude,
    "prefer": _prefer,
}
"""A filter's ranking effect by its ``applies_to.rule``."""

SLIDER_RULES: Mapping[str, Callable[[SliderProfile, PlanBuilder], None]] = {
    "personalization": lambda slider, builder: builder.scale(slider.normalized),
    "balance": lambda slider, builder: _criteria(slider, builder, [(slider.low, 1.0 - _position(slider)),
                                                                   (slider.high, _position(slider))]),
    "weight": lambda slider, builder: _criteria(slider, builder, [(slider.high, _position(slider))]),
    "discovery": lambda slider, builder: builder.discover(slider.key,
                                                          _position(slider) * DISCOVERY_MAX_SHARE),
}
"""A slider's ranking effect by its ``applies_to.rule``."""


def _filter_entry(flt: FilterProfile, builder: PlanBuilder) -> None:
    if flt.attribute is None:
        return  # declared without applies_to: stored and exposed, but nothing to do in the catalog
    rule = FILTER_RULES.get(flt.rule)
    if rule is not None:
        rule(flt, builder)


def _slider_entry(slider: SliderProfile, builder: PlanBuilder) -> None:
    rule = SLIDER_RULES.get(slider.rule) if slider.rule is not None else None
    if rule is not None:
        rule(slider, builder)


def _priorities_entry(priorities: PrioritiesProfile, builder: PlanBuilder) -> None:
    for criterion in priorities.criteria:
        if criterion.weight > 0.0:
            builder.signal(_Signal(key=priorities.key, attribute=criterion.attribute, weight=criterion.weight,
                                   prefer=criterion.prefer, criterion=criterion.key,
                                   position=criterion.position))


@dataclass(frozen=True, slots=True)
class KindRanking:
    """What one preference kind contributes to the ranking."""

    entries: Callable[[Profile], Sequence[Any]]
    """The profile's entries of this kind."""
    contribute: Callable[[Any, PlanBuilder], None]
    """Adds one entry's hard filters, signals or intensity to the plan."""


RANKING_KINDS: Mapping[str, KindRanking] = {
    "filter": KindRanking(entries=lambda profile: profile.filters, contribute=_filter_entry),
    "slider": KindRanking(entries=lambda profile: profile.sliders, contribute=_slider_entry),
    "priorities": KindRanking(entries=lambda profile: profile.priorities, contribute=_priorities_entry),
}
"""Per preference kind (``pref.kind``), its ranking contribution; kinds without one (``consent``) shape the
profile only. Applied in this order, so reasons of equal strength keep it."""


def _compile(profile: Profile) -> _Plan:
    """Everything the profile asks for, as flat rules (done once per query, not per item)."""
    builder = PlanBuilder()
    for kind in RANKING_KINDS.values():
        for entry in kind.entries(profile):
            kind.contribute(entry, builder)
    return builder.plan(profile)


# --- the catalog index -------------------------------------------------------------------------------


def _getter(items: Sequence[Any]) -> Callable[[Any, str], Any]:
    if items and isinstance(items[0], Mapping):
        return lambda item, name: item.get(name)
    return lambda item, name: getattr(item, name, None)


class _View:
    """Candidate positions (``None``: every item) and what is derived from them alone."""

    __slots__ = ("positions", "cache", "lock")

    def __init__(self, positions: list[int] | None) -> None:
        self.positions = positions
        self.cache: dict[tuple[Any, ...], Any] = {}
        self.lock = Lock()

    def get(self, key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
        value = self.cache.get(key)
        if value is None:
            value = build()
            with self.lock:
                value = self.cache.setdefault(key, value)
        return value


class RankingIndex(Generic[Item]):
    """A catalog prepared for ranking: items in neutral order, attribute columns built on first use.

    Build it once per catalog (it is immutable and safe to share between requests). Items are anything with
    their attributes as Python attributes (Structs, dataclasses) or mapping keys.
    """

    __slots__ = ("items", "neutral_attribute", "_columns", "_views", "_get", "_lock")

    def __init__(self, items: Sequence[Item], *, neutral_attribute: str = "popularity") -> None:
        get = _getter(items)
        popularity = [_number(get(item, neutral_attribute)) for item in items]
        # Stable sort: equal popularity keeps catalog order, the documented tie-break.
        order = sorted(range(len(items)), key=lambda i: -(popularity[i] if popularity[i] is not None else
                                                            float("-inf")))
        self.items: tuple[Item, ...] = tuple(items[i] for i in order)
        """Items in neutral order (popularity descending, then catalog order)."""
        self.neutral_attribute = neutral_attribute
        self._get = get
        self._columns: dict[str, list[Any]] = {}
        self._views: OrderedDict[tuple[Any, ...], _View] = OrderedDict()
        self._lock = Lock()

    def __len__(self) -> int:
        return len(self.items)

    def value(self, item: Any, attribute: str) -> Any:
        """``item``'s value of ``attribute`` (``None`` where missing), read as the index reads its columns."""
        return self._get(item, attribute)

    def column(self, attribute: str) -> list[Any]:
        """Every item's value of ``attribute`` (``None`` where missing), in index order. Cached."""
        column = self._columns.get(attribute)
        if column is None:
            with self._lock:
                column = self._columns.get(attribute)
                if column is None:
                    column = [self._get(item, attribute) for item in self.items]
                    self._columns[attribute] = column
        return column

    def view(self, rules: tuple[Any, ...], build: Callable[[], list[int] | None]) -> _View:
        """The candidate set a combination of hard filters leaves (``()``: the whole catalog), with its own
        cache of bounds and 0..1 columns. The most recent :data:`VIEW_CACHE_SIZE` combinations are kept."""
        with self._lock:
            view = self._views.get(rules)
            if view is not None:
                self._views.move_to_end(rules)
                return view
        view = _View(build())
        with self._lock:
            view = self._views.setdefault(rules, view)
            self._views.move_to_end(rules)
            while len(self._views) > VIEW_CACHE_SIZE:
                self._views.popitem(last=False)
        return view


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and value == value:  # excludes NaN; bool counts as 0/1
        return float(value)
    return None


def _bounds(values: Sequence[Any]) -> tuple[float, float] | None:
    try:
        return float(min(values)), float(max(values))
    except (TypeError, ValueError):  # None or text in the column (or no values): numeric values only
        numbers = [n for n in map(_number, values) if n is not None]
        return (min(numbers), max(numbers)) if numbers else None


def _unit(values: Sequence[Any], prefer: str, bounds: tuple[float, float] | None, clamp: bool) -> list[float]:
    """Min-max scores in 0..1, 1.0 being best for ``prefer``; missing values score 0.0.

    The one formula every path uses (``slope * v - offset``), so a product scores bit-for-bit the same in
    the whole catalog, in a search result and alone. ``clamp`` is needed only when ``bounds`` come from
    elsewhere (:func:`rank` with given scales).
    """
    if bounds is None:
        return [0.0] * len(values)
    low, high = bounds
    span = high - low
    if span <= 0:
        return [0.5 if _number(v) is not None else 0.0 for v in values]
    slope = 1.0 / span
    if prefer == "lower":
        slope, offset = -slope, -high / span  # (high - v) / span
    else:
        offset = low / span                   # (v - low) / span
    try:
        scored = [slope * v - offset for v in values]
    except TypeError:
        scored = [0.0 if n is None else slope * n - offset for n in map(_number, values)]
    if clamp:
        scored = [min(1.0, max(0.0, x)) for x in scored]
    return scored


# --- evaluation (shared by the single-item and the whole-catalog paths) ------------------------------


@dataclass(slots=True)
class _Evaluation:
    positions: list[int] | None
    """Index positions of the kept items in neutral order; ``None``: every item of the index."""
    scores: list[float]
    popularity: list[float]
    """Normalized popularity (0..1) per kept item."""
    features: list[list[float]]
    """Per signal, each kept item's 0..1 feature (match or normalized criterion), before weighting."""

    def position(self, row: int) -> int:
        return row if self.positions is None else self.positions[row]


def _filter(plan: _Plan, index: RankingIndex[Any], positions: list[int] | None) -> list[int] | None:
    for rule in plan.hard:
        column, values = index.column(rule.attribute), rule.values
        candidates = range(len(index)) if positions is None else positions
        if rule.exclude:
            positions = [i for i in candidates if column[i] not in values]
        else:
            positions = [i for i in candidates if column[i] in values]
    return positions


def _gather(index: RankingIndex[Any], attribute: str, positions: list[int] | None) -> Sequence[Any]:
    column = index.column(attribute)
    return column if positions is None else [column[i] for i in positions]


def _candidate_bounds(plan: _Plan, index: RankingIndex[Any], positions: list[int] | None) -> dict[str, Any]:
    attributes = {index.neutral_attribute} | {s.attribute for s in plan.signals if s.values is None}
    return {name: _bounds(_gather(index, name, positions)) for name in attributes}


def _evaluate(plan: _Plan, index: RankingIndex[Any], positions: list[int] | None,
              bounds: Mapping[str, Any] | None = None, candidates_key: Hashable | None = None) -> _Evaluation:
    """Scores of the kept items among ``positions`` (``None``: all); ``bounds`` overrides the candidates'
    min/max (and then clamps). ``candidates_key`` names ``positions`` so their candidate set is cached."""
    if bounds is None and (positions is None or candidates_key is not None):
        rules = (candidates_key, *((rule.attribute, rule.exclude, rule.values) for rule in plan.hard))
        return _evaluate_view(plan, index, index.view(rules, lambda: _filter(plan, index, positions)))
    positions = _filter(plan, index, positions)
    clamp = bounds is not None
    gathered: dict[str, Sequence[Any]] = {}

    def values(attribute: str) -> Sequence[Any]:
        if attribute not in gathered:
            gathered[attribute] = _gather(index, attribute, positions)
        return gathered[attribute]

    if bounds is None:
        bounds = {name: _bounds(values(name))
                  for name in {index.neutral_attribute} | {s.attribute for s in plan.signals if s.values is None}}
    neutral = index.neutral_attribute
    popularity = _unit(values(neutral), "higher", bounds.get(neutral), clamp)
    features: list[list[float]] = []
    for signal in plan.signals:
        if signal.values is not None:
            matches = signal.values
            features.append([1.0 if v in matches else 0.0 for v in values(signal.attribute)])
        else:
            features.append(_unit(values(signal.attribute), signal.prefer, bounds.get(signal.attribute), clamp))
    return _scored(plan, positions, popularity, features)


def _scored(plan: _Plan, positions: list[int] | None, popularity: list[float],
            features: list[list[float]]) -> _Evaluation:
    # Lazy maps: one list per signal, no intermediate weighted copies (this is the hot loop of a query).
    scores = list(map(operator.mul, popularity, repeat(NEUTRAL_WEIGHT)))
    for signal, feature in zip(plan.signals, features):
        scores = list(map(operator.add, scores, map(operator.mul, feature, repeat(signal.weight))))
    return _Evaluation(positions=positions, scores=scores, popularity=popularity, features=features)


def _evaluate_view(plan: _Plan, index: RankingIndex[Any], view: _View) -> _Evaluation:
    """:func:`_evaluate` over a cached candidate set (whole catalog or a hard-filter combination): its 0..1
    columns depend on the catalog and the filters only, so they are computed once and a query only weights
    and adds them (C-level ``map``)."""
    positions = view.positions

    def unit(attribute: str, prefer: str) -> list[float]:
        def build() -> list[float]:
            values = _gather(index, attribute, positions)
            return _unit(values, prefer, view.get(("bounds", attribute), lambda: _bounds(values)), False)
        return view.get(("unit", attribute, prefer), build)

    def matches(attribute: str, values: frozenset[Any]) -> list[float]:
        return view.get(("match", attribute, values),
                        lambda: [1.0 if v in values else 0.0 for v in _gather(index, attribute, positions)])

    features = [matches(s.attribute, s.values) if s.values is not None else unit(s.attribute, s.prefer)
                for s in plan.signals]
    return _scored(plan, positions, unit(index.neutral_attribute, "higher"), features)


def _matched(choices: tuple[tuple[str, Any], ...], value: Any) -> list[str]:
    return [option for option, match in choices if value == match]


def _reasons(plan: _Plan, index: RankingIndex[Any], evaluation: _Evaluation, row: int,
             discovered: bool = False) -> list[Reason]:
    """Why the ``row``-th kept item is shown where it is, strongest effects first (``discovered``: it holds
    a position reserved for discovery)."""
    position = evaluation.position(row)
    reasons = [Reason(code="filter.include", effect="shown", preference=rule.key,
                      params={"options": _matched(rule.choices, index.column(rule.attribute)[position])})
               for rule in plan.hard if not rule.exclude]
    if not plan.personalized:
        reasons.append(Reason(code="order.neutral", effect="neutral"))
        return reasons
    if discovered:
        reasons.append(Reason(code="order.discovery", effect="higher", preference=plan.discovery_key))
        if evaluation.popularity[row] >= POPULAR_THRESHOLD:
            reasons.append(Reason(code="order.popular", effect="higher"))
        return reasons
    moved: list[tuple[float, Reason]] = []
    for signal, feature in zip(plan.signals, evaluation.features):
        # Clamped so float noise of an unclamped path (-1e-17) and the clamped single-item path agree.
        value = min(1.0, max(0.0, feature[row]))
        if signal.values is not None:
            if value > 0:
                matched = _matched(signal.choices, index.column(signal.attribute)[position])
                moved.append((signal.weight, Reason(code="filter.prefer", effect="higher", preference=signal.key,
                                                    params={"options": matched})))
            continue
        if signal.weight < NOTICEABLE_WEIGHT:
            continue
        params: dict[str, Any] = {"attribute": signal.attribute, "prefer": signal.prefer}
        if signal.criterion is not None:
            family = "priority"
            params |= {"criterion": signal.criterion, "position": signal.position}
        else:
            family = "criterion"
            params["value"] = signal.slider_value
        if value >= BETTER_THRESHOLD:
            moved.append((signal.weight * value,
                          Reason(code=f"{family}.better", effect="higher", preference=signal.key,
                                 params=params)))
        elif value <= 1.0 - BETTER_THRESHOLD:
            moved.append((signal.weight * (1.0 - value),
                          Reason(code=f"{family}.worse", effect="lower", preference=signal.key,
                                 params=params)))
    moved.sort(key=lambda pair: -round(pair[0], 9))  # stable: equal strength keeps declaration order
    reasons.extend(reason for _, reason in moved)
    if evaluation.popularity[row] >= POPULAR_THRESHOLD:
        reasons.append(Reason(code="order.popular", effect="higher"))
    if not moved:
        reasons.append(Reason(code="order.default", effect="neutral"))
    return reasons


# --- public API --------------------------------------------------------------------------------------


def candidate_scales(items: Sequence[Any] | RankingIndex[Any], profile: Profile) -> dict[str, tuple[float, float]]:
    """``(min, max)`` per attribute the profile ranks by, over the items its hard filters keep.

    Pass it to :func:`rank` to score one item exactly as :func:`rank_catalog` scores it among ``items``.
    """
    index = items if isinstance(items, RankingIndex) else RankingIndex(items)
    plan = _compile(profile)
    positions = _filter(plan, index, None)
    return {name: bounds for name, bounds in _candidate_bounds(plan, index, positions).items()
            if bounds is not None}


def rank(item: Any, profile: Profile, *, scales: Scales | None = None,
         neutral_attribute: str = "popularity") -> Decision:
    """Decide about one item: is it shown, with which score, and why.

    ``scales`` are the candidate set's ``(min, max)`` per attribute (:func:`candidate_scales`); without them
    the item is compared with itself only, so every numeric criterion scores the neutral 0.5.
    """
    index = RankingIndex([item], neutral_attribute=neutral_attribute)
    plan = _compile(profile)
    bounds = None
    if scales is not None:
        wanted = {neutral_attribute} | {s.attribute for s in plan.signals if s.values is None}
        bounds = {name: scales.get(name) for name in wanted}
    evaluation = _evaluate(plan, index, None, bounds)
    if not evaluation.scores:
        return Decision(kept=False, score=0.0, reasons=[])
    return Decision(kept=True, score=evaluation.scores[0], reasons=_reasons(plan, index, evaluation, 0))


ReasonRenderer = Callable[[Reason, str], str]


def rank_page(items: Sequence[Item] | RankingIndex[Item], profile: Profile, *, locale: str,
              render: ReasonRenderer | None = None, positions: Sequence[int] | None = None,
              offset: int = 0, limit: int | None = None, candidates_key: Hashable | None = None) -> RankedPage[Item]:
    """Rank ``items`` for ``profile`` and return the slice ``[offset, offset + limit)``, explained.

    ``positions`` (ascending indexes into ``index.items``) restricts the candidate set, e.g. to the results of
    a text search; normalization then runs over those candidates only. Give such positions a
    ``candidates_key`` (e.g. the normalized search) when the same ``positions`` always come with the same key:
    the index then caches that candidate set like the whole catalog's. ``render(reason, locale)`` turns reasons
    into text (default: :class:`bff.catalog.explain.ReasonTexts` without registry labels, i.e. keys).
    """
    index = items if isinstance(items, RankingIndex) else RankingIndex(items)
    if render is None:
        render = ReasonTexts().render
    return _ranked(index, profile, render=render, locale=locale, positions=positions, offset=offset,
                   limit=limit, candidates_key=candidates_key)


def rank_candidates(candidates: Candidates[Item], profile: Profile, *, offset: int = 0,
                    limit: int | None = None) -> RankedPage[Item]:
    """prefkit's reference :class:`~bff.catalog.contract.Ranker`: the rules above over the catalog's shared
    :class:`RankingIndex`, with unrendered reasons (the default engine of ``CatalogPlugin``).

    Candidate sets with a :attr:`~bff.catalog.contract.Candidates.key` are cached like the whole catalog's.
    """
    positions = candidates.positions
    return _ranked(candidates.catalog.index, profile, render=None, locale="", positions=positions,
                   offset=offset, limit=limit, candidates_key=candidates.key if positions is not None else None)


def filter_predicate(profile: Profile) -> Callable[[Any], bool]:
    """Whether the profile's hard filters (``include``/``exclude``) keep an item: for a shop's own engine,
    so that it narrows exactly as prefkit's ranking does."""
    hard = _compile(profile).hard

    def keeps(item: Any) -> bool:
        if isinstance(item, Mapping):
            values = [item.get(rule.attribute) for rule in hard]
        else:
            values = [getattr(item, rule.attribute, None) for rule in hard]
        return all((value in rule.values) != rule.exclude for rule, value in zip(hard, values))

    return keeps


def _ranked(index: RankingIndex[Item], profile: Profile, *, render: ReasonRenderer | None, locale: str,
            positions: Sequence[int] | None, offset: int, limit: int | None,
            candidates_key: Hashable | None) -> RankedPage[Item]:
    plan = _compile(profile)
    offset = max(0, offset)
    evaluation = _evaluate(plan, index, None if positions is None else list(positions),
                           candidates_key=candidates_key if positions is not None else None)
    scores = evaluation.scores
    total = len(scores)
    end = total if limit is None else min(total, offset + max(0, limit))
    order: Sequence[int]
    if not plan.personalized:
        order = range(total)  # the index is already in neutral order
    elif end * 8 < total:
        # A first page needs only the best few: a heap is cheaper than a full sort. Like sorted(reverse=True)
        # it keeps ties in input (= neutral) order.
        order = heapq.nlargest(end, range(total), key=scores.__getitem__)
    else:
        order = sorted(range(total), key=scores.__getitem__, reverse=True)
    discovered: frozenset[int] = frozenset()
    if plan.personalized and plan.discovery > 0.0 and end > 0:
        # Enough of the personal order for `end` places even if every discovered item is also among them.
        need = min(total, end + end // _discovery_every(plan) + 1)
        if len(order) < need:
            order = heapq.nlargest(need, range(total), key=scores.__getitem__)
        order, discovered = _with_discovery(plan, evaluation, order, end)
    page: list[RankedItem[Item]] = []
    for place in range(offset, end):
        row = order[place]
        reasons = _reasons(plan, index, evaluation, row, row in discovered)
        page.append(RankedItem(item=index.items[evaluation.position(row)], position=place + 1,
                               score=scores[row], reasons=reasons,
                               explanation=[render(reason, locale) for reason in reasons] if render else []))
    return RankedPage(total=total, personalized=plan.personalized, items=page)


def _discovery_every(plan: _Plan) -> int:
    """Every how many positions one is reserved for discovery (4 at the slider's maximum)."""
    return max(2, round(1.0 / plan.discovery))


def _with_discovery(plan: _Plan, evaluation: _Evaluation, order: Sequence[int],
                    end: int) -> tuple[list[int], frozenset[int]]:
    """The first ``end`` rows of ``order`` (personalized, best first) with every ``k``-th position
    (``k = round(1 / plan.discovery)``) given to the next item outside the shopper's preferences: personal
    score below the candidates' median, taken in neutral (popularity) order. Without spread in the personal
    scores nothing is "outside", and the order stays as it is."""
    every = _discovery_every(plan)
    # The personal part of each score (C-level maps: this runs over every candidate).
    personal = list(map(operator.sub, evaluation.scores,
                        map(operator.mul, evaluation.popularity, repeat(NEUTRAL_WEIGHT))))
    median = sorted(personal)[len(personal) // 2]
    # Rows are in neutral order already (the index is): the pool is the most popular of the "different".
    pool = (row for row, value in enumerate(personal) if value < median - 1e-12)
    personal_rows = iter(order)
    placed: list[int] = []
    taken: set[int] = set()
    discovered: set[int] = set()
    while len(placed) < end:
        row = next((r for r in pool if r not in taken), None) if len(placed) % every == every - 1 else None
        if row is not None:
            discovered.add(row)
        else:
            row = next((r for r in personal_rows if r not in taken), None)
            if row is None:
                break
        placed.append(row)
        taken.add(row)
    return placed, frozenset(discovered)


def rank_catalog(items: Sequence[Item] | RankingIndex[Item], profile: Profile, *, locale: str,
                 render: ReasonRenderer | None = None) -> list[RankedItem[Item]]:
    """Every kept item of ``items``, best first, each with its reasons rendered in ``locale``."""
    return rank_page(items, profile, locale=locale, render=render).items
