"""content sealed at rest: item data and annotation answers (with drafts, revisions, review fixes) as ciphertexts

Existing rows are sealed here with the instance's key-encryption keys (LABELVAULT_KEY_DIR, as the server
uses them), then the plaintext columns are dropped. A fresh database has nothing to seal.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26 06:20:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from labelvault.crypto.migration import open_existing, seal_existing

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

# table -> (plaintext column, sealed column)
COLUMNS = {'items': ('data', 'sealed_data'), 'annotations': ('answers', 'sealed_answers'),
           'annotation_revisions': ('answers', 'sealed_answers'), 'reviews': ('answers', 'sealed_answers')}


def upgrade() -> None:
    for table, (_, sealed) in COLUMNS.items():
        op.add_column(table, sa.Column(sealed, sa.LargeBinary(), nullable=True))
    seal_existing(op.get_bind())
    for table, (plain, _) in COLUMNS.items():
        op.drop_column(table, plain)


def downgrade() -> None:
    json = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')
    for table, (plain, _) in COLUMNS.items():
        op.add_column(table, sa.Column(plain, json, nullable=True))
    open_existing(op.get_bind())
    for table, (_, sealed) in COLUMNS.items():
        op.drop_column(table, sealed)
