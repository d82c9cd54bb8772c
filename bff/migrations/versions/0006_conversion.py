"""conversion: orders reported by the shop's backend, linked to a shopper only with their consent
(bff/storage/conversions.py)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('conversion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.String(length=100), nullable=True),
    sa.Column('subject', sa.String(length=200), nullable=True),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversion')),
    sa.UniqueConstraint('order_id', name=op.f('uq_conversion_order_id'))
    )
    op.create_index(op.f('ix_conversion_subject'), 'conversion', ['subject'], unique=False)
    op.create_index(op.f('ix_conversion_occurred_at'), 'conversion', ['occurred_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_conversion_occurred_at'), table_name='conversion')
    op.drop_index(op.f('ix_conversion_subject'), table_name='conversion')
    op.drop_table('conversion')
