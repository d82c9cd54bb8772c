"""Experiment results: per arm the rate of the experiment's outcome with a Wilson 95 % interval, the sample,
a two-proportion test against the first arm, and whether the planned sample size was reached.

No verdict before the plan is complete: looking at a running test and stopping when it "looks significant"
inflates false positives, so until every arm has ``sample_size`` subjects the answer says so and gives none.

Who is in which arm is recomputed from the subject (:func:`preference_registry.experiments.assign`), never
stored; for ``grant`` the arm is the one whose wording the decision was recorded under (its ``text_hash`` in
the ledger), which is what the shopper saw.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import msgspec
from sqlalchemy.engine import Connection

from preference_registry import RegistrySnapshot
from preference_registry.experiments import Experiment, assign, variant_hash

from ..storage.insights import BANNER_METHODS, CHOICE_METHODS, conversion_rows
from .index import LedgerIndex
from .aggregates import min_cell, rate
from .stats import Rate, two_proportion_p
from .suppression import suppress

__all__ = ["ArmResult", "ExperimentResult", "experiment_results"]

DECIDED_METHODS = frozenset((*CHOICE_METHODS, *BANNER_METHODS))


class ArmResult(msgspec.Struct, frozen=True, kw_only=True):
    variant: str
    weight: int
    text_hash: str
    """The wording hash the ledger records for decisions made in this arm."""
    outcome: Rate
    p_value: float | None
    """Two-sided pooled two-proportion z-test against the first arm (``None`` for the first arm, or when a
    count is suppressed)."""


class ExperimentResult(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    preference: str
    outcome: str
    start: datetime
    end: datetime
    status: str
    """``scheduled``, ``running`` or ``ended``."""
    sample_size: int
    """Planned subjects per arm."""
    sample_size_reached: bool
    verdict: str
    """A plain sentence: no verdict until the plan is complete, then whether any arm differs at 5 %."""
    arms: list[ArmResult]


def _status(experiment: Experiment, now: datetime) -> str:
    if now < experiment.start:
        return "scheduled"
    return "running" if now < experiment.end else "ended"


def _counts(
    connection: Connection,
    index: LedgerIndex,
    experiment: Experiment,
    hashes: dict[str, str],
    until: datetime,
) -> dict[str, tuple[int, int]]:
    """``arm -> (successes, trials)``, at day granularity (the index counts per day)."""
    low, high = experiment.start.date().isoformat(), (until - timedelta(microseconds=1)).date().isoformat()

    def inside(day: str) -> bool:
        return low <= day <= high

    key = experiment.preference
    trials: Counter[str] = Counter()
    successes: Counter[str] = Counter()
    if experiment.outcome == "grant":
        # The arm is the wording the standing decision was recorded under: what that shopper saw.
        arm_of_hash = {h: arm for arm, h in hashes.items()}
        for (name, text_hash, value, day, method), count in list(index.last_events.items()):
            arm = arm_of_hash.get(text_hash)
            if name != key or arm is None or count <= 0 or not inside(day) or method not in DECIDED_METHODS:
                continue
            trials[arm] += count
            if value == "true":
                successes[arm] += count
    else:
        converters = (
            {
                subject
                for subject, _ in conversion_rows(connection, experiment.start, until)
                if subject is not None
            }
            if experiment.outcome == "conversion"
            else set()
        )
        for subject, facts in list(index.subjects.items()):
            if not any(inside(day) for day in facts.decided_days):
                continue  # prefkit knows of a shopper once they decided something: the exposed population
            arm = assign(experiment, subject).key
            trials[arm] += 1
            if experiment.outcome == "engagement":
                last = facts.last.get(key)
                successes[arm] += last is not None and last[2] in CHOICE_METHODS and inside(last[3])
            else:
                successes[arm] += subject in converters
    return {v.key: (successes[v.key], trials[v.key]) for v in experiment.variants}


def experiment_results(
    connection: Connection, snapshot: RegistrySnapshot, index: LedgerIndex, now: datetime
) -> list[ExperimentResult]:
    """Results of every experiment of ``snapshot`` so far from ``index`` (refreshed by the report first;
    subjects stay inside this function)."""
    k = min_cell(snapshot)
    results = []
    for experiment in snapshot.document.experiments:
        pref = snapshot.get(experiment.preference)
        base = snapshot.text_hash(experiment.preference)
        hashes = {v.key: variant_hash(pref, experiment, v, base) for v in experiment.variants}
        until = min(now, experiment.end)
        counts = (
            _counts(connection, index, experiment, hashes, until)
            if now >= experiment.start
            else {v.key: (0, 0) for v in experiment.variants}
        )
        trials = suppress({arm: n for arm, (_, n) in counts.items()}, k)
        successes = suppress({arm: s for arm, (s, _) in counts.items()}, k)
        reached = all(n >= experiment.sample_size for _, n in counts.values())
        first = experiment.variants[0].key
        arms, p_values = [], []
        for variant in experiment.variants:
            s, n = successes[variant.key], trials[variant.key]
            p = None
            if variant.key != first and None not in (s, n, successes[first], trials[first]):
                p = two_proportion_p(s, n, successes[first], trials[first])
                p_values.append(p)
            arms.append(
                ArmResult(
                    variant=variant.key,
                    weight=variant.weight,
                    text_hash=hashes[variant.key],
                    outcome=rate(s, n),
                    p_value=p,
                )
            )
        if not reached:
            verdict = (
                f"planned sample size not reached ({experiment.sample_size} subjects per arm): no verdict "
                "yet; do not stop or decide on interim results"
            )
        elif p_values and min(p_values) < 0.05 / len(p_values):  # Bonferroni: several arms, one 5 % budget
            verdict = (
                "planned sample size reached: at least one arm differs from the first at the 5 % level "
                "(Bonferroni-corrected)"
            )
        else:
            verdict = (
                "planned sample size reached: no arm differs from the first at the 5 % level "
                "(Bonferroni-corrected)"
            )
        results.append(
            ExperimentResult(
                key=experiment.key,
                preference=experiment.preference,
                outcome=experiment.outcome,
                start=experiment.start,
                end=experiment.end,
                status=_status(experiment, now),
                sample_size=experiment.sample_size,
                sample_size_reached=reached,
                verdict=verdict,
                arms=arms,
            )
        )
    return results
