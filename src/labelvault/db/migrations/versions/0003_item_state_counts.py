"""item state counters kept by triggers

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 23:05:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

SHARDS = 16

POSTGRES_FUNCTIONS = f"""
CREATE FUNCTION lv_count_inserted_items() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO item_state_counts (project_id, state, shard, organization_id, n)
  SELECT project_id, state, floor(random() * {SHARDS})::int, organization_id, count(*)
  FROM new_rows GROUP BY project_id, state, organization_id
  ON CONFLICT (project_id, state, shard) DO UPDATE SET n = item_state_counts.n + excluded.n;
  RETURN NULL;
END $$;

CREATE FUNCTION lv_count_deleted_items() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO item_state_counts (project_id, state, shard, organization_id, n)
  SELECT project_id, state, floor(random() * {SHARDS})::int, organization_id, -count(*)
  FROM old_rows GROUP BY project_id, state, organization_id
  ON CONFLICT (project_id, state, shard) DO UPDATE SET n = item_state_counts.n + excluded.n;
  RETURN NULL;
END $$;

CREATE FUNCTION lv_count_updated_items() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO item_state_counts (project_id, state, shard, organization_id, n)
  SELECT project_id, state, floor(random() * {SHARDS})::int, organization_id, sum(delta) FROM (
    SELECT o.project_id, o.state, o.organization_id, -1 AS delta
      FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE n.state <> o.state
    UNION ALL
    SELECT n.project_id, n.state, n.organization_id, 1
      FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE n.state <> o.state
  ) changes GROUP BY project_id, state, organization_id
  ON CONFLICT (project_id, state, shard) DO UPDATE SET n = item_state_counts.n + excluded.n;
  RETURN NULL;
END $$;

CREATE TRIGGER lv_items_inserted AFTER INSERT ON items REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION lv_count_inserted_items();
CREATE TRIGGER lv_items_deleted AFTER DELETE ON items REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION lv_count_deleted_items();
CREATE TRIGGER lv_items_updated AFTER UPDATE ON items REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION lv_count_updated_items();
"""

SQLITE_TRIGGERS = [
    """CREATE TRIGGER lv_items_inserted AFTER INSERT ON items BEGIN
  INSERT INTO item_state_counts (project_id, state, shard, organization_id, n)
  VALUES (NEW.project_id, NEW.state, 0, NEW.organization_id, 1)
  ON CONFLICT (project_id, state, shard) DO UPDATE SET n = n + 1;
END""",
    """CREATE TRIGGER lv_items_deleted AFTER DELETE ON items BEGIN
  INSERT INTO item_state_counts (project_id, state, shard, organization_id, n)
  VALUES (OLD.project_id, OLD.state, 0, OLD.organization_id, -1)
  ON CONFLICT (project_id, state, shard) DO UPDATE SET n = n - 1;
END""",
    """CREATE TRIGGER lv_items_updated AFTER UPDATE OF state ON items WHEN OLD.state <> NEW.state BEGIN
  INSERT INTO item_state_counts (project_id, state, shard, organization_id, n)
  VALUES (OLD.project_id, OLD.state, 0, OLD.organization_id, -1)
  ON CONFLICT (project_id, state, shard) DO UPDATE SET n = n - 1;
  INSERT INTO item_state_counts (project_id, state, shard, organization_id, n)
  VALUES (NEW.project_id, NEW.state, 0, NEW.organization_id, 1)
  ON CONFLICT (project_id, state, shard) DO UPDATE SET n = n + 1;
END""",
]


def upgrade() -> None:
    op.create_table(
        'item_state_counts',
        sa.Column('project_id', sa.String(length=36), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('shard', sa.Integer(), nullable=False),
        sa.Column('organization_id', sa.String(length=36), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'],
                                name=op.f('fk_item_state_counts_organization_id_organizations'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id'],
                                name=op.f('fk_item_state_counts_project_id_projects'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('project_id', 'state', 'shard', name=op.f('pk_item_state_counts')),
    )
    op.execute("INSERT INTO item_state_counts (project_id, state, shard, organization_id, n) "
               "SELECT project_id, state, 0, organization_id, count(*) FROM items "
               "GROUP BY project_id, state, organization_id")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_FUNCTIONS)
    else:
        for trigger in SQLITE_TRIGGERS:
            op.execute(trigger)


def downgrade() -> None:
    for name in ("lv_items_inserted", "lv_items_deleted", "lv_items_updated"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (" ON items" if op.get_bind().dialect.name == "postgresql" else ""))
    if op.get_bind().dialect.name == "postgresql":
        for function in ("lv_count_inserted_items", "lv_count_deleted_items", "lv_count_updated_items"):
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    op.drop_table('item_state_counts')
