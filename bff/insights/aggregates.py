"""The insights report: aggregates over the ledger, the stored state and the reported conversions, with every
table suppressed below k (:mod:`.suppression`) and no subject id anywhere in it.

Consent decisions are classified from the ledger: ``granted`` (new value true), ``withdrawn`` (true -> false)
and ``refused`` (false, not withdrawing), by how they were given: ``banner_accept_all``,
``banner_reject_all``, ``center`` (the preference center, and a customised banner: both record ``ui``) and
``api``. Overrides prefkit records itself (``gpc``, ``expiry``, ``merge``) are not shopper decisions and are
not counted.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy.engine import Connection

from preference_registry import RegistrySnapshot
from preference_registry.insights import DEFAULT_MIN_CELL

from ..storage.insights import conversion_rows
from .index import LedgerIndex
from .stats import Interval, Rate, mean_interval, wilson
from .suppression import suppress, total_or_none

__all__ = [
    "ChoiceInsight",
    "ConsentInsight",
    "ConversionCohort",
    "ConversionInsight",
    "DayRow",
    "Engagement",
    "InsightsReport",
    "METHOD_LABELS",
    "MethodRow",
    "OUTCOMES",
    "OutcomeCounts",
    "ReturnRow",
    "Unattributed",
    "ValueCount",
    "build_report",
    "min_cell",
    "rate",
]

METHOD_LABELS: Mapping[str, str] = {
    "accept_all": "banner_accept_all",
    "reject_all": "banner_reject_all",
    "ui": "center",
    "api": "api",
}
"""Ledger method -> how a decision was given, as the report names it."""
OUTCOMES = ("granted", "refused", "withdrawn")
RETURN_BUCKETS = (("1", 1, 1), ("2", 2, 2), ("3-5", 3, 5), ("6+", 6, None))
"""Days on which a shopper changed something beyond the banner: ``(label, from, to)``."""
LEVELS = (("none", 0, 0), ("some", 1, 2), ("many", 3, None))
"""Personalization level of a cohort: how many active (non-consent) choices a shopper has."""


class OutcomeCounts(msgspec.Struct, frozen=True, kw_only=True):
    granted: int | None
    refused: int | None
    withdrawn: int | None


class MethodRow(OutcomeCounts, frozen=True, kw_only=True):
    method: str


class DayRow(OutcomeCounts, frozen=True, kw_only=True):
    day: str


class ConsentInsight(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    purpose: str
    decisions: int | None
    """Shopper decisions on this consent in the window."""
    outcomes: OutcomeCounts
    grant_rate: Rate
    """Grants among all decisions."""
    by_method: list[MethodRow]
    by_day: list[DayRow]
    reconsent: OutcomeCounts
    """Decisions asked for again after the wording changed (the previous one was under other wording)."""


class ValueCount(msgspec.Struct, frozen=True, kw_only=True):
    value: Any
    subjects: int | None


class ChoiceInsight(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    kind: str
    subjects: int | None
    """Shoppers with a stored choice."""
    values: list[ValueCount]
    """Sliders: shoppers per value; filters: shoppers per option (a multiple-choice filter counts a shopper
    once per option chosen); ``null`` counts a filter cleared on purpose."""


class ReturnRow(msgspec.Struct, frozen=True, kw_only=True):
    days: str
    subjects: int | None


class Engagement(msgspec.Struct, frozen=True, kw_only=True):
    deciding: int | None
    """Shoppers who decided anything in the window (banner or beyond)."""
    beyond_banner: Rate
    """Share of them who changed something beyond the banner (center, API)."""
    return_days: list[ReturnRow]
    """Of those, on how many different days they came back to change something."""


class ConversionCohort(msgspec.Struct, frozen=True, kw_only=True):
    cohort: str
    shoppers: int | None
    """Shoppers in the cohort who allow the conversion purpose."""
    conversion: Rate
    """Share of them with at least one order in the window."""
    orders: int | None
    average_order_value: float | None
    aov_interval: Interval | None


class Unattributed(msgspec.Struct, frozen=True, kw_only=True):
    orders: int | None
    average_order_value: float | None
    aov_interval: Interval | None


class ConversionInsight(msgspec.Struct, frozen=True, kw_only=True):
    purpose: str | None
    """The consent purpose that allows linking an order to a cohort (``[insights] conversion_purpose``)."""
    by_preferences: list[ConversionCohort]
    """``active`` (at least one slider/filter choice) vs ``none``."""
    by_level: list[ConversionCohort]
    """``none`` / ``some`` (1-2 active choices) / ``many`` (3+)."""
    unattributed: Unattributed


class InsightsReport(msgspec.Struct, frozen=True, kw_only=True):
    registry_version: str
    k: int
    """Suppression threshold: every shown count is 0 or at least k."""
    since: datetime | None
    until: datetime | None
    generated_at: datetime
    consents: list[ConsentInsight]
    choices: list[ChoiceInsight]
    engagement: Engagement
    conversions: ConversionInsight
    suppressed_cells: int
    """How many cells this answer hides (``null`` in the tables)."""


def min_cell(snapshot: RegistrySnapshot) -> int:
    """k of this registry (``[insights] min_cell``, default 10)."""
    settings = snapshot.document.insights
    return settings.min_cell if settings is not None else DEFAULT_MIN_CELL


def rate(successes: int | None, trials: int | None) -> Rate:
    """A rate, or a rate of ``None`` values when either count is hidden (a ratio of a shown count and a
    hidden one would reveal the hidden one)."""
    if successes is None or trials is None or trials == 0:
        return Rate(successes=successes, trials=trials, rate=None, interval=None)
    return Rate(
        successes=successes, trials=trials, rate=successes / trials, interval=wilson(successes, trials)
    )


class _Hider:
    """Suppresses groups and counts what it hid."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.hidden = 0

    def group(self, counts: Mapping[Any, int]) -> dict[Any, int | None]:
        shown = suppress(counts, self.k)
        self.hidden += sum(1 for value in shown.values() if value is None)
        return shown

    def total(self, total: int) -> int | None:
        shown = total_or_none(total, self.k)
        self.hidden += shown is None
        return shown


def _outcome(old: str | None, new: str | None) -> str:
    if new == "true":
        return "granted"
    return "withdrawn" if old == "true" else "refused"


def _consent(
    hider: _Hider, key: str, purpose: str, rows: Sequence[tuple], again: Sequence[tuple]
) -> ConsentInsight:
    by_outcome: Counter[str] = Counter()
    by_method: Counter[tuple[str, str]] = Counter()
    by_day: Counter[tuple[str, str]] = Counter()
    for _, day, method, old, new, count in rows:
        label = METHOD_LABELS.get(method)
        if label is None:
            continue  # prefkit's own overrides, not a shopper's decision
        outcome = _outcome(old, new)
        by_outcome[outcome] += count
        by_method[(label, outcome)] += count
        by_day[(day, outcome)] += count
    outcomes = hider.group({o: by_outcome[o] for o in OUTCOMES})
    total = hider.total(sum(by_outcome.values()))
    # A rate only from shown counts: the grant rate needs the grants and the total.
    grant_rate = rate(outcomes["granted"], total)
    methods = hider.group(
        {(m, o): by_method[(m, o)] for m in sorted({m for m, _ in by_method}) for o in OUTCOMES}
    )
    days = hider.group({(d, o): by_day[(d, o)] for d in sorted({d for d, _ in by_day}) for o in OUTCOMES})
    renewed: Counter[str] = Counter()
    for _, new, count in again:
        renewed["granted" if new == "true" else "refused"] += count
    reconsent = hider.group({"granted": renewed["granted"], "refused": renewed["refused"]})
    return ConsentInsight(
        key=key,
        purpose=purpose,
        decisions=total,
        outcomes=OutcomeCounts(**outcomes),
        grant_rate=grant_rate,
        by_method=[
            MethodRow(method=m, **{o: methods[(m, o)] for o in OUTCOMES})
            for m in sorted({m for m, _ in methods})
        ],
        by_day=[DayRow(day=d, **{o: days[(d, o)] for o in OUTCOMES}) for d in sorted({d for d, _ in days})],
        reconsent=OutcomeCounts(granted=reconsent["granted"], refused=reconsent["refused"], withdrawn=0),
    )


def _choice(hider: _Hider, pref: Any, rows: Sequence[tuple]) -> ChoiceInsight:
    counts: Counter[str] = Counter()
    subjects = 0
    for raw, count in rows:
        subjects += count
        value = msgspec.json.decode(raw) if raw is not None else None
        for item in value if isinstance(value, list) else [value]:
            counts[msgspec.json.encode(item).decode()] += count
    if pref.kind == "slider":
        labels = [msgspec.json.encode(stop.value).decode() for stop in getattr(pref, "stops", []) or []]
    else:
        labels = [msgspec.json.encode(option.key).decode() for option in getattr(pref, "options", []) or []]
    for label in labels:
        counts.setdefault(label, 0)  # every declared option/stop appears, chosen or not
    shown = hider.group(dict(counts))
    order = sorted(
        shown, key=lambda text: (text not in labels, labels.index(text) if text in labels else 0, text)
    )
    return ChoiceInsight(
        key=pref.key,
        kind=pref.kind,
        subjects=hider.total(subjects),
        values=[ValueCount(value=msgspec.json.decode(text), subjects=shown[text]) for text in order],
    )


def _engagement(hider: _Hider, rows: Sequence[tuple]) -> Engagement:
    deciding = sum(count for _, _, count in rows)
    beyond = sum(count for flag, _, count in rows if flag)
    buckets = {
        label: sum(
            count for flag, days, count in rows if flag and days >= low and (high is None or days <= high)
        )
        for label, low, high in RETURN_BUCKETS
    }
    split = hider.group({"beyond": beyond, "banner_only": deciding - beyond})
    shown_buckets = hider.group(buckets)
    total = hider.total(deciding)
    return Engagement(
        deciding=total,
        beyond_banner=rate(split["beyond"], total),
        return_days=[ReturnRow(days=label, subjects=shown_buckets[label]) for label, _, _ in RETURN_BUCKETS],
    )


def _cohorts(
    hider: _Hider, groups: Mapping[str, tuple[int, int, int, float, float]]
) -> list[ConversionCohort]:
    """``name -> (shoppers, converters, orders, sum, squares)`` as suppressed rows."""
    shoppers = hider.group({name: g[0] for name, g in groups.items()})
    converters = hider.group({name: g[1] for name, g in groups.items()})
    orders = hider.group({name: g[2] for name, g in groups.items()})
    rows = []
    for name, (_, _, n, total, squares) in groups.items():
        shown_orders = orders[name]
        aov = total / n if shown_orders else None
        rows.append(
            ConversionCohort(
                cohort=name,
                shoppers=shoppers[name],
                conversion=rate(converters[name], shoppers[name]),
                orders=shown_orders,
                average_order_value=aov,
                aov_interval=mean_interval(total, squares, n) if shown_orders else None,
            )
        )
    return rows


def _day_window(since: datetime | None, until: datetime | None) -> Any:
    """A test of a ``YYYY-MM-DD`` day against the window, at day granularity (the index counts per day): a
    day is in when it overlaps ``[since, until)``."""
    low = since.date().isoformat() if since is not None else None
    high = None
    if until is not None:
        last = until - timedelta(microseconds=1)
        high = last.date().isoformat()

    def inside(day: str) -> bool:
        return (low is None or day >= low) and (high is None or day <= high)

    return inside


def _conversions(
    hider: _Hider,
    snapshot: RegistrySnapshot,
    connection: Connection,
    index: LedgerIndex,
    since: datetime | None,
    until: datetime | None,
) -> ConversionInsight:
    settings = snapshot.document.insights
    purpose = settings.conversion_purpose if settings is not None else None
    consents = [
        c for c in snapshot.consents() if purpose is not None and c.purpose == purpose and c.switchable
    ]
    purpose_keys = [c.key for c in consents]
    purpose_default = bool(consents) and all(c.default_value for c in consents)
    active_keys = [p.key for p in snapshot.preferences if p.kind != "consent"]

    def allows(last: Mapping[str, str | None]) -> bool:
        # Now, from the ledger: every consent with the purpose granted (or on by default and never decided).
        for key in purpose_keys:
            if (last[key] != "true") if key in last else not purpose_default:
                return False
        return bool(purpose_keys)

    def active(last: Mapping[str, str | None]) -> int:
        return sum(1 for key in active_keys if key in last)

    population: Counter[int] = Counter()
    for signature, count in list(index.profiles.items()):
        profile = dict(signature)
        if count > 0 and allows(profile):
            population[active(profile)] += count
    active_of: dict[str, int] = {}
    rows = conversion_rows(connection, since, until)
    for subject in {row[0] for row in rows if row[0]}:
        facts = index.subjects.get(subject)
        if facts is not None:
            profile = {key: last[0] for key, last in facts.last.items()}
            if allows(profile):
                active_of[subject] = active(profile)
    orders_by: dict[int, list[float]] = {}
    converters: dict[int, set[str]] = {}
    unattributed = [0, 0.0, 0.0]
    stateless: set[str] = set()
    for subject, value in rows:
        active = active_of.get(subject) if subject is not None else None
        if subject is not None and active is None and subject not in index.subjects and purpose_default:
            active = 0  # an order of a shopper prefkit has no decision of, while the purpose is on by default
            if subject not in stateless:
                stateless.add(subject)
                population[0] += 1
        if active is None:
            unattributed[0] += 1
            unattributed[1] += value
            unattributed[2] += value * value
            continue
        orders_by.setdefault(active, []).append(value)
        converters.setdefault(active, set()).add(subject)

    def level(active: int) -> str:
        return next(name for name, low, high in LEVELS if active >= low and (high is None or active <= high))

    def grouped(name_of: Any, names: Sequence[str]) -> dict[str, tuple[int, int, int, float, float]]:
        sums = {name: [0, 0, 0, 0.0, 0.0] for name in names}
        for active, count in population.items():
            sums[name_of(active)][0] += count
        for active, values in orders_by.items():
            entry = sums[name_of(active)]
            entry[1] += len(converters[active])
            entry[2] += len(values)
            entry[3] += sum(values)
            entry[4] += sum(v * v for v in values)
        return {name: tuple(values) for name, values in sums.items()}  # type: ignore[misc]

    by_preferences = _cohorts(hider, grouped(lambda a: "active" if a else "none", ("active", "none")))
    by_level = _cohorts(hider, grouped(level, [name for name, _, _ in LEVELS]))
    orders, total, squares = unattributed
    shown = hider.total(int(orders))
    return ConversionInsight(
        purpose=purpose,
        by_preferences=by_preferences,
        by_level=by_level,
        unattributed=Unattributed(
            orders=shown,
            average_order_value=(total / orders) if shown else None,
            aov_interval=mean_interval(total, squares, int(orders)) if shown else None,
        ),
    )


def build_report(
    connection: Connection,
    snapshot: RegistrySnapshot,
    index: LedgerIndex,
    *,
    now: datetime,
    since: datetime | None = None,
    until: datetime | None = None,
) -> InsightsReport:
    """The whole report: ``index`` is brought up to date first (the events appended since the last report),
    then everything but the conversions is read from it."""
    index.refresh(connection)
    inside = _day_window(since, until)
    k = min_cell(snapshot)
    hider = _Hider(k)
    consents = [c for c in snapshot.consents() if c.switchable]
    decisions: dict[str, list[tuple]] = defaultdict(list)
    for (key, day, method, old, new), count in list(index.decisions.items()):
        if inside(day):
            decisions[key].append((key, day, method, old, new, count))
    again: dict[str, list[tuple]] = defaultdict(list)
    for (key, day, new), count in list(index.reconsents.items()):
        if inside(day):
            again[key].append((key, new, count))
    consent_rows = [_consent(hider, c.key, c.purpose, decisions[c.key], again[c.key]) for c in consents]
    choice_prefs = [pref for pref in snapshot.preferences if pref.kind in ("slider", "filter")]
    values: dict[str, Counter[str | None]] = {pref.key: Counter() for pref in choice_prefs}
    visits: Counter[tuple[int, int]] = Counter()
    # Current values: the counts over profiles (a few hundred groups, not every subject).
    for signature, count in list(index.profiles.items()):
        if count > 0:
            for key, value in signature:
                if key in values:
                    values[key][value] += count
    if since is None and until is None:
        visits.update({group: count for group, count in list(index.visits.items()) if count > 0})
    else:  # a window: whose visits fall in it is a question about each subject's days
        for facts in list(index.subjects.values()):
            if any(inside(day) for day in facts.decided_days):
                days = sum(1 for day in facts.choice_days if inside(day))
                visits[(1 if days else 0, days)] += 1
    choices = [_choice(hider, pref, list(values[pref.key].items())) for pref in choice_prefs]
    engagement = _engagement(hider, [(flag, days, count) for (flag, days), count in visits.items()])
    conversions = _conversions(hider, snapshot, connection, index, since, until)
    return InsightsReport(
        registry_version=snapshot.version,
        k=k,
        since=since,
        until=until,
        generated_at=now,
        consents=consent_rows,
        choices=choices,
        engagement=engagement,
        conversions=conversions,
        suppressed_cells=hider.hidden,
    )
