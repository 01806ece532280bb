"""Every query of the items domain."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import ColumnElement, String, Table, any_, bindparam, delete, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from labelvault.db.scope import scoped
from labelvault.items.models import Item, ItemDeletion, ItemStateCount

_items = cast(Table, Item.__table__)


_ITEM = scoped(select(Item), Item, bindparam("organization_id")).where(Item.id == bindparam("item_id"))


def item(session: Session, organization_id: str, item_id: str) -> Item | None:
    return session.scalars(_ITEM, {"organization_id": organization_id, "item_id": item_id}).first()

def item_for_update(session: Session, organization_id: str, item_id: str) -> Item | None:
    stmt = scoped(select(Item), Item, organization_id).where(Item.id == item_id).with_for_update()
    return session.scalars(stmt).first()

def items_page(
    session: Session, organization_id: str, project_id: str, *, after: str | None, limit: int,
    state: str | None = None,
) -> Sequence[Item]:
    stmt = scoped(select(Item), Item, organization_id).where(Item.project_id == project_id)
    if state:
        stmt = stmt.where(Item.state == state)
    if after:
        stmt = stmt.where(Item.id > after)
    return session.scalars(stmt.order_by(Item.id).limit(limit)).all()

def _among(session: Session, column: Any, values: list[str]) -> ColumnElement[bool]:
    """`column IN values`; on PostgreSQL as one array parameter, planned once instead of per value."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(ColumnElement[bool], column == any_(bindparam(None, values, type_=ARRAY(String))))
    return cast(ColumnElement[bool], column.in_(values))

def existing_by_external_id(
    session: Session, organization_id: str, project_id: str, external_ids: list[str]
) -> dict[str, tuple[str, str | None]]:
    """external_id -> (item id, id of the import that last saw it), for the ones that exist."""
    if not external_ids:
        return {}
    stmt = scoped(select(Item.external_id, Item.id, Item.import_job_id), Item, organization_id).where(
        Item.project_id == project_id, _among(session, Item.external_id, external_ids)
    )
    return {ext: (item_id, job) for ext, item_id, job in session.execute(stmt).all()}

ITEM_COLUMNS = ("id", "organization_id", "project_id", "external_id", "data", "metadata", "overlap", "priority",
                "state", "annotation_count", "import_job_id", "created_at", "updated_at")


def insert_items(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert new items; rows carry every column of ITEM_COLUMNS."""
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        _copy_items(session, rows)
    else:
        _insert_items_many(session, rows)


def _bound_rows(session: Session, rows: list[dict[str, Any]]) -> list[list[Any]]:
    """Rows as the driver takes them, converted by each column's own bind processor (so stored values are
    exactly what an ORM insert stores); a batch shares its times, so each distinct time converts once."""
    dialect = session.get_bind().dialect
    converters = []
    for name in ITEM_COLUMNS:
        process = _items.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None and name in ("created_at", "updated_at"):
            process = _memoized(process)
        converters.append((name, process))
    return [[row[name] if process is None else process(row[name]) for name, process in converters]
            for row in rows]


def _memoized(process: Any) -> Any:
    last: list[Any] = [object(), None]

    def convert(value: Any) -> Any:
        if value is not last[0]:
            last[0], last[1] = value, process(value)
        return last[1]

    return convert


def _insert_items_many(session: Session, rows: list[dict[str, Any]]) -> None:
    # The driver's executemany with values converted once here: SQLAlchemy's per-row parameter handling
    # costs more than SQLite's insert itself.
    connection = session.connection()
    compiled = insert(_items).compile(dialect=connection.dialect, column_keys=list(ITEM_COLUMNS))
    assert compiled.positional and list(compiled.positiontup or ()) == list(ITEM_COLUMNS)
    connection.exec_driver_sql(str(compiled), [tuple(row) for row in _bound_rows(session, rows)])


def _copy_items(session: Session, rows: list[dict[str, Any]]) -> None:
    # COPY loads a batch in one stream inside the session's transaction, about twice as fast as an
    # executemany of INSERTs; JSON columns go over as their text, which PostgreSQL parses into jsonb.
    columns = ", ".join(f'"{name}"' for name in ITEM_COLUMNS)
    dbapi = session.connection().connection.dbapi_connection
    assert dbapi is not None
    with dbapi.cursor() as cursor, cursor.copy(f"COPY items ({columns}) FROM STDIN") as copy:  # type: ignore[attr-defined]
        for row in _bound_rows(session, rows):
            copy.write_row(row)

def update_items(session: Session, rows: list[dict[str, Any]]) -> None:
    """rows carry `b_id` and the new values of data, metadata, overlap, priority, import_job_id, updated_at."""
    if not rows:
        return
    table = _items

    stmt = (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(
            data=bindparam("data"), metadata=bindparam("metadata"), overlap=bindparam("overlap"),
            priority=bindparam("priority"), import_job_id=bindparam("import_job_id"),
            updated_at=bindparam("updated_at"),
        )
    )
    session.connection().execute(stmt, rows)

def mark_seen_by_import(session: Session, item_ids: list[str], job_id: str) -> None:
    if item_ids:
        session.execute(update(Item).where(_among(session, Item.id, item_ids)).values(import_job_id=job_id))

def delete_item(session: Session, item_id: str) -> None:
    session.execute(delete(Item).where(Item.id == item_id))

def add_deletion(session: Session, deletion: ItemDeletion) -> None:
    session.add(deletion)

def refresh_statistics(session: Session) -> None:
    """Have PostgreSQL re-sample the items table after it grew by many rows. Until autovacuum gets to it, the
    planner would take a large queue for a small one and plan the next-item query as a scan and sort of every
    item of the project instead of one step along the queue index. SQLite plans it well without statistics."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE items"))


def count_items(session: Session, organization_id: str, project_id: str) -> int:
    stmt = scoped(select(func.count()).select_from(Item), Item, organization_id).where(
        Item.project_id == project_id
    )
    return int(session.scalar(stmt) or 0)

def state_counts(session: Session, organization_id: str, project_id: str) -> dict[str, int]:
    """Items per state from the trigger-maintained counters (a handful of rows, whatever the project size)."""
    stmt = scoped(select(ItemStateCount.state, func.sum(ItemStateCount.n)), ItemStateCount, organization_id).where(
        ItemStateCount.project_id == project_id
    ).group_by(ItemStateCount.state)
    return {state: int(n) for state, n in session.execute(stmt).all() if n}




def items_by_external_id(
    session: Session, organization_id: str, project_id: str, external_ids: list[str]
) -> dict[str, tuple[str, dict[str, Any]]]:
    """external_id -> (item id, data), for the ones that exist."""
    if not external_ids:
        return {}
    stmt = scoped(select(Item.external_id, Item.id, Item.data), Item, organization_id).where(
        Item.project_id == project_id, _among(session, Item.external_id, external_ids)
    )
    return {ext: (item_id, data) for ext, item_id, data in session.execute(stmt).all()}
