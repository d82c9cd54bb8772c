"""initial schema: preference_state, consent_event (hash-chained ledger), registry_version, subject_link

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("old_value", sa.JSON(), nullable=True),
        sa.Column("new_value", sa.JSON(), nullable=True),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("registry_version", sa.String(length=64), nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("made_under_gpc", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_event")),
        sa.UniqueConstraint("subject", "seq", name="uq_consent_event_subject_seq"),
    )
    op.create_table(
        "preference_state",
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("registry_version", sa.String(length=64), nullable=False),
        sa.Column("made_under_gpc", sa.Boolean(), nullable=False),
        sa.Column("expiry_logged", sa.Boolean(), nullable=False),
        sa.Column("gpc_logged", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("subject", "key", name=op.f("pk_preference_state")),
    )
    op.create_table(
        "registry_version",
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("source_text", sa.Text(), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=True),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_registry_version")),
    )
    op.create_table(
        "subject_link",
        sa.Column("anonymous_subject", sa.String(length=200), nullable=False),
        sa.Column("customer_subject", sa.String(length=200), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("anonymous_subject", name=op.f("pk_subject_link")),
    )
    with op.batch_alter_table("subject_link", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_subject_link_customer_subject"), ["customer_subject"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("subject_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subject_link_customer_subject"))

    op.drop_table("subject_link")
    op.drop_table("registry_version")
    op.drop_table("preference_state")
    op.drop_table("consent_event")
