"""Timestamps as prefkit stores and returns them: timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["as_utc"]


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive value (SQLite hands timestamps back without a zone) is taken as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
