"""revoked_session: customer login sessions ended by logout (their cookies are refused)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('revoked_session',
    sa.Column('session_id', sa.String(length=32), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('session_id', name=op.f('pk_revoked_session'))
    )
    op.create_index(op.f('ix_revoked_session_expires_at'), 'revoked_session', ['expires_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_revoked_session_expires_at'), table_name='revoked_session')
    op.drop_table('revoked_session')
