"""cluster_notice: committed changes and registry activations announced to the other processes sharing a
SQLite file (bff/cluster.py; PostgreSQL uses LISTEN/NOTIFY instead)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cluster_notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('origin', sa.String(length=32), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cluster_notice')),
    sqlite_autoincrement=True,
    )
    op.create_index(op.f('ix_cluster_notice_created_at'), 'cluster_notice', ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_cluster_notice_created_at'), table_name='cluster_notice')
    op.drop_table('cluster_notice')
