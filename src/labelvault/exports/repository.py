"""Export queries: items, annotations and revisions of a project as ordered streams of rows.

JSON columns come back as their raw text and times as text, so nothing is parsed and re-serialized.
The streams are read side by side in one snapshot, each ordered by item id, and merged by the exporter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, String, Text, cast, func, select, text, type_coerce
from sqlalchemy.orm import Session

from labelvault.accounts.models import Membership, User
from labelvault.annotations.models import Annotation, AnnotationRevision
from labelvault.db.scope import scoped
from labelvault.items.models import Item

Rows = Iterator[Sequence[Row[Any]]]


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def begin_snapshot(session: Session) -> None:
    """Start the export's read transaction: one snapshot for every stream (PostgreSQL's default isolation
    gives each statement its own), and ISO time text. SQLite's read transaction is a snapshot already."""
    if _is_postgresql(session):
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        session.execute(text("SET LOCAL DateStyle = 'ISO'"))


def _raw_json(column: Any, postgresql: bool) -> ColumnElement[str]:
    # PostgreSQL renders jsonb as text server-side; SQLite already stores the text.
    return cast(column, Text) if postgresql else type_coerce(column, Text)


def _raw_time(column: Any, postgresql: bool) -> ColumnElement[str]:
    # PostgreSQL: the UTC wall time as text, e.g. "2024-05-01 12:00:00.25" (the exporter pads the fraction);
    # SQLite: the stored text.
    return cast(func.timezone("UTC", column), Text) if postgresql else type_coerce(column, String)


def _stream(session: Session, stmt: Select[Any], batch: int) -> Rows:
    # A server-side cursor on PostgreSQL, so memory stays at one batch whatever the project's size.
    result = session.connection().execute(stmt.execution_options(yield_per=batch))
    yield from result.partitions()


def item_rows(
    session: Session, organization_id: str, project_id: str, *, states: list[str] | None, batch: int
) -> Rows:
    """(id, external_id, data, metadata, overlap, priority, state, created_at), ordered by id."""
    pg = _is_postgresql(session)
    stmt = scoped(
        select(Item.id, Item.external_id, _raw_json(Item.data, pg), _raw_json(Item.meta, pg), Item.overlap,
               Item.priority, Item.state, _raw_time(Item.created_at, pg)),
        Item, organization_id,
    ).where(Item.project_id == project_id)
    if states:
        stmt = stmt.where(Item.state.in_(states))
    return _stream(session, stmt.order_by(Item.id), batch)


def annotation_rows(
    session: Session, organization_id: str, project_id: str, *, statuses: list[str], states: list[str] | None,
    since: dt.datetime | None, until: dt.datetime | None, batch: int,
) -> Rows:
    """(item_id, id, author_id, schema_version, status, answers, time_spent_ms, created_at, updated_at,
    submitted_at), ordered by item and id; only annotations of items that `item_rows` yields."""
    pg = _is_postgresql(session)
    stmt = scoped(
        select(Annotation.item_id, Annotation.id, Annotation.author_id, Annotation.schema_version,
               Annotation.status, _raw_json(Annotation.answers, pg), Annotation.time_spent_ms,
               _raw_time(Annotation.created_at, pg), _raw_time(Annotation.updated_at, pg),
               _raw_time(Annotation.submitted_at, pg)),
        Annotation, organization_id,
    ).where(Annotation.project_id == project_id, Annotation.status.in_(statuses))
    if states:
        stmt = stmt.join(Item, Item.id == Annotation.item_id).where(Item.state.in_(states))
    if since is not None:
        stmt = stmt.where(Annotation.updated_at >= since)
    if until is not None:
        stmt = stmt.where(Annotation.updated_at < until)
    return _stream(session, stmt.order_by(Annotation.item_id, Annotation.id), batch)


def revision_rows(
    session: Session, organization_id: str, project_id: str, *, states: list[str] | None, batch: int
) -> Rows:
    """(item_id, annotation_id, number, schema_version, status, answers, time_spent_ms, made_at,
    superseded_at), ordered by item, annotation and number; only revisions of items `item_rows` yields."""
    pg = _is_postgresql(session)
    rev = AnnotationRevision
    stmt = scoped(
        select(rev.item_id, rev.annotation_id, rev.number, rev.schema_version, rev.status,
               _raw_json(rev.answers, pg), rev.time_spent_ms, _raw_time(rev.made_at, pg),
               _raw_time(rev.superseded_at, pg)),
        rev, organization_id,
    ).where(rev.project_id == project_id)
    if states:
        stmt = stmt.join(Item, Item.id == rev.item_id).where(Item.state.in_(states))
    return _stream(session, stmt.order_by(rev.item_id, rev.annotation_id, rev.number), batch)


def member_emails(session: Session, organization_id: str) -> dict[str, str]:
    stmt = scoped(select(User.id, User.email), Membership, organization_id).join(
        Membership, Membership.user_id == User.id
    )
    return {user_id: email for user_id, email in session.execute(stmt).all()}


def author_email(session: Session, user_id: str) -> str | None:
    # unscoped: authors of this organization's annotations who have since left it keep their e-mail.
    return session.execute(select(User.email).where(User.id == user_id)).scalar()
