"""Every query of the items domain."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    String,
    Table,
    Text,
    any_,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy import cast as sa_cast
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from labelvault.annotations.models import Annotation, Review, ReviewStatus
from labelvault.crypto.content import ITEM_DATA, ProjectCipher, open_json, project_keys, seal_json
from labelvault.db.scope import scoped
from labelvault.items.models import Item, ItemDeletion, ItemState, ItemStateCount, random_rank
from labelvault.kit.clock import utcnow
from labelvault.kit.ids import new_id

_items = cast(Table, Item.__table__)


_ITEM = scoped(select(Item), Item, bindparam("organization_id")).where(Item.id == bindparam("item_id"))


def item(session: Session, organization_id: str, item_id: str) -> Item | None:
    return session.scalars(_ITEM, {"organization_id": organization_id, "item_id": item_id}).first()



def item_for_update(session: Session, organization_id: str, item_id: str) -> Item | None:
    stmt = scoped(select(Item), Item, organization_id).where(Item.id == item_id).with_for_update()
    return session.scalars(stmt).first()

@dataclass
class ItemFilter:
    """What the item browser asks for; every part is optional and they combine with AND."""

    state: str | None = None
    annotator_id: str | None = None  # items this person annotated (submitted or draft)
    reviewer_id: str | None = None  # items this person reviewed
    updated_after: dt.datetime | None = None
    updated_before: dt.datetime | None = None
    metadata: dict[str, str] = field(default_factory=dict)  # metadata key -> value, compared as text
    # In the external id or the metadata, ignoring case. Not in the data: it is stored encrypted.
    text: str | None = None
    sort: str = "id"  # "id" (import order), "-id" (newest first) or "priority" (highest first, then newest first)
    vendor_id: str | None = None  # only items routed to this vendor
    team_ids: list[str] | None = None  # only the general pool's items and these teams'


SORTS = ("id", "-id", "priority")


def items_page(
    session: Session, organization_id: str, project_id: str, *, after: Sequence[Any] | None, limit: int,
    filters: ItemFilter | None = None,
) -> Sequence[Item]:
    """A page of the project's items in the filter's order, after the position `after` (keyset paging: the
    sort values of the last item of the previous page, so any page costs the same)."""
    filters = filters or ItemFilter()
    stmt = scoped(select(Item), Item, organization_id).where(Item.project_id == project_id)
    if filters.state:
        stmt = stmt.where(Item.state == filters.state)
    if filters.vendor_id is not None:
        stmt = stmt.where((Item.pool == filters.vendor_id) | Item.pool.startswith(filters.vendor_id + "/"))
    if filters.team_ids is not None:
        stmt = stmt.where(or_(Item.pool == "", Item.pool.startswith("/"), Item.pool.in_(filters.team_ids),
                              *[Item.pool.startswith(team + "/") for team in filters.team_ids]))
    if filters.annotator_id:
        stmt = stmt.where(Item.id.in_(select(Annotation.item_id).where(  # unscoped: inside the scoped query
            Annotation.project_id == project_id, Annotation.author_id == filters.annotator_id)))
    if filters.reviewer_id:
        stmt = stmt.where(Item.id.in_(select(Review.item_id).where(  # unscoped: inside the scoped query
            Review.project_id == project_id, Review.reviewer_id == filters.reviewer_id)))
    if filters.updated_after is not None:
        stmt = stmt.where(Item.updated_at >= filters.updated_after)
    if filters.updated_before is not None:
        stmt = stmt.where(Item.updated_at < filters.updated_before)
    for key, value in filters.metadata.items():
        stmt = stmt.where(Item.meta[key].as_string() == value)
    if filters.text:
        pattern = "%" + filters.text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(func.lower(Item.external_id).like(pattern, escape="\\")
                          | func.lower(cast_text(Item.meta)).like(pattern, escape="\\"))
    if filters.sort == "priority":
        if after:
            priority, item_id = int(after[0]), str(after[1])
            stmt = stmt.where((Item.priority < priority) | ((Item.priority == priority) & (Item.id < item_id)))
        stmt = stmt.order_by(Item.priority.desc(), Item.id.desc())
    elif filters.sort == "-id":
        if after:
            stmt = stmt.where(Item.id < str(after[0]))
        stmt = stmt.order_by(Item.id.desc())
    else:
        if after:
            stmt = stmt.where(Item.id > str(after[0]))
        stmt = stmt.order_by(Item.id)
    return session.scalars(stmt.limit(limit)).all()


def page_position(item: Item, sort: str) -> tuple[Any, ...]:
    """The keyset position after `item` in the given order (what the next page's cursor holds)."""
    return (item.priority, item.id) if sort == "priority" else (item.id,)


def cast_text(column: Any) -> ColumnElement[str]:
    """A JSON column as its text (to search in)."""
    return cast(ColumnElement[str], sa_cast(column, Text))


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

ITEM_COLUMNS = ("id", "organization_id", "project_id", "external_id", "sealed_data", "metadata", "overlap", "priority",
                "state", "annotation_count", "pool", "import_job_id", "queue_rank", "created_at", "updated_at")



def new_item_row(organization_id: str, project_id: str, external_id: str, data: dict[str, Any], now: dt.datetime, *,
                 meta: dict[str, Any] | None = None, overlap: int | None = None, priority: int = 0,
                 import_job_id: str | None = None, pool: str = "") -> dict[str, Any]:
    """A new item's row as `insert_items` takes it (its id drawn now; `data` sealed there)."""
    return {"id": new_id(), "organization_id": organization_id, "project_id": project_id,
            "external_id": external_id, "data": data, "metadata": meta if meta is not None else {},
            "overlap": overlap, "priority": priority, "state": ItemState.new, "annotation_count": 0,
            "import_job_id": import_job_id, "created_at": now, "updated_at": now, "pool": pool}

def _sealer(session: Session) -> Any:
    """(organization, project) -> that project's keys, looked up once per batch."""
    found: dict[tuple[str, str], ProjectCipher] = {}

    def keys(organization_id: str, project_id: str) -> ProjectCipher:
        if (organization_id, project_id) not in found:
            found[(organization_id, project_id)] = project_keys(session, organization_id, project_id)
        return found[(organization_id, project_id)]

    return keys


def insert_items(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert new items; rows carry every column of ITEM_COLUMNS but `queue_rank`, drawn here when absent, and
    `pool` (the organization's own people when absent), and `data` instead of `sealed_data` (sealed here)."""
    if not rows:
        return
    keys = _sealer(session)
    for row in rows:
        if "queue_rank" not in row:
            row["queue_rank"] = random_rank()
        if "pool" not in row:
            row["pool"] = ""
        row["sealed_data"] = seal_json(keys(row["organization_id"], row["project_id"]), row["id"], ITEM_DATA,
                                       row["data"])
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

def update_items(session: Session, organization_id: str, project_id: str, rows: list[dict[str, Any]]) -> None:
    """rows carry `b_id` and the new values of data, metadata, overlap, priority, import_job_id, updated_at."""
    if not rows:
        return
    keys = project_keys(session, organization_id, project_id)
    for row in rows:
        row["sealed_data"] = seal_json(keys, row["b_id"], ITEM_DATA, row.pop("data"))
    table = _items

    stmt = (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(
            sealed_data=bindparam("sealed_data"), metadata=bindparam("metadata"), overlap=bindparam("overlap"),
            priority=bindparam("priority"), import_job_id=bindparam("import_job_id"),
            updated_at=bindparam("updated_at"),
        )
    )
    session.connection().execute(stmt, rows)

def mark_seen_by_import(session: Session, item_ids: list[str], job_id: str) -> None:
    if item_ids:
        session.execute(update(Item).where(_among(session, Item.id, item_ids)).values(import_job_id=job_id))

def items_of_project(session: Session, organization_id: str, project_id: str, item_ids: list[str]) -> Sequence[Item]:
    stmt = scoped(select(Item), Item, organization_id).where(Item.project_id == project_id,
                                                             _among(session, Item.id, item_ids))
    return session.scalars(stmt.order_by(Item.id)).all()


def set_overlap(session: Session, item_ids: list[str], overlap: int) -> None:
    """Give the items another overlap and derive their state: back in the queue while annotations and leases
    fall short of it, completed when an open item already has enough annotations, unchanged otherwise."""
    taken = _items.c.annotation_count + _items.c.leased
    session.execute(
        update(_items).where(_items.c.id.in_(item_ids)).values(
            overlap=overlap,
            state=case(
                (taken < overlap, case((taken > 0, ItemState.in_progress), else_=ItemState.new)),
                (_items.c.state.in_((ItemState.new, ItemState.in_progress)) & (_items.c.annotation_count >= overlap),
                 ItemState.completed),
                else_=_items.c.state,
            ),
            updated_at=utcnow(),
        )
    )


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




def reopen_for_more(session: Session, organization_id: str, project_id: str, item_ids: list[str],
                    max_overlap: int) -> int:
    """Completed items asked for one more annotation (overlap = annotations + 1, back in the queue)."""
    stmt = update(_items).where(
        _items.c.organization_id == organization_id, _items.c.project_id == project_id,
        _items.c.id.in_(item_ids), _items.c.state == "completed", _items.c.annotation_count < max_overlap,
    ).values(overlap=_items.c.annotation_count + 1, state="in_progress", updated_at=utcnow())
    return int(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


def close_early(session: Session, organization_id: str, project_id: str, item_ids: list[str],
                min_annotations: int) -> int:
    """Open items with no live lease and nothing awaiting review closed at their current annotations."""
    waiting = select(Annotation.id).where(  # unscoped: correlated to items already scoped to the organization
        Annotation.item_id == _items.c.id,
        Annotation.review_status.in_([*ReviewStatus.waiting, ReviewStatus.rejected])).exists()
    stmt = update(_items).where(
        _items.c.organization_id == organization_id, _items.c.project_id == project_id,
        _items.c.id.in_(item_ids), _items.c.state.in_(["new", "in_progress"]), _items.c.leased == 0,
        _items.c.annotation_count >= min_annotations, ~waiting,
    ).values(overlap=_items.c.annotation_count, state="completed", updated_at=utcnow())
    return int(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


def items_by_external_id(
    session: Session, organization_id: str, project_id: str, external_ids: list[str]
) -> dict[str, tuple[str, dict[str, Any]]]:
    """external_id -> (item id, data), for the ones that exist."""
    if not external_ids:
        return {}
    stmt = scoped(select(Item.external_id, Item.id, Item.sealed_data), Item, organization_id).where(
        Item.project_id == project_id, _among(session, Item.external_id, external_ids)
    )
    keys = project_keys(session, organization_id, project_id)
    return {ext: (item_id, open_json(keys, item_id, ITEM_DATA, sealed))
            for ext, item_id, sealed in session.execute(stmt).all()}
