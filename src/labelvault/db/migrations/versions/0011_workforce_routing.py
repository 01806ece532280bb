"""teams and vendors, members' skills and vendor, routing rules, items' pools in the queue indexes

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 06:20:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
import labelvault.db.base

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

QUEUED = "state IN ('new', 'in_progress')"
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('workforces',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('organization_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', labelvault.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', labelvault.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_workforces_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workforces')),
    sa.UniqueConstraint('organization_id', 'kind', 'name', name=op.f('uq_workforces_organization_id'))
    )
    op.create_index(op.f('ix_workforces_organization_id'), 'workforces', ['organization_id'], unique=False)
    op.create_table('team_members',
    sa.Column('team_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('organization_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', labelvault.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_team_members_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['workforces.id'], name=op.f('fk_team_members_team_id_workforces'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_team_members_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('team_id', 'user_id', name=op.f('pk_team_members'))
    )
    op.create_index(op.f('ix_team_members_user_id'), 'team_members', ['user_id'], unique=False)
    op.create_table('routing_rules',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('organization_id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=36), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('workforce_id', sa.String(length=36), nullable=True),
    sa.Column('match', JSON, nullable=False),
    sa.Column('skill', sa.String(length=64), nullable=True),
    sa.Column('created_at', labelvault.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_routing_rules_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_routing_rules_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workforce_id'], ['workforces.id'], name=op.f('fk_routing_rules_workforce_id_workforces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routing_rules'))
    )
    op.create_index('ix_routing_rules_project', 'routing_rules', ['project_id', 'position'], unique=False)
    op.create_index(op.f('ix_routing_rules_workforce_id'), 'routing_rules', ['workforce_id'], unique=False)
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.add_column(sa.Column('vendor_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('skills', JSON, server_default='[]', nullable=False))
        batch_op.create_index(batch_op.f('ix_memberships_vendor_id'), ['vendor_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_memberships_vendor_id_workforces'), 'workforces', ['vendor_id'], ['id'], ondelete='CASCADE')
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('vendor_id', sa.String(length=36), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_invitations_vendor_id_workforces'), 'workforces', ['vendor_id'], ['id'], ondelete='CASCADE')
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('routed', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('annotations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('vendor_id', sa.String(length=36), nullable=True))
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pool', sa.String(length=110), server_default='', nullable=False))
    op.drop_index('ix_items_queue', table_name='items')
    op.drop_index('ix_items_queue_random', table_name='items')
    op.create_index('ix_items_queue', 'items', ['project_id', 'pool', sa.text('priority DESC'), 'id'],
                    unique=False, sqlite_where=sa.text(QUEUED), postgresql_where=sa.text(QUEUED))
    op.create_index('ix_items_queue_random', 'items', ['project_id', 'pool', sa.text('priority DESC'), 'queue_rank', 'id'],
                    unique=False, sqlite_where=sa.text(QUEUED), postgresql_where=sa.text(QUEUED))


def downgrade() -> None:
    op.drop_index('ix_items_queue_random', table_name='items')
    op.drop_index('ix_items_queue', table_name='items')
    op.create_index('ix_items_queue', 'items', ['project_id', sa.text('priority DESC'), 'id'],
                    unique=False, sqlite_where=sa.text(QUEUED), postgresql_where=sa.text(QUEUED))
    op.create_index('ix_items_queue_random', 'items', ['project_id', sa.text('priority DESC'), 'queue_rank', 'id'],
                    unique=False, sqlite_where=sa.text(QUEUED), postgresql_where=sa.text(QUEUED))
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_column('pool')
    with op.batch_alter_table('annotations', schema=None) as batch_op:
        batch_op.drop_column('vendor_id')
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_column('routed')
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_invitations_vendor_id_workforces'), type_='foreignkey')
        batch_op.drop_column('vendor_id')
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_memberships_vendor_id_workforces'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_memberships_vendor_id'))
        batch_op.drop_column('skills')
        batch_op.drop_column('vendor_id')
    op.drop_index(op.f('ix_routing_rules_workforce_id'), table_name='routing_rules')
    op.drop_index('ix_routing_rules_project', table_name='routing_rules')
    op.drop_table('routing_rules')
    op.drop_index(op.f('ix_team_members_user_id'), table_name='team_members')
    op.drop_table('team_members')
    op.drop_index(op.f('ix_workforces_organization_id'), table_name='workforces')
    op.drop_table('workforces')
