"""The BFF's tables (SQLModel). Alembic migrations in ``bff/migrations`` create exactly these."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlmodel import Field, SQLModel

__all__ = [
    "AnonymousCounter",
    "ExactJSON",
    "ConsentEvent",
    "PreferenceState",
    "RegistryVersionRow",
    "RevokedSession",
    "SubjectLink",
    "decode_sqlite_json",
    "metadata",
]

# Naming convention: Alembic batch mode on SQLite and PostgreSQL agree on constraint names.
metadata = SQLModel.metadata
metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

_UTC = sa.DateTime(timezone=True)


class ExactJSON(sa.types.TypeDecorator):
    """JSON that comes back exactly as it went in, on SQLite too.

    SQLite gives a column declared ``JSON`` NUMERIC affinity: JSON text that reads as a number (``0.002877``,
    the body of a slider value) is converted to SQLite's own number on insert, and that conversion is not
    always exact (``0.002877`` came back as ``0.0028770000000000002``, a different choice, and the ledger
    then reported its event as altered). Affinity never touches a BLOB, so on SQLite the JSON text is bound
    as UTF-8 bytes; rows written before (text, or numbers) still read. The declared type stays ``JSON``
    (no migration); PostgreSQL's ``json`` keeps the text verbatim and uses SQLAlchemy's own JSON handling.
    :meth:`bff.storage.hot.HotSql.json` binds the same way.
    """

    impl = sa.JSON
    cache_ok = True

    def bind_processor(self, dialect: sa.Dialect) -> Any:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        encode = msgspec.json.encode
        return encode  # None is JSON null, as sa.JSON stores it by default

    def result_processor(self, dialect: sa.Dialect, coltype: Any) -> Any:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        return decode_sqlite_json


def decode_sqlite_json(value: Any) -> Any:
    """A JSON column's value as SQLite returns it: bytes (:class:`ExactJSON`), older text rows, or a number
    that NUMERIC affinity made of older text; SQL NULL stays ``None``."""
    if isinstance(value, (bytes, str)):
        return msgspec.json.decode(value)
    return value


class PreferenceState(SQLModel, table=True):
    """The current explicit choice of one subject for one key (absent row: the default applies)."""

    __tablename__ = "preference_state"

    subject: str = Field(primary_key=True, max_length=200)
    """Subject id (``anon:...`` or ``cust:...``)."""
    key: str = Field(primary_key=True, max_length=64)
    """Preference key."""
    value: Any = Field(sa_column=sa.Column(ExactJSON, nullable=True))
    """The chosen value, JSON."""
    decided_at: datetime = Field(sa_column=sa.Column(_UTC, nullable=False))
    """When it was chosen (UTC)."""
    text_hash: str = Field(max_length=64)
    """Hash of the wording shown when choosing."""
    registry_version: str = Field(max_length=64)
    """Registry version in force when choosing."""
    made_under_gpc: bool = False
    """Chosen while the browser sent ``Sec-GPC: 1``."""
    expiry_logged: bool = False
    """The ``expiry`` ledger event for this decision was written (it is written once)."""
    gpc_logged: bool = False
    """The ``gpc`` ledger event (GPC overriding this grant) was written (it is written once)."""


class ConsentEvent(SQLModel, table=True):
    """One entry of the append-only ledger; per subject a hash chain (``seq`` 1, 2, 3...)."""

    __tablename__ = "consent_event"
    __table_args__ = (sa.UniqueConstraint("subject", "seq", name="uq_consent_event_subject_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    """Global insertion order."""
    subject: str = Field(max_length=200)
    """Subject id (the ``(subject, seq)`` unique index serves per-subject reads)."""
    seq: int
    """Position in the subject's chain, from 1; unique per subject, so a forked chain cannot be stored."""
    key: str = Field(max_length=64)
    """Preference key."""
    old_value: Any = Field(sa_column=sa.Column(ExactJSON, nullable=True))
    """Effective value before."""
    new_value: Any = Field(sa_column=sa.Column(ExactJSON, nullable=True))
    """Effective value after."""
    method: str = Field(max_length=32)
    """``ui``, ``api``, ``accept_all``, ``reject_all``, ``gpc``, ``expiry``, ``merge``, ``withdraw``..."""
    registry_version: str = Field(max_length=64)
    """Registry version in force."""
    text_hash: str = Field(max_length=64)
    """Hash of the wording the shopper saw."""
    made_under_gpc: bool = False
    """The request carried ``Sec-GPC: 1``."""
    created_at: datetime = Field(sa_column=sa.Column(_UTC, nullable=False))
    """When it was recorded (UTC, microseconds)."""
    prev_hash: str = Field(max_length=64)
    """``hash`` of the subject's previous event (64 zeros for the first)."""
    hash: str = Field(max_length=64)
    """SHA-256 over ``prev_hash`` and the canonical encoding of this event."""


class RegistryVersionRow(SQLModel, table=True):
    """Every registry ever activated, so any decision's wording can be shown again."""

    __tablename__ = "registry_version"

    version: str = Field(primary_key=True, max_length=64)
    """Content hash (``RegistrySnapshot.version``)."""
    source_text: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    """The document as submitted."""
    format: str = Field(max_length=8)
    """``toml``, ``yaml`` or ``json``."""
    source: str | None = Field(default=None, max_length=500)
    """File name or origin."""
    activated_at: datetime = Field(sa_column=sa.Column(_UTC, nullable=False))
    """Last activation time."""


class SubjectLink(SQLModel, table=True):
    """An anonymous subject merged into a customer subject (merged once, on first sight)."""

    __tablename__ = "subject_link"

    anonymous_subject: str = Field(primary_key=True, max_length=200)
    """The anonymous subject id."""
    customer_subject: str = Field(max_length=200, index=True)
    """The customer subject it was merged into."""
    linked_at: datetime = Field(sa_column=sa.Column(_UTC, nullable=False))
    """When."""


class AnonymousCounter(SQLModel, table=True):
    """Aggregate counts that survive erasure; they name no subject (see ``bff/rights.py``)."""

    __tablename__ = "anonymous_counter"

    name: str = Field(primary_key=True, max_length=200)
    """What is counted: ``erasures`` or ``erased:<key>=<canonical JSON value>``."""
    count: int = 0
    """How many."""


class RevokedSession(SQLModel, table=True):
    """A customer login session ended by logout: its cookie is refused from then on, by every process that
    shares this database. Names no subject (the id is random); rows go once the cookie would have expired."""

    __tablename__ = "revoked_session"

    session_id: str = Field(primary_key=True, max_length=32)
    """The random session id the customer cookie carried."""
    expires_at: datetime = Field(sa_column=sa.Column(_UTC, nullable=False, index=True))
    """When that cookie expires anyway; the row may be deleted after it."""
