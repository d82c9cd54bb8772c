"""The BFF's pieces of the priorities kind, with its part of the personalization profile."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from preference_registry import RegistrySnapshot

from .base import BffKind, ProfileParts, Words

__all__ = ["KIND", "PrioritiesProfile", "PriorityProfile", "rank_weights"]


def rank_weights(count: int, total: float = 1.0) -> list[float]:
    """Rank-sum weights of ``count`` ordered criteria, adding up to ``total``: position ``i`` (1 = first) of
    ``n`` gets ``(n - i + 1) / (1 + 2 + ... + n)``. With four: 4/10, 3/10, 2/10, 1/10 — the first counts
    four times the last, and every step down the order loses the same amount."""
    if count <= 0:
        return []
    denominator = count * (count + 1) / 2
    return [total * (count - position) / denominator for position in range(count)]


class PriorityProfile(msgspec.Struct, frozen=True, kw_only=True):
    """One criterion of the shopper's order."""

    key: str
    """Criterion key."""
    attribute: str
    """Catalog attribute it ranks by."""
    prefer: Literal["lower", "higher"]
    """Which end of the attribute is better."""
    position: int
    """1 = most important."""
    weight: float
    """Its rank-based weight (:func:`rank_weights`), the type's ``weight`` shared out by position."""


class PrioritiesProfile(msgspec.Struct, frozen=True, kw_only=True):
    """A priorities type in effect: the shopper's order of criteria, with the weight each gets."""

    key: str
    """Preference key."""
    order: list[str]
    """Criterion keys, most important first (left-out optional criteria are absent)."""
    left_out: list[str]
    """Optional criteria the shopper left out (they do not count at all)."""
    criteria: list[PriorityProfile]
    """The order as ranking signals, most important first."""


def _profile(pref: Any, value: Any, parts: ProfileParts) -> None:
    order = [key for key in (value if isinstance(value, list) else []) if pref.criterion(key) is not None]
    weights = rank_weights(len(order), pref.weight)
    criteria = []
    for position, (key, weight) in enumerate(zip(order, weights), start=1):
        criterion = pref.criterion(key)
        criteria.append(PriorityProfile(key=key, attribute=criterion.attribute, prefer=criterion.prefer,
                                        position=position, weight=weight))
    parts.priorities.append(PrioritiesProfile(
        key=pref.key, order=order, left_out=[key for key in pref.criterion_keys if key not in order],
        criteria=criteria))


def _view(snapshot: RegistrySnapshot, pref: Any, locale: str) -> dict[str, Any]:
    return {
        "criteria": [
            {"key": c.key, "label": snapshot.text(c.label, locale), "attribute": c.attribute,
             "prefer": c.prefer, "optional": c.optional}
            for c in pref.criteria
        ],
        "weight": pref.weight,
    }


def _value_text(snapshot: RegistrySnapshot, pref: Any, value: Any, locale: str, words: Words) -> str:
    labels = {c.key: snapshot.text(c.label, locale) or c.key for c in pref.criteria}
    order = value if isinstance(value, list) else []
    listed = ", ".join(f"{n}. {labels.get(key, str(key))}" for n, key in enumerate(order, start=1))
    return listed or words("none")


KIND = BffKind(
    widget="priorities",
    profile=_profile,
    view=_view,
    value_text=_value_text,
    acts_on_results=lambda pref: True,
)
"""The priorities kind's entry of :data:`bff.kinds.KINDS`."""
