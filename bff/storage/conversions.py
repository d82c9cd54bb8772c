"""``conversion``: orders the shop's backend reports (``POST /api/v1/conversions``), for conversion rate and
average order value by preference cohort.

A row names its subject only when the shopper allowed the purpose the registry names for it
(``[insights] conversion_purpose``) when the order was reported; otherwise the subject is not stored at all
and the order counts as *unattributed*. The link is dropped again when the shopper withdraws that purpose
or is erased (:func:`unlink_subjects`): the order stays, counted as unattributed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Field, SQLModel

from .times import as_utc

__all__ = ["Conversion", "insert_conversion", "unlink_subjects"]

_UTC = sa.DateTime(timezone=True)


class Conversion(SQLModel, table=True):
    """One reported order."""

    __tablename__ = "conversion"

    id: int | None = Field(default=None, primary_key=True)
    """Insertion order."""
    order_id: str | None = Field(default=None, max_length=100, unique=True)
    """The shop's order reference, when given: the same order reported twice is stored once."""
    subject: str | None = Field(default=None, max_length=200, index=True)
    """The shopper, only while they allow the conversion purpose (else ``None``: unattributed)."""
    value: float
    """Order value (the shop's currency units)."""
    currency: str | None = Field(default=None, max_length=3)
    """ISO 4217 code, when given."""
    occurred_at: datetime = Field(sa_column=sa.Column(_UTC, nullable=False, index=True))
    """When the order was placed (UTC)."""
    recorded_at: datetime = Field(sa_column=sa.Column(_UTC, nullable=False))
    """When it was reported."""


_table = Conversion.__table__  # type: ignore[attr-defined]


def insert_conversion(
    connection: Connection,
    *,
    order_id: str | None,
    subject: str | None,
    value: float,
    currency: str | None,
    occurred_at: datetime,
    recorded_at: datetime,
) -> bool:
    """Store one conversion; ``False`` (nothing written) when ``order_id`` was reported before."""
    if order_id is not None:
        seen = connection.execute(sa.select(_table.c.id).where(_table.c.order_id == order_id)).first()
        if seen is not None:
            return False
    connection.execute(
        _table.insert().values(
            order_id=order_id,
            subject=subject,
            value=value,
            currency=currency,
            occurred_at=as_utc(occurred_at),
            recorded_at=as_utc(recorded_at),
        )
    )
    return True


def unlink_subjects(connection: Connection, subjects: Iterable[str]) -> int:
    """Forget which shopper placed the orders of ``subjects`` (withdrawal, erasure); how many rows."""
    names = sorted(set(subjects))
    if not names:
        return 0
    result = connection.execute(_table.update().where(_table.c.subject.in_(names)).values(subject=None))
    return int(result.rowcount or 0)

