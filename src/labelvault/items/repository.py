"""Every query of the items domain."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from labelvault.db.scope import scoped
from labelvault.items.models import Item, ItemDeletion


def item(session: Session, organization_id: str, item_id: str) -> Item | None:
    return session.scalars(scoped(select(Item), Item, organization_id).where(Item.id == item_id)).first()

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

def existing_by_external_id(
    session: Session, organization_id: str, project_id: str, external_ids: list[str]
) -> dict[str, tuple[str, str | None]]:
    """external_id -> (item id, id of the import that last saw it), for the ones that exist."""
    if not external_ids:
        return {}
    stmt = scoped(select(Item.external_id, Item.id, Item.import_job_id), Item, organization_id).where(
        Item.project_id == project_id, Item.external_id.in_(external_ids)
    )
    return {ext: (item_id, job) for ext, item_id, job in session.execute(stmt).all()}

def insert_items(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(Item.__table__), rows)

def update_items(session: Session, rows: list[dict[str, Any]]) -> None:
    """rows carry `b_id` and the new values of data, metadata, overlap, priority, import_job_id, updated_at."""
    if not rows:
        return
    table = Item.__table__

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
        session.execute(update(Item).where(Item.id.in_(item_ids)).values(import_job_id=job_id))

def delete_item(session: Session, item_id: str) -> None:
    session.execute(delete(Item).where(Item.id == item_id))

def add_deletion(session: Session, deletion: ItemDeletion) -> None:
    session.add(deletion)

def count_items(session: Session, organization_id: str, project_id: str) -> int:
    stmt = scoped(select(func.count()).select_from(Item), Item, organization_id).where(
        Item.project_id == project_id
    )
    return int(session.scalar(stmt) or 0)

def state_counts(session: Session, organization_id: str, project_id: str) -> dict[str, int]:
    stmt = scoped(select(Item.state, func.count()), Item, organization_id).where(
        Item.project_id == project_id
    ).group_by(Item.state)
    return {state: int(n) for state, n in session.execute(stmt).all()}

def set_annotation_progress(session: Session, item_id: str, count: int, state: str) -> None:
    session.execute(update(Item).where(Item.id == item_id).values(annotation_count=count, state=state))
