"""``[insights]``: what a shop declares about measuring: which consent purpose allows linking a conversion to
a shopper's preferences, and the smallest group an aggregate may describe.

Pure, like the rest of the package; the aggregates themselves are computed by the BFF (``bff/insights/``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Annotated, Any

from msgspec import Meta

from .common import Key, StrictStruct
from .errors import RegistryIssue
from .kinds.base import CheckContext

__all__ = ["DEFAULT_MIN_CELL", "InsightsSettings", "check_insights"]

DEFAULT_MIN_CELL = 10
"""k: aggregates over fewer shoppers (or events) than this are suppressed."""


class InsightsSettings(StrictStruct):
    """``[insights]`` of a registry document."""

    conversion_purpose: Key | None = None
    """Purpose of the consent (e.g. ``analytics``) a shopper must allow for a reported conversion to be linked
    to their preference cohort and experiment arm; without it, every conversion counts as unattributed."""
    min_cell: Annotated[int, Meta(ge=2, le=100_000)] = DEFAULT_MIN_CELL
    """k: the smallest count an aggregate may show (at least 2: a cell of one shopper describes that shopper)."""


def check_insights(
    ctx: CheckContext, settings: InsightsSettings | None, consents: Sequence[Any]
) -> Iterator[RegistryIssue]:
    """The conversion purpose must be the purpose of a switchable consent of this registry."""
    if settings is None or settings.conversion_purpose is None:
        return
    purposes = sorted({c.purpose for c in consents if c.purpose is not None and c.switchable})
    if settings.conversion_purpose not in purposes:
        yield ctx.issue(
            "insights.conversion_purpose",
            f"no switchable consent has the purpose `{settings.conversion_purpose}`: conversions "
            "could never be linked with the shopper's agreement",
            expected=" | ".join(purposes) or "the purpose of a switchable consent",
            got=repr(settings.conversion_purpose),
        )
