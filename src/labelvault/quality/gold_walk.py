"""Each person's place in the walk along a project's gold items, moved by one statement on either database.

Used by the gold claim's neighbours in two domains: the release of a lease (assignments) and the submission
of an annotation (quality, on behalf of annotations).
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import String, Table, bindparam, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from labelvault.db.direct import Direct
from labelvault.quality.models import GoldAnswer, GoldCursor


def cursor_upsert(dialect: str) -> Any:
    """The statement that moves a person's gold cursor past the item (when it is a gold item)."""
    # unscoped: the gold answer is looked up by organization and item, given by the caller.
    chosen = select(GoldAnswer.project_id, bindparam("user_id", type_=String(36)), GoldAnswer.organization_id,
                    GoldAnswer.id).where(GoldAnswer.organization_id == bindparam("organization_id"),
                                         GoldAnswer.item_id == bindparam("item_id"))
    columns = ["project_id", "user_id", "organization_id", "after_id"]
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    table = cast(Table, GoldCursor.__table__)  # a table INSERT: the ORM's bulk INSERT takes no SELECT
    statement = insert(table).from_select(columns, chosen)
    return statement.on_conflict_do_update(index_elements=["project_id", "user_id"],
                                           set_={"after_id": statement.excluded.after_id},
                                           where=statement.excluded.after_id > table.c.after_id)


_MOVE = {"postgresql": Direct(cursor_upsert("postgresql")), "sqlite": Direct(cursor_upsert("sqlite"))}


def move_gold_cursor(session: Session, organization_id: str, item_id: str, user_id: str) -> None:
    """The person met the item (answered it or gave it back): past it in their gold walk if it is a gold item,
    never backwards. Nothing happens for a real item, by the same statement, so the work does not tell them
    apart."""
    _MOVE[session.get_bind().dialect.name].run(
        session, {"organization_id": organization_id, "item_id": item_id, "user_id": user_id})
