"""Export queries: keyset pages of items with their annotations, JSON returned as raw text (no re-parse)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, String, Text, cast, select, type_coerce
from sqlalchemy.orm import Session

from labelvault.accounts.models import Membership, User
from labelvault.annotations.models import Annotation, AnnotationRevision
from labelvault.db.scope import scoped
from labelvault.items.models import Item


def _raw_json(column: Any, dialect: str) -> ColumnElement[str]:
    # PostgreSQL renders jsonb as text server-side; SQLite already stores the text.
    return cast(column, Text) if dialect == "postgresql" else type_coerce(column, Text)


def _raw_time(column: Any) -> ColumnElement[Any]:
    return type_coerce(column, String)


def item_page(
    session: Session, organization_id: str, project_id: str, *, after: str | None, limit: int,
    states: list[str] | None,
) -> Sequence[Row[Any]]:
    d = session.get_bind().dialect.name
    stmt = scoped(
        select(Item.id, Item.external_id, _raw_json(Item.data, d), _raw_json(Item.meta, d), Item.overlap,
               Item.priority, Item.state, _raw_time(Item.created_at)),
        Item, organization_id,
    ).where(Item.project_id == project_id)
    if after is not None:
        stmt = stmt.where(Item.id > after)
    if states:
        stmt = stmt.where(Item.state.in_(states))
    return session.execute(stmt.order_by(Item.id).limit(limit)).all()


def annotations_between(
    session: Session, organization_id: str, project_id: str, first: str, last: str, *,
    statuses: list[str], since: dt.datetime | None, until: dt.datetime | None,
) -> Sequence[Row[Any]]:
    """Annotations of the items with ids in [first, last], ordered by item: one range scan per page."""
    d = session.get_bind().dialect.name
    stmt = scoped(
        select(Annotation.item_id, Annotation.id, Annotation.author_id, Annotation.schema_version,
               Annotation.status, _raw_json(Annotation.answers, d), Annotation.time_spent_ms,
               Annotation.revision_count, _raw_time(Annotation.created_at), _raw_time(Annotation.updated_at),
               _raw_time(Annotation.submitted_at)),
        Annotation, organization_id,
    ).where(Annotation.project_id == project_id, Annotation.item_id >= first, Annotation.item_id <= last,
            Annotation.status.in_(statuses))
    if since is not None:
        stmt = stmt.where(Annotation.updated_at >= since)
    if until is not None:
        stmt = stmt.where(Annotation.updated_at < until)
    return session.execute(stmt.order_by(Annotation.item_id, Annotation.id)).all()


def revisions_between(
    session: Session, organization_id: str, project_id: str, first: str, last: str
) -> Sequence[Row[Any]]:
    d = session.get_bind().dialect.name
    stmt = scoped(
        select(AnnotationRevision.annotation_id, AnnotationRevision.number, AnnotationRevision.schema_version,
               AnnotationRevision.status, _raw_json(AnnotationRevision.answers, d),
               AnnotationRevision.time_spent_ms, _raw_time(AnnotationRevision.made_at),
               _raw_time(AnnotationRevision.superseded_at)),
        AnnotationRevision, organization_id,
    ).where(AnnotationRevision.project_id == project_id, AnnotationRevision.item_id >= first,
            AnnotationRevision.item_id <= last)
    return session.execute(stmt.order_by(AnnotationRevision.annotation_id, AnnotationRevision.number)).all()


def member_emails(session: Session, organization_id: str) -> dict[str, str]:
    stmt = scoped(select(User.id, User.email), Membership, organization_id).join(
        Membership, Membership.user_id == User.id
    )
    return {user_id: email for user_id, email in session.execute(stmt).all()}


def author_emails(session: Session, user_ids: list[str]) -> dict[str, str]:
    # unscoped: authors of this organization's annotations who have since left it keep their e-mail.
    if not user_ids:
        return {}
    return {uid: email for uid, email in session.execute(select(User.id, User.email).where(User.id.in_(user_ids)))}
