"""The merchant studio's statements: what a registry edit would do to stored decisions (aggregate counts only,
never a subject id), and who made a stored registry version live."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .models import PreferenceState, RegistryVersionRow

__all__ = ["decisions_by_wording", "set_version_source"]

_state = PreferenceState.__table__  # type: ignore[attr-defined]
_versions = RegistryVersionRow.__table__  # type: ignore[attr-defined]


def decisions_by_wording(connection: Connection, keys: Iterable[str]) -> dict[str, dict[str, int]]:
    """``key -> {text_hash: number of stored decisions made under that wording}`` for ``keys``: one
    grouped count. ``preference_state`` has no index on ``key`` (the hot paths read by subject), so this is
    one scan of the table: fine for an admin's impact view, never run on a shopper's path."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    query = (
        sa.select(_state.c.key, _state.c.text_hash, sa.func.count())
        .where(_state.c.key.in_(wanted))
        .group_by(_state.c.key, _state.c.text_hash)
    )
    result: dict[str, dict[str, int]] = {}
    for key, text_hash, count in connection.execute(query):
        result.setdefault(key, {})[text_hash] = int(count)
    return result


def set_version_source(connection: Connection, version: str, source: str) -> None:
    """Record where the latest activation of a stored ``version`` came from (``studio <label> <time>``):
    a studio publish or rollback of a version stored before says who made it live again."""
    connection.execute(sa.update(_versions).where(_versions.c.version == version).values(source=source[:500]))
