"""item browser: items by priority within a project

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 03:40:00

The item browser pages through a project's items highest priority first, newest first within a priority,
by keyset: this index, read backwards, serves any page of that order with one index range read. Its order
is deliberately not the queue's (highest priority first, oldest first), so that the planner never takes it
for the next-item query, which must keep to the partial queue indexes of open items.
"""
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_items_browse_priority', 'items', ['project_id', 'priority', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_items_browse_priority', table_name='items')
