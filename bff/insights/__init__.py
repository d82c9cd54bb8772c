"""Insights and experiments: aggregates over what prefkit already stores (ledger, state, registry versions,
reported conversions), suppressed below k, with no subject id in any output; results of the registry's A/B
experiments. See docs/insights.md."""

from __future__ import annotations

from .plugin import InsightsPlugin

__all__ = ["InsightsPlugin"]
