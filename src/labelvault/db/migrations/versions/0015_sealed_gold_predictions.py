"""gold answers, predictions, aggregates and qualification exam items and attempts sealed at rest

Existing rows are sealed here with the instance's key-encryption keys (LABELVAULT_KEY_DIR, as the server
uses them), then the plaintext columns are dropped. A fresh database has nothing to seal.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-26 09:30:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from labelvault.crypto.migration import QUALITY_TABLES, open_existing, seal_existing

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    for spec in QUALITY_TABLES:
        op.add_column(spec.table, sa.Column(spec.sealed, sa.LargeBinary(), nullable=True))
    seal_existing(op.get_bind(), QUALITY_TABLES)
    for spec in QUALITY_TABLES:
        op.drop_column(spec.table, spec.plain)


def downgrade() -> None:
    json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
    for spec in QUALITY_TABLES:
        op.add_column(spec.table, sa.Column(spec.plain, json, nullable=True))
    open_existing(op.get_bind(), QUALITY_TABLES)
    for spec in QUALITY_TABLES:
        with op.batch_alter_table(spec.table, schema=None) as batch_op:
            batch_op.alter_column(spec.plain, existing_type=json, nullable=False)
            batch_op.drop_column(spec.sealed)
