"""Small-cell suppression: no count of fewer than k shoppers (or events) leaves prefkit, not even by
subtraction from a total that is shown.

Each table of an insights answer is suppressed as one *group*: its cells under k are hidden (primary
suppression), and while the hidden cells add up to fewer than k, the smallest shown cells are hidden too
(complementary suppression), so ``total - sum(shown cells)`` never reveals a count under k. A ratio is only
computed from counts that are both shown.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import TypeVar

__all__ = ["hidden_mass", "suppress", "total_or_none"]

K = TypeVar("K", bound=Hashable)


def suppress(counts: Mapping[K, int], k: int) -> dict[K, int | None]:
    """``counts`` with every cell that could describe fewer than ``k`` subjects replaced by ``None``.

    Zero stays zero (it describes nobody). Guarantees: every shown count is 0 or at least ``k``, and the hidden
    cells add up to 0 or at least ``k`` (so neither one cell nor the group's remainder is under ``k``).
    """
    hidden = {key for key, count in counts.items() if 0 < count < k}
    while 0 < sum(counts[key] for key in hidden) < k:
        shown = [key for key, count in counts.items() if key not in hidden and count > 0]
        if not shown:
            break  # everything non-zero is hidden already; the caller hides the total (see hidden_mass)
        hidden.add(min(shown, key=lambda key: counts[key]))
    return {key: None if key in hidden else count for key, count in counts.items()}


def hidden_mass(counts: Mapping[K, int], shown: Mapping[K, int | None]) -> int:
    """What the hidden cells of a group add up to (what a reader learns from a shown total)."""
    return sum(counts[key] for key, value in shown.items() if value is None)


def total_or_none(total: int, k: int) -> int | None:
    """A group's total, shown only when it is 0 or at least ``k``."""
    return total if total == 0 or total >= k else None
