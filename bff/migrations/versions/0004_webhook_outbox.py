"""webhook_outbox, webhook_delivery: the transactional outbox of signed webhooks (bff/storage/outbox.py)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('webhook_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.String(length=32), nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=True),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_outbox'))
    )
    op.create_index(op.f('ix_webhook_outbox_subject'), 'webhook_outbox', ['subject'], unique=False)
    op.create_index(op.f('ix_webhook_outbox_created_at'), 'webhook_outbox', ['created_at'], unique=False)
    op.create_table('webhook_delivery',
    sa.Column('subscriber', sa.String(length=64), nullable=False),
    sa.Column('outbox_id', sa.Integer(), nullable=False),
    sa.Column('ordering_key', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('is_head', sa.Boolean(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lease_owner', sa.String(length=64), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_status', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('subscriber', 'outbox_id', name=op.f('pk_webhook_delivery'))
    )
    op.create_index('ix_webhook_delivery_queue', 'webhook_delivery',
                    ['subscriber', 'ordering_key', 'status', 'outbox_id'], unique=False)
    op.create_index('ix_webhook_delivery_heads', 'webhook_delivery', ['status', 'is_head', 'outbox_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_webhook_delivery_heads', table_name='webhook_delivery')
    op.drop_index('ix_webhook_delivery_queue', table_name='webhook_delivery')
    op.drop_table('webhook_delivery')
    op.drop_index(op.f('ix_webhook_outbox_created_at'), table_name='webhook_outbox')
    op.drop_index(op.f('ix_webhook_outbox_subject'), table_name='webhook_outbox')
    op.drop_table('webhook_outbox')
