"""a vendor's internal review before the owner's: its share per vendor and its queue index

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-26 09:15:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('workforces', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_percent', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('annotations', schema=None) as batch_op:
        batch_op.create_index('ix_annotations_vendor_review_queue', ['project_id', 'vendor_id', 'id'], unique=False,
                              sqlite_where=sa.text("review_status = 'vendor_review'"),
                              postgresql_where=sa.text("review_status = 'vendor_review'"))


def downgrade() -> None:
    with op.batch_alter_table('annotations', schema=None) as batch_op:
        batch_op.drop_index('ix_annotations_vendor_review_queue',
                            sqlite_where=sa.text("review_status = 'vendor_review'"),
                            postgresql_where=sa.text("review_status = 'vendor_review'"))
    with op.batch_alter_table('workforces', schema=None) as batch_op:
        batch_op.drop_column('review_percent')
