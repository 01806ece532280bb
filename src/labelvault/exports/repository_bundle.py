"""Bundle queries: every row of a project's tables, in id order, and writing them back into another instance."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from labelvault.accounts.models import Membership, Organization, User
from labelvault.annotations.models import Annotation, AnnotationRevision, Review
from labelvault.assignments.models import Skip
from labelvault.db.scope import scoped
from labelvault.items.models import Item, ItemDeletion
from labelvault.predictions.models import Prediction
from labelvault.projects.models import Project, ProjectSchema

# In the order they are restored (each refers only to rows before it).
PROJECT_MODELS: tuple[Any, ...] = (Project, ProjectSchema, Item, ItemDeletion, Annotation, AnnotationRevision,
                                   Review, Prediction, Skip)
# Columns naming a person, per table: those people travel with the bundle (e-mail and name, never a password).
PERSON_COLUMNS = {"projects": ("created_by_id",), "project_schemas": ("created_by_id",),
                  "item_deletions": ("deleted_by_id",), "annotations": ("author_id",),
                  "annotation_revisions": ("author_id",), "reviews": ("reviewer_id",), "skips": ("user_id",)}


def table_of(model: Any) -> Table:
    table: Table = model.__table__
    return table


def project_rows(session: Session, model: Any, organization_id: str, project_id: str,
                 batch: int = 5000) -> Iterator[list[dict[str, Any]]]:
    """Rows of `model` belonging to the project, as column dicts, in pages by id."""
    key = model.id if model is Project else model.project_id
    names = [str(c.name) for c in table_of(model).columns]
    after = ""
    while True:
        stmt = scoped(select(table_of(model)), model, organization_id).where(key == project_id, model.id > after)
        rows = [dict(zip(names, r, strict=True)) for r in session.execute(stmt.order_by(model.id).limit(batch))]
        if not rows:
            return
        yield rows
        after = rows[-1]["id"]


def organization(session: Session, organization_id: str) -> Organization | None:
    # unscoped: the organization row itself (its name travels with the bundle; a restore looks for it).
    return session.get(Organization, organization_id)


def people(session: Session, organization_id: str, user_ids: list[str]) -> list[dict[str, Any]]:
    """id, email, name of these users, with their role in the organization (None if they have left)."""
    # unscoped: users are not owned by an organization; these are the authors of its project's rows.
    stmt = (select(User.id, User.email, User.name, Membership.role)
            .outerjoin(Membership, (Membership.user_id == User.id) & (Membership.organization_id == organization_id))
            .where(User.id.in_(user_ids)).order_by(User.id))
    return [{"id": i, "email": e, "name": n, "role": None if r is None else str(r.value)}
            for i, e, n, r in session.execute(stmt).all()]


def project_exists(session: Session, project_id: str) -> bool:
    # unscoped: a restore must not reuse a project id that any organization of this instance holds.
    return session.execute(select(Project.id).where(Project.id == project_id)).first() is not None


def users_by_email(session: Session, emails: list[str]) -> dict[str, str]:
    # unscoped: people are matched across the instance by e-mail when a bundle is restored.
    return {e: i for i, e in session.execute(select(User.id, User.email).where(User.email.in_(emails))).all()}


def users_by_id(session: Session, ids: list[str]) -> set[str]:
    # unscoped: as above, by id.
    return set(session.scalars(select(User.id).where(User.id.in_(ids))).all())


def member_ids(session: Session, organization_id: str) -> set[str]:
    stmt = scoped(select(Membership.user_id), Membership, organization_id)
    return set(session.scalars(stmt).all())


def insert_rows(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(table_of(model)), rows)
