"""random order within a priority: a per-item queue rank and a project setting

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 03:20:00

Projects may hand out items in random order within a priority (`queue_order = 'random'`) instead of import
order. Each item draws a random rank when it is created; a second partial queue index orders the open items
by priority, then rank, so a claim in a random-order project also reads one step along an index. Items that
exist already draw their rank here.
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

QUEUED = "state IN ('new', 'in_progress')"


def upgrade() -> None:
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('queue_order', sa.String(length=16), server_default='import', nullable=False))
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('queue_rank', sa.Integer(), server_default='0', nullable=False))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("UPDATE items SET queue_rank = floor(random() * 2147483648)::integer")
    else:
        op.execute("UPDATE items SET queue_rank = abs(random() % 2147483648)")
    op.create_index('ix_items_queue_random', 'items', ['project_id', sa.text('priority DESC'), 'queue_rank', 'id'],
                    unique=False, sqlite_where=sa.text(QUEUED), postgresql_where=sa.text(QUEUED))


def downgrade() -> None:
    op.drop_index('ix_items_queue_random', table_name='items')
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_column('queue_rank')
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_column('queue_order')
