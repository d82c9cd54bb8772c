"""anonymous_counter: aggregate counts kept when a subject is erased

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('anonymous_counter',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_anonymous_counter'))
    )


def downgrade() -> None:
    op.drop_table('anonymous_counter')
