"""Every query of the projects domain."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from labelvault.db.scope import scoped
from labelvault.projects.models import Project, ProjectSchema


def project(session: Session, organization_id: str, project_id: str) -> Project | None:
    stmt = scoped(select(Project), Project, organization_id).where(Project.id == project_id)
    return session.scalars(stmt).first()


def projects_page(
    session: Session, organization_id: str, after: str | None, limit: int
) -> Sequence[Project]:
    stmt = scoped(select(Project), Project, organization_id).where(Project.archived_at.is_(None))
    if after:
        stmt = stmt.where(Project.id > after)
    return session.scalars(stmt.order_by(Project.id).limit(limit)).all()


def schema_version(session: Session, organization_id: str, project_id: str, version: int) -> ProjectSchema | None:
    stmt = scoped(select(ProjectSchema), ProjectSchema, organization_id).where(
        ProjectSchema.project_id == project_id, ProjectSchema.version == version
    )
    return session.scalars(stmt).first()


def schema_versions(session: Session, organization_id: str, project_id: str) -> Sequence[ProjectSchema]:
    stmt = scoped(select(ProjectSchema), ProjectSchema, organization_id).where(
        ProjectSchema.project_id == project_id
    )
    return session.scalars(stmt.order_by(ProjectSchema.version)).all()
