"""gold items in the queue: a per-project gold rate and the gold items each person has met

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 04:45:00
"""
from alembic import op
import sqlalchemy as sa
import labelvault.db.base

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('gold_exposures',
    sa.Column('item_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('organization_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', labelvault.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_gold_exposures_item_id_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_gold_exposures_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_gold_exposures_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('item_id', 'user_id', name=op.f('pk_gold_exposures'))
    )
    with op.batch_alter_table('quality_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('gold_rate', sa.Float(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('quality_settings', schema=None) as batch_op:
        batch_op.drop_column('gold_rate')
    op.drop_table('gold_exposures')
