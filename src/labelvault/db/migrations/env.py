"""Alembic environment: the URL comes from the caller (labelvault.db.migrate), never from a file."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection

from labelvault.db.engine import build_engine
from labelvault.db.models import metadata

config = context.config

# Indexes with expressions (e.g. `priority DESC`) cannot be compared by autogenerate on every database;
# they are created by hand in their migration and left out of `alembic check`.
EXPRESSION_INDEXES = {"ix_items_queue", "ix_items_queue_random"}


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    return not (type_ == "index" and name in EXPRESSION_INDEXES)


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run(connection)
        return
    engine = build_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        run(conn)
    engine.dispose()


main()
