"""Customer sessions ended by logout, kept in the database (``revoked_session``).

A customer cookie carries a random session id (see :mod:`bff.identity`). ``POST /api/v1/session/logout``
stores that id here; from then on :class:`bff.identity.IdentityMiddleware` treats the cookie like a
tampered one (a fresh anonymous subject), in every process that shares the database — a replayed copy of
the cookie is worth nothing. Only customer cookies pay the lookup (one primary-key read); anonymous
cookies carry no session. Rows name no subject and are deleted once the cookie would have expired anyway.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from .storage import Database
from .storage.models import RevokedSession

__all__ = ["SessionRevocations"]

_TABLE = RevokedSession.__table__  # type: ignore[attr-defined]
_IS_REVOKED = "SELECT 1 FROM revoked_session WHERE session_id = ?"


class SessionRevocations:
    """Revoke customer sessions and ask whether one was revoked."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def is_revoked(self, session: str) -> bool:
        return bool(await self.database.fetch_point(_IS_REVOKED, (session,)))

    async def revoke(self, session: str, expires_at: int) -> None:
        """Refuse the cookie of ``session`` from now on (until ``expires_at``, when it expires anyway)."""
        now = datetime.now(UTC)
        until = datetime.fromtimestamp(expires_at, UTC)
        insert = (sqlite.insert if self.database.sqlite else postgresql.insert)(_TABLE)

        def work(connection: sa.Connection) -> None:
            # Housekeeping on the rare write: rows of cookies that have expired meanwhile are useless.
            connection.execute(sa.delete(_TABLE).where(_TABLE.c.expires_at < now))
            # Two logouts with the same cookie (two tabs) must both succeed.
            connection.execute(
                insert.values(session_id=session, expires_at=until).on_conflict_do_nothing(
                    index_elements=["session_id"]
                )
            )

        await self.database.run_write_async([], work)
