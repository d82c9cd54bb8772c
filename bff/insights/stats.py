"""Intervals and tests for the insights: Wilson score intervals for rates, a normal interval for a mean, a
pooled two-proportion z-test. Plain formulas on counts (no dependency needed for three of them)."""

from __future__ import annotations

import math

import msgspec

__all__ = ["Interval", "Rate", "mean_interval", "two_proportion_p", "wilson"]

Z95 = 1.959963984540054
"""The 97.5 % quantile of the standard normal distribution (two-sided 95 %)."""


class Interval(msgspec.Struct, frozen=True, kw_only=True):
    """A 95 % interval."""

    low: float
    high: float


class Rate(msgspec.Struct, frozen=True, kw_only=True):
    """A proportion with its Wilson 95 % interval; ``None`` values when a count is suppressed."""

    successes: int | None
    trials: int | None
    rate: float | None
    interval: Interval | None


def wilson(successes: int, trials: int) -> Interval | None:
    """Wilson score 95 % interval of ``successes / trials`` (``None`` for no trials): unlike the normal
    approximation it stays inside [0, 1] and is honest for rates near 0 or 1 and for small samples."""
    if trials <= 0:
        return None
    p = successes / trials
    z2 = Z95 * Z95
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = Z95 * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / (1 + z2 / trials)
    # At 0 and at trials successes the bound is exactly 0 / 1 (rounding would say 0.9999999999999999).
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return Interval(low=low, high=high)


def mean_interval(total: float, squares: float, n: int) -> Interval | None:
    """Normal 95 % interval of a mean from its sum and sum of squares (``None`` below two values)."""
    if n < 2:
        return None
    mean = total / n
    variance = max(0.0, (squares - total * total / n) / (n - 1))
    half = Z95 * math.sqrt(variance / n)
    return Interval(low=mean - half, high=mean + half)


def two_proportion_p(s1: int, n1: int, s2: int, n2: int) -> float | None:
    """Two-sided p-value of the pooled two-proportion z-test of ``s1/n1`` against ``s2/n2``."""
    if n1 <= 0 or n2 <= 0:
        return None
    pooled = (s1 + s2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance <= 0:
        return 1.0  # both rates 0 or both 1: no evidence of any difference
    z = (s1 / n1 - s2 / n2) / math.sqrt(variance)
    return math.erfc(abs(z) / math.sqrt(2))
