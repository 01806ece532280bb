"""item state counters: one shard per database connection (PostgreSQL)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 23:58:00

A counter row stays locked until the transaction that changed it commits. With a random shard per change,
concurrent annotators' transactions met on the same rows and queued behind each other (most of the time
of a submit under load). The shard now follows the server process of the connection (`pg_backend_pid()`),
so concurrent transactions, each on its own connection, change different rows.
"""
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

SHARDS = 64
PREVIOUS_SHARDS = 16

FUNCTIONS = """
CREATE OR REPLACE FUNCTION lv_count_inserted_items() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO item_state_counts (project_id, state, shard, organization_id, n)
  SELECT project_id, state, {shard}, organization_id, count(*)
  FROM new_rows GROUP BY project_id, state, organization_id
  ON CONFLICT (project_id, state, shard) DO UPDATE SET n = item_state_counts.n + excluded.n;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION lv_count_deleted_items() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO item_state_counts (project_id, state, shard, organization_id, n)
  SELECT project_id, state, {shard}, organization_id, -count(*)
  FROM old_rows GROUP BY project_id, state, organization_id
  ON CONFLICT (project_id, state, shard) DO UPDATE SET n = item_state_counts.n + excluded.n;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION lv_count_updated_items() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO item_state_counts (project_id, state, shard, organization_id, n)
  SELECT project_id, state, {shard}, organization_id, sum(delta) FROM (
    SELECT o.project_id, o.state, o.organization_id, -1 AS delta
      FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE n.state <> o.state
    UNION ALL
    SELECT n.project_id, n.state, n.organization_id, 1
      FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE n.state <> o.state
  ) changes GROUP BY project_id, state, organization_id
  ON CONFLICT (project_id, state, shard) DO UPDATE SET n = item_state_counts.n + excluded.n;
  RETURN NULL;
END $$;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FUNCTIONS.format(shard=f"pg_backend_pid() % {SHARDS}"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FUNCTIONS.format(shard=f"floor(random() * {PREVIOUS_SHARDS})::int"))
