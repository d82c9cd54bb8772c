"""webhook_delivery: the queue and head indexes cover pending deliveries only

Delivered and dead rows stay for the retention period (a week by default) but are never looked up through
these indexes; indexing only the pending ones keeps both indexes as small as the backlog, so staging a
delivery in the shopper's write transaction touches a page or two of them instead of a page per subject
(bench/webhooks.py: the outbox's cost to SQLite write throughput).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

_PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    op.drop_index('ix_webhook_delivery_heads', table_name='webhook_delivery')
    op.drop_index('ix_webhook_delivery_queue', table_name='webhook_delivery')
    op.create_index('ix_webhook_delivery_queue', 'webhook_delivery', ['subscriber', 'ordering_key', 'outbox_id'],
                    unique=False, sqlite_where=_PENDING, postgresql_where=_PENDING)
    op.create_index('ix_webhook_delivery_heads', 'webhook_delivery', ['is_head', 'outbox_id'],
                    unique=False, sqlite_where=_PENDING, postgresql_where=_PENDING)


def downgrade() -> None:
    op.drop_index('ix_webhook_delivery_heads', table_name='webhook_delivery')
    op.drop_index('ix_webhook_delivery_queue', table_name='webhook_delivery')
    op.create_index('ix_webhook_delivery_queue', 'webhook_delivery',
                    ['subscriber', 'ordering_key', 'status', 'outbox_id'], unique=False)
    op.create_index('ix_webhook_delivery_heads', 'webhook_delivery', ['status', 'is_head', 'outbox_id'],
                    unique=False)
