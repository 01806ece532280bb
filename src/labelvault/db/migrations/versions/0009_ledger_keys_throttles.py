"""ledger entries and checkpoints, wrapped per-project data keys, sign-in throttles, token scopes

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 04:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

UNSEALED = "position IS NULL"


def upgrade() -> None:
    op.create_table(
        'ledger_entries',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('organization_id', sa.String(length=36), nullable=False),
        sa.Column('recorded_us', sa.BigInteger(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('actor_user_id', sa.String(length=36), nullable=True),
        sa.Column('actor_email', sa.String(length=320), nullable=False),
        sa.Column('token_id', sa.String(length=36), nullable=True),
        sa.Column('vendor_id', sa.String(length=36), nullable=True),
        sa.Column('route', sa.String(length=300), nullable=False),
        sa.Column('project_id', sa.String(length=36), nullable=True),
        sa.Column('item_ids', sa.Text(), nullable=False),
        sa.Column('fields', sa.Text(), nullable=False),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.Column('position', sa.BigInteger(), nullable=True),
        sa.Column('entry_hash', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entries')),
        sa.UniqueConstraint('position', name=op.f('uq_ledger_entries_position')),
    )
    op.create_index('ix_ledger_entries_org_time', 'ledger_entries', ['organization_id', 'recorded_us'])
    op.create_index('ix_ledger_entries_unsealed', 'ledger_entries', ['recorded_us', 'id'],
                    sqlite_where=sa.text(UNSEALED), postgresql_where=sa.text(UNSEALED))
    op.create_table(
        'ledger_checkpoints',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('root_hash', sa.String(length=64), nullable=False),
        sa.Column('frontier', sa.Text(), nullable=False),
        sa.Column('signed_us', sa.BigInteger(), nullable=False),
        sa.Column('public_key', sa.String(length=64), nullable=False),
        sa.Column('signature', sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_checkpoints')),
        sa.UniqueConstraint('size', name=op.f('uq_ledger_checkpoints_size')),
    )
    op.create_table(
        'project_data_keys',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('organization_id', sa.String(length=36), nullable=False),
        sa.Column('project_id', sa.String(length=36), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('kek_id', sa.String(length=200), nullable=False),
        sa.Column('wrapped_key', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'],
                                name=op.f('fk_project_data_keys_organization_id_organizations'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id'],
                                name=op.f('fk_project_data_keys_project_id_projects'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_project_data_keys')),
        sa.UniqueConstraint('project_id', 'version', name=op.f('uq_project_data_keys_project_id')),
    )
    op.create_table(
        'login_throttles',
        sa.Column('key', sa.String(length=400), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('window_started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttles')),
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scope', sa.String(length=16), server_default='manage', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('scope')
    op.drop_table('login_throttles')
    op.drop_table('project_data_keys')
    op.drop_table('ledger_checkpoints')
    op.drop_index('ix_ledger_entries_unsealed', table_name='ledger_entries')
    op.drop_index('ix_ledger_entries_org_time', table_name='ledger_entries')
    op.drop_table('ledger_entries')
