"""Export queries: items, annotations and revisions of a project as ordered streams of plain rows.

JSON columns come back as their stored text and times as text, all as UTF-8 bytes, so nothing is parsed,
decoded or re-serialized on the way to the file. The three streams are read in one snapshot, each ordered by
item id, as the driver's own rows: a million annotations make a million rows, and SQLAlchemy's row objects
(or decoding every column to str) would cost more than writing the export.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Generator, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import ColumnElement, LargeBinary, Select, Text, cast, func, select, text
from sqlalchemy.orm import Session

from labelvault.accounts.models import Membership, User
from labelvault.annotations.models import Annotation, AnnotationRevision
from labelvault.crypto.content import ITEM_DATA, opened_rows, project_keys
from labelvault.db.scope import scoped
from labelvault.items.models import Item

Rows = Generator[Sequence[tuple[Any, ...]], None, None]


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def begin_snapshot(session: Session) -> None:
    """Start the export's read transaction: one snapshot for every stream (PostgreSQL's default isolation
    gives each statement its own; SQLite's read transaction is a snapshot already). Call it first."""
    if is_postgresql(session):
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        session.execute(text("SET TRANSACTION READ ONLY"))
        session.execute(text("SET LOCAL DateStyle = 'ISO'"))


def _bytes(column: Any, pg: bool) -> ColumnElement[Any]:
    # SQLite hands back a BLOB as bytes; on PostgreSQL `_stream` makes all text arrive as bytes.
    return column if pg else cast(column, LargeBinary)


def _json(column: Any, pg: bool) -> ColumnElement[Any]:
    # PostgreSQL renders jsonb as text; SQLite already stores the text.
    return cast(column, Text) if pg else cast(column, LargeBinary)


def _time(column: Any, pg: bool) -> ColumnElement[Any]:
    """PostgreSQL: the UTC wall time as text ("2024-05-01 12:00:00.25", trailing zeros of the fraction
    dropped; ISO by `begin_snapshot`); SQLite: the stored text ("2024-05-01 12:00:00.250000")."""
    return cast(func.timezone("UTC", column), Text) if pg else cast(column, LargeBinary)


# -- streams ---------------------------------------------------------------------------------------------
def _stream(session: Session, stmt: Select[*tuple[Any, ...]], batch: int, *, index_order: bool = False) -> Rows:
    """Driver rows in batches, text as UTF-8 bytes: SQLAlchemy compiles and binds, the driver's cursor
    streams (server-side on PostgreSQL, so memory stays at one batch whatever the project's size).

    `index_order`: the statement's order is that of an index leading with the project (at most an
    incremental sort of each item's few rows after it), and PostgreSQL plans it so: rows flow from the first
    one. A planner with stale statistics would otherwise pick a scan and a sort of the whole project, which
    spills to disk and holds back every row until it ends (3 s before a million annotations' first row, whose
    reading in index order takes 1.4 s in all)."""
    connection = session.connection()
    dialect = connection.dialect
    compiled = stmt.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    for name, bind in compiled.binds.items():
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None and name in params:
            params[name] = process(params[name])
    driver = connection.connection.dbapi_connection
    assert driver is not None
    if dialect.name == "postgresql":
        # Text as the stored bytes until the transaction ends: SQL_ASCII means "no conversion", and psycopg
        # then hands back bytes instead of decoding every value (the session runs no ORM query after this).
        driver.cursor().execute("SET LOCAL client_encoding = 'SQL_ASCII'")
    # A named cursor is a server-side one in psycopg; SQLite's cursor steps through the rows anyway.
    named = {"name": f"export_{secrets.token_hex(6)}"} if dialect.name == "postgresql" else {}
    cursor = driver.cursor(**named)
    plan_in_index_order = index_order and dialect.name == "postgresql"
    try:
        if plan_in_index_order:
            driver.cursor().execute("SET LOCAL enable_sort = off")
        if compiled.positional:
            cursor.execute(str(compiled), [params[name] for name in compiled.positiontup or ()])
        else:
            cursor.execute(str(compiled), params)
        if plan_in_index_order:  # planned when declared: the other streams plan as usual
            driver.cursor().execute("SET LOCAL enable_sort = DEFAULT")
        while rows := cursor.fetchmany(batch):
            yield rows
    finally:
        cursor.close()


def _sorted_by_item_and_id(batches: Rows) -> Rows:
    """SQLite: rows in item order (the index's order) sorted here by item and id, batch by batch; the rows of
    a batch's last item wait for the next batch. Python compares bytes as SQLite's BINARY collation does, and
    sorting a few rows per item here costs less than SQLite's sorter pass for every item."""
    carry: list[Any] = []
    try:
        for batch in batches:
            rows = carry + list(batch)
            last = rows[-1][0]
            cut = len(rows)
            while cut and rows[cut - 1][0] == last:
                cut -= 1
            carry = rows[cut:]
            if cut:
                ready = rows[:cut]
                ready.sort(key=_item_and_id)
                yield ready
        if carry:
            carry.sort(key=_item_and_id)
            yield carry
    finally:
        batches.close()


_item_and_id = itemgetter(0, 1)
# What the export's ciphertexts are bound to after their item id, as bytes: the fields `crypto/content.py`
# names (ITEM_DATA, answers_field, revision_field); the export tests open what the models sealed.
_ITEM_DATA = b"\x00" + ITEM_DATA.encode()


def item_rows(
    session: Session, organization_id: str, project_id: str, *, states: list[str] | None, batch: int
) -> Rows:
    """(id, external_id, data, metadata, overlap, priority, state, created_at), ordered by id; data opened."""
    pg = is_postgresql(session)
    stmt = scoped(
        select(_bytes(Item.id, pg), _bytes(Item.external_id, pg), Item.sealed_data, _json(Item.meta, pg),
               Item.overlap, Item.priority, _bytes(Item.state, pg), _time(Item.created_at, pg)),
        Item, organization_id,
    ).where(Item.project_id == project_id)
    if states:
        stmt = stmt.where(Item.state.in_(states))
    keys = project_keys(session, organization_id, project_id, preload=True)
    # In the order of the index on (project_id, id).
    return opened_rows(keys, _stream(session, stmt.order_by(Item.id), batch, index_order=not states), 2,
                       lambda row: row[0] + _ITEM_DATA)


def annotation_rows(
    session: Session, organization_id: str, project_id: str, *, statuses: list[str], states: list[str] | None,
    since: dt.datetime | None, until: dt.datetime | None, batch: int,
) -> Rows:
    """(item_id, id, author_id, schema_version, status, answers, time_spent_ms, created_at, updated_at,
    submitted_at), ordered by item and id; only annotations of items that `item_rows` yields."""
    pg = is_postgresql(session)
    stmt = scoped(
        select(_bytes(Annotation.item_id, pg), _bytes(Annotation.id, pg), _bytes(Annotation.author_id, pg),
               Annotation.schema_version, _bytes(Annotation.status, pg), Annotation.sealed_answers,
               Annotation.time_spent_ms,
               _time(Annotation.created_at, pg), _time(Annotation.updated_at, pg),
               _time(Annotation.submitted_at, pg)),
        Annotation, organization_id,
    ).where(Annotation.project_id == project_id, Annotation.status.in_(statuses))
    if states:
        stmt = stmt.join(Item, Item.id == Annotation.item_id).where(Item.state.in_(states))
    if since is not None:
        stmt = stmt.where(Annotation.updated_at >= since)
    if until is not None:
        stmt = stmt.where(Annotation.updated_at < until)
    keys = project_keys(session, organization_id, project_id, preload=True)
    if pg:
        # In the order of the index on (project_id, item_id), each item's rows sorted by id.
        rows = _stream(session, stmt.order_by(Annotation.item_id, Annotation.id), batch, index_order=not states)
    else:
        rows = _sorted_by_item_and_id(_stream(session, stmt.order_by(Annotation.item_id), batch))
    return opened_rows(keys, rows, 5, lambda row: row[0] + b"\x00annotation:" + row[1] + b":answers")


def revision_rows(
    session: Session, organization_id: str, project_id: str, *, states: list[str] | None, batch: int
) -> Rows:
    """(item_id, annotation_id, number, schema_version, status, answers, time_spent_ms, made_at,
    superseded_at), ordered by item, annotation and number; only revisions of items `item_rows` yields."""
    pg = is_postgresql(session)
    rev = AnnotationRevision
    stmt = scoped(
        select(_bytes(rev.item_id, pg), _bytes(rev.annotation_id, pg), rev.number, rev.schema_version,
               _bytes(rev.status, pg), rev.sealed_answers, rev.time_spent_ms, _time(rev.made_at, pg),
               _time(rev.superseded_at, pg)),
        rev, organization_id,
    ).where(rev.project_id == project_id)
    if states:
        stmt = stmt.join(Item, Item.id == rev.item_id).where(Item.state.in_(states))
    keys = project_keys(session, organization_id, project_id, preload=True)
    return opened_rows(keys, _stream(session, stmt.order_by(rev.item_id, rev.annotation_id, rev.number), batch), 5,
                       lambda row: b"%s\x00revision:%s:%d:answers" % (row[0], row[1], row[2]))


def member_emails(session: Session, organization_id: str) -> dict[str, str]:
    stmt = scoped(select(User.id, User.email), Membership, organization_id).join(
        Membership, Membership.user_id == User.id
    )
    return {user_id: email for user_id, email in session.execute(stmt).all()}


def author_email(session: Session, user_id: str) -> str | None:
    # unscoped: authors of this organization's annotations who have since left it keep their e-mail.
    return session.execute(select(User.email).where(User.id == user_id)).scalar()
