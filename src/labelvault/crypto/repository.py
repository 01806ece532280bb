"""Every query of wrapped data keys."""

from __future__ import annotations

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from labelvault.crypto.models import ProjectDataKey
from labelvault.db.scope import scoped
from labelvault.projects.models import Project


def project_keys(session: Session, organization_id: str, project_id: str) -> list[ProjectDataKey]:
    statement = scoped(select(ProjectDataKey), ProjectDataKey, organization_id)
    return list(session.scalars(statement.where(ProjectDataKey.project_id == project_id)
                                .order_by(ProjectDataKey.version)))


def project_key(session: Session, organization_id: str, project_id: str, version: int) -> ProjectDataKey | None:
    statement = scoped(select(ProjectDataKey), ProjectDataKey, organization_id)
    return session.scalars(statement.where(ProjectDataKey.project_id == project_id,
                                           ProjectDataKey.version == version)).first()


def keys_not_under(session: Session, kek_id: str, limit: int) -> list[ProjectDataKey]:
    # unscoped: re-wrapping after a KEK rotation covers every organization's keys
    return list(session.scalars(select(ProjectDataKey).where(ProjectDataKey.kek_id != kek_id)
                                .order_by(ProjectDataKey.id).limit(limit).with_for_update()))


def kek_ids_in_use(session: Session) -> set[str]:
    # unscoped: which KEKs still wrap any key, before one is removed
    return set(session.scalars(select(ProjectDataKey.kek_id).distinct()))


def add_key(session: Session, key: ProjectDataKey) -> None:
    session.add(key)


def delete_project_keys(session: Session, organization_id: str, project_id: str) -> int:
    if session.get_bind().dialect.name == "sqlite":
        # Overwrite the freed pages with zeros, so the wrapped key does not linger in the file.
        session.execute(text("PRAGMA secure_delete = ON"))
    result = session.execute(delete(ProjectDataKey).where(ProjectDataKey.organization_id == organization_id,
                                                          ProjectDataKey.project_id == project_id))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def project_organization(session: Session, project_id: str) -> str | None:
    # unscoped: administrative key commands on the local database name a project by its id alone.
    return session.scalars(select(Project.organization_id).where(Project.id == project_id)).first()
