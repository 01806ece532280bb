"""automatic quality refresh (one pending job per project) and each person's place in the gold walk

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26 06:10:00
"""
from alembic import op
import sqlalchemy as sa
import labelvault.db.base

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('gold_cursors',
    sa.Column('project_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('organization_id', sa.String(length=36), nullable=False),
    sa.Column('after_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_gold_cursors_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_gold_cursors_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_gold_cursors_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', 'user_id', name=op.f('pk_gold_cursors'))
    )
    op.create_table('quality_pending_refreshes',
    sa.Column('project_id', sa.String(length=36), nullable=False),
    sa.Column('organization_id', sa.String(length=36), nullable=False),
    sa.Column('job_id', sa.String(length=36), nullable=False),
    sa.Column('requested_at', labelvault.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_quality_pending_refreshes_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_quality_pending_refreshes_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', name=op.f('pk_quality_pending_refreshes'))
    )
    with op.batch_alter_table('gold_answers', schema=None) as batch_op:
        batch_op.create_index('ix_gold_answers_project_order', ['project_id', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('gold_answers', schema=None) as batch_op:
        batch_op.drop_index('ix_gold_answers_project_order')
    op.drop_table('quality_pending_refreshes')
    op.drop_table('gold_cursors')
