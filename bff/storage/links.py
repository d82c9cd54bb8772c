"""``subject_link``: anonymous subjects merged into customer subjects on login."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .models import SubjectLink

__all__ = ["MERGEABLE_SQL", "Link", "customer_of", "link", "links_into", "merged_into"]

_links = SubjectLink.__table__  # type: ignore[attr-defined]

MERGEABLE_SQL = (
    "SELECT 1 FROM consent_event WHERE subject = ? AND NOT EXISTS "
    "(SELECT 1 FROM subject_link WHERE anonymous_subject = ?) LIMIT 1"
)
"""Parameters ``(anonymous, anonymous)``: a row when the anonymous subject has something to merge (any
ledger event: every decision has one) and no link yet. One indexed read for
:meth:`bff.storage.engine.Database.fetch_point`."""

Link = tuple[str, str, datetime]
"""``(anonymous_subject, customer_subject, linked_at)`` as stored (``linked_at`` may be naive UTC)."""


def customer_of(connection: Connection, anonymous: str) -> Link | None:
    """The link of ``anonymous`` into a customer, if it was merged."""
    row = connection.execute(sa.select(_links).where(_links.c.anonymous_subject == anonymous)).first()
    return None if row is None else (row.anonymous_subject, row.customer_subject, row.linked_at)


def links_into(connection: Connection, customer: str) -> list[Link]:
    """Every anonymous subject merged into ``customer``, oldest link first."""
    rows = connection.execute(
        sa.select(_links).where(_links.c.customer_subject == customer).order_by(_links.c.linked_at)
    ).all()
    return [(row.anonymous_subject, row.customer_subject, row.linked_at) for row in rows]


def merged_into(connection: Connection, customer: str) -> list[str]:
    """The anonymous subject ids merged into ``customer``."""
    return list(
        connection.execute(
            sa.select(_links.c.anonymous_subject).where(_links.c.customer_subject == customer)
        ).scalars()
    )


def link(connection: Connection, anonymous: str, customer: str, now: datetime) -> None:
    """Record that ``anonymous`` was merged into ``customer`` (once: the primary key refuses a second)."""
    connection.execute(
        sa.insert(_links).values(anonymous_subject=anonymous, customer_subject=customer, linked_at=now)
    )
