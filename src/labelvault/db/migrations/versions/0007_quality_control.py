"""quality control: gold answers, settings, scores, aggregates, reports, suspensions, qualification

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 03:43:50.394483
"""
from alembic import op
import sqlalchemy as sa
import labelvault.db.base
from sqlalchemy.dialects import postgresql

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('qualification_attempts',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('organization_id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('answers', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('scores', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('threshold', sa.Float(), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('created_at', labelvault.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_qualification_attempts_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_qualification_attempts_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_qualification_attempts_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qualification_attempts'))
    )
    with op.batch_alter_table('qualification_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_qualification_attempts_project_user', ['project_id', 'user_id', 'passed'], unique=False)

    op.create_table('qualification_items',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('organization_id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=36), nullable=False),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('answers', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_by_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', labelvault.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_qualification_items_created_by_id_users')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_qualification_items_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_qualification_items_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qualification_items'))
    )
    with op.batch_alter_table('qualification_items', schema=None) as batch_op:
        batch_op.create_index('ix_qualification_items_project', ['project_id', 'id'], unique=False)

    op.create_table('quality_reports',
    sa.Column('project_id', sa.String(length=36), nullable=False),
    sa.Column('organization_id', sa.String(length=36), nullable=False),
    sa.Column('job_id', sa.String(length=36), nullable=True),
    sa.Column('report', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('computed_at', labelvault.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_quality_reports_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_quality_reports_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', name=op.f('pk_quality_reports'))
    )
    with op.batch_alter_table('quality_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quality_reports_organization_id'), ['organization_id'], unique=False)

    op.create_table('quality_settings',
    sa.Column('project_id', sa.String(length=36), nullable=False),
    sa.Column('organization_id', sa.String(length=36), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('rating_tolerance', sa.Integer(), nullable=False),
    sa.Column('box_iou_threshold', sa.Float(), nullable=False),
    sa.Column('gold_threshold', sa.Float(), nullable=False),
    sa.Column('confidence_threshold', sa.Float(), nullable=False),
    sa.Column('max_overlap', sa.Integer(), nullable=False),
    sa.Column('adaptive_overlap', sa.Boolean(), nullable=False),
    sa.Column('early_stop_confidence', sa.Float(), nullable=False),
    sa.Column('auto_suspend', sa.Boolean(), nullable=False),
    sa.Column('gold_window', sa.Integer(), nullable=False),
    sa.Column('gold_min_items', sa.Integer(), nullable=False),
    sa.Column('qualification_required', sa.Boolean(), nullable=False),
    sa.Column('qualification_threshold', sa.Float(), nullable=False),
    sa.Column('qualification_attempts', sa.Integer(), nullable=False),
    sa.Column('refreshed_through', labelvault.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', labelvault.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_quality_settings_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_quality_settings_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', name=op.f('pk_quality_settings'))
    )
    with op.batch_alter_table('quality_settings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quality_settings_organization_id'), ['organization_id'], unique=False)

    op.create_table('quality_suspensions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('organization_id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('gold_accuracy', sa.Float(), nullable=False),
    sa.Column('gold_items', sa.Integer(), nullable=False),
    sa.Column('threshold', sa.Float(), nullable=False),
    sa.Column('job_id', sa.String(length=36), nullable=True),
    sa.Column('suspended_at', labelvault.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('reinstated_at', labelvault.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('reinstated_by_id', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_quality_suspensions_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_quality_suspensions_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reinstated_by_id'], ['users.id'], name=op.f('fk_quality_suspensions_reinstated_by_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_quality_suspensions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quality_suspensions'))
    )
    with op.batch_alter_table('quality_suspensions', schema=None) as batch_op:
        batch_op.create_index('ix_quality_suspensions_project_user', ['project_id', 'user_id', 'reinstated_at'], unique=False)

    op.create_table('gold_answers',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('organization_id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=36), nullable=False),
    sa.Column('item_id', sa.String(length=36), nullable=False),
    sa.Column('answers', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_by_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', labelvault.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', labelvault.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_gold_answers_created_by_id_users')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_gold_answers_item_id_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_gold_answers_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_gold_answers_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gold_answers')),
    sa.UniqueConstraint('item_id', name=op.f('uq_gold_answers_item_id'))
    )
    with op.batch_alter_table('gold_answers', schema=None) as batch_op:
        batch_op.create_index('ix_gold_answers_project', ['project_id', 'item_id'], unique=False)

    op.create_table('item_aggregates',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('organization_id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=36), nullable=False),
    sa.Column('item_id', sa.String(length=36), nullable=False),
    sa.Column('question', sa.String(length=64), nullable=False),
    sa.Column('value', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('annotations', sa.Integer(), nullable=False),
    sa.Column('computed_at', labelvault.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_item_aggregates_item_id_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_item_aggregates_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_item_aggregates_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_item_aggregates')),
    sa.UniqueConstraint('item_id', 'question', name=op.f('uq_item_aggregates_item_id'))
    )
    with op.batch_alter_table('item_aggregates', schema=None) as batch_op:
        batch_op.create_index('ix_item_aggregates_project', ['project_id', 'item_id'], unique=False)

    op.create_table('annotation_scores',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('organization_id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=36), nullable=False),
    sa.Column('annotation_id', sa.String(length=36), nullable=False),
    sa.Column('item_id', sa.String(length=36), nullable=False),
    sa.Column('author_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('questions', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('submitted_at', labelvault.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('scored_at', labelvault.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['annotation_id'], ['annotations.id'], name=op.f('fk_annotation_scores_annotation_id_annotations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_annotation_scores_author_id_users')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_annotation_scores_item_id_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_annotation_scores_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_annotation_scores_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_annotation_scores')),
    sa.UniqueConstraint('annotation_id', 'kind', name=op.f('uq_annotation_scores_annotation_id'))
    )
    with op.batch_alter_table('annotation_scores', schema=None) as batch_op:
        batch_op.create_index('ix_annotation_scores_project_author', ['project_id', 'author_id', 'kind'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('annotation_scores', schema=None) as batch_op:
        batch_op.drop_index('ix_annotation_scores_project_author')

    op.drop_table('annotation_scores')
    with op.batch_alter_table('item_aggregates', schema=None) as batch_op:
        batch_op.drop_index('ix_item_aggregates_project')

    op.drop_table('item_aggregates')
    with op.batch_alter_table('gold_answers', schema=None) as batch_op:
        batch_op.drop_index('ix_gold_answers_project')

    op.drop_table('gold_answers')
    with op.batch_alter_table('quality_suspensions', schema=None) as batch_op:
        batch_op.drop_index('ix_quality_suspensions_project_user')

    op.drop_table('quality_suspensions')
    with op.batch_alter_table('quality_settings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quality_settings_organization_id'))

    op.drop_table('quality_settings')
    with op.batch_alter_table('quality_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quality_reports_organization_id'))

    op.drop_table('quality_reports')
    with op.batch_alter_table('qualification_items', schema=None) as batch_op:
        batch_op.drop_index('ix_qualification_items_project')

    op.drop_table('qualification_items')
    with op.batch_alter_table('qualification_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_qualification_attempts_project_user')

    op.drop_table('qualification_attempts')
