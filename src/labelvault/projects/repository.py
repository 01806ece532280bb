"""Every query of the projects domain."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from labelvault.db.scope import scoped
from labelvault.projects.models import Project, ProjectSchema

_PROJECT = scoped(select(Project), Project, bindparam("organization_id")).where(Project.id == bindparam("project_id"))


def project(session: Session, organization_id: str, project_id: str) -> Project | None:
    return session.scalars(_PROJECT, {"organization_id": organization_id, "project_id": project_id}).first()


def projects_page(
    session: Session, organization_id: str, after: str | None, limit: int, only: set[str] | None = None
) -> Sequence[Project]:
    stmt = scoped(select(Project), Project, organization_id).where(Project.archived_at.is_(None))
    if only is not None:
        stmt = stmt.where(Project.id.in_(sorted(only)))
    if after:
        stmt = stmt.where(Project.id > after)
    return session.scalars(stmt.order_by(Project.id).limit(limit)).all()


_SCHEMA_VERSION = scoped(select(ProjectSchema), ProjectSchema, bindparam("organization_id")).where(
    ProjectSchema.project_id == bindparam("project_id"), ProjectSchema.version == bindparam("version")
)


def schema_version(session: Session, organization_id: str, project_id: str, version: int) -> ProjectSchema | None:
    params = {"organization_id": organization_id, "project_id": project_id, "version": version}
    return session.scalars(_SCHEMA_VERSION, params).first()


def schema_versions(session: Session, organization_id: str, project_id: str) -> Sequence[ProjectSchema]:
    stmt = scoped(select(ProjectSchema), ProjectSchema, organization_id).where(
        ProjectSchema.project_id == project_id
    )
    return session.scalars(stmt.order_by(ProjectSchema.version)).all()
