"""A slider's grid ``min + n * step``, decided exactly on each number's shortest decimal form.

A float is judged as written: its shortest decimal form (``repr``), which is what a registry file, a JSON
body (``bff.strict_json`` refuses any literal that is not it) and a shopper's screen show. ``0.3`` is on a
0.05 grid; ``0.30000000000000004`` (0.1 + 0.2) and ``0.25000000000000006`` are not, however close they
are. With no tolerance, the registry, the API and the components agree on one set of values, and every
stored value reads back as the decimal that was chosen.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

__all__ = ["exact_range_limit", "grid_value", "is_on_step", "steps_from"]


def _decimal(number: int | float) -> Decimal:
    """``number`` as written: an int as is, a float as its shortest decimal form."""
    return Decimal(number) if isinstance(number, int) else Decimal(repr(number))


def _exact(number: int | float) -> Fraction:
    return Fraction(_decimal(number))


def steps_from(value: int | float, start: int | float, step: int | float) -> Fraction:
    """How many steps ``value`` is above ``start``, exactly (a whole number when it is on the grid).

    Every argument must be finite."""
    return (_exact(value) - _exact(start)) / _exact(step)


def is_on_step(value: int | float, start: int | float, step: int | float) -> bool:
    """Whether ``value`` is exactly ``start + n * step`` for a whole ``n``, on shortest decimal forms."""
    if not all(math.isfinite(number) for number in (value, start, step)):
        return False
    return steps_from(value, start, step).denominator == 1


def grid_value(start: int | float, step: int | float, steps: int, *, integral: bool) -> int | float:
    """The value ``steps`` steps above ``start``: the exact decimal, as the float nearest to it.

    On every grid the registry accepts (see :func:`exact_range_limit`) that float's shortest form is the
    decimal itself, so the value is on a step by :func:`is_on_step`."""
    value = _exact(start) + steps * _exact(step)
    return int(value) if integral else float(value)  # int / int true division is correctly rounded


def _exponent(number: int | float) -> int:
    """Position of the last significant decimal digit of ``number`` as written (0.25 -> -2, 300 -> 2)."""
    exponent = _decimal(number).normalize().as_tuple().exponent
    return exponent if isinstance(exponent, int) else 0  # finite numbers only; keeps the type int


def exact_range_limit(start: int | float, step: int | float) -> tuple[float, Decimal]:
    """The magnitude below which every value of the grid from ``start`` in ``step``s is a float of its own
    whose shortest form is that value, and the grid's finest digit ``q`` (every value is a multiple of it).

    Every value of the grid is a multiple of ``q = 10**exponent``. While floats are at most ``q`` apart
    (``ulp(x) <= q``, i.e. ``|x| < 2**(53 + floor(log2 q))``), the rounding interval of a value's float
    holds no other multiple of ``q``, so no other decimal as short as the value can be its shortest form.
    """
    exponent = min(_exponent(number) for number in (start, step) if number != 0)
    # floor(log2(10**exponent)), exactly: 10**k is never a power of two for k != 0.
    log2 = (10**exponent).bit_length() - 1 if exponent >= 0 else -(10**-exponent - 1).bit_length()
    return math.ldexp(1.0, 53 + log2), Decimal(1).scaleb(exponent)
