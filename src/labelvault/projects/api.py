"""HTTP routes of the projects domain."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import Session

from labelvault.api.deps import DB, CanManageProject, CanReadProject, Ctx
from labelvault.api.paging import Page, page_size
from labelvault.items import service as items
from labelvault.kit.pagination import decode_cursor, encode_cursor
from labelvault.projects import service
from labelvault.projects.models import Project
from labelvault.projects.schemas import (
    ProjectDetailOut,
    ProjectIn,
    ProjectOut,
    ProjectPatch,
    SchemaCheckOut,
    SchemaVersionOut,
)
from labelvault.security.policy import Principal
from labelvault.workforce import visibility

router = APIRouter(prefix="/api/v1/projects", tags=["projects"])


def _detail(session: Session, project: Project, principal: Principal | None = None) -> ProjectDetailOut:
    """The project with its schema and counts; a vendor's people get the schema as shown to their vendor and
    no counts of the whole project."""
    schema = service.get_schema(session, project)
    vendor = principal is not None and principal.vendor_id is not None
    return ProjectDetailOut(
        **ProjectOut.model_validate(project).model_dump(),
        label_schema=visibility.schema_for(principal, schema.definition) if principal else schema.definition,
        item_counts={} if vendor else items.state_counts(session, project),
    )


@router.post("", response_model=ProjectDetailOut, status_code=201, response_model_by_alias=True)
def create_project(body: ProjectIn, principal: CanManageProject, session: DB) -> ProjectDetailOut:
    project = service.create_project(
        session, principal, name=body.name, schema=body.label_schema, description=body.description,
        guidelines=body.guidelines, default_overlap=body.default_overlap,
        settings={key: getattr(body, key) for key in service.SETTINGS},
    )
    return _detail(session, project)


@router.get("", response_model=Page[ProjectOut])
def list_projects(principal: CanReadProject, session: DB, ctx: Ctx, cursor: str | None = None,
                  limit: int | None = None) -> Page[ProjectOut]:
    size = page_size(ctx.settings, limit)
    after = decode_cursor(cursor)
    rows = service.list_projects(session, principal, str(after[0]) if after else None, size)
    next_cursor = encode_cursor(rows[-1].id) if len(rows) == size else None
    return Page[ProjectOut](items=[ProjectOut.model_validate(p) for p in rows], next_cursor=next_cursor)


@router.get("/{project_id}", response_model=ProjectDetailOut, response_model_by_alias=True)
def get_project(project_id: str, principal: CanReadProject, session: DB) -> ProjectDetailOut:
    return _detail(session, service.get_project(session, principal, project_id), principal)


@router.patch("/{project_id}", response_model=ProjectDetailOut, response_model_by_alias=True)
def update_project(project_id: str, body: ProjectPatch, principal: CanManageProject,
                   session: DB) -> ProjectDetailOut:
    project = service.get_project(session, principal, project_id)
    changes: dict[str, Any] = body.model_dump(exclude_unset=True, exclude_none=True)
    return _detail(session, service.update_project(session, principal, project, changes))


@router.put("/{project_id}/schema", response_model=SchemaVersionOut, status_code=201)
def change_schema(project_id: str, body: dict[str, Any], principal: CanManageProject,
                  session: DB) -> SchemaVersionOut:
    project = service.get_project(session, principal, project_id)
    return SchemaVersionOut.model_validate(service.change_schema(session, principal, project, body))


@router.post("/{project_id}/schema/validate", response_model=SchemaCheckOut)
def validate_schema(project_id: str, body: dict[str, Any], principal: CanManageProject,
                    session: DB) -> SchemaCheckOut:
    """A dry run of PUT /schema: the same checks, each problem with its path; nothing is saved."""
    service.get_project(session, principal, project_id)
    problems = service.check_schema(body)
    return SchemaCheckOut(valid=not problems, problems=problems)


@router.get("/{project_id}/schema/versions", response_model=list[SchemaVersionOut])
def schema_versions(project_id: str, principal: CanReadProject, session: DB) -> list[SchemaVersionOut]:
    project = service.get_project(session, principal, project_id)
    return [SchemaVersionOut(version=v.version, definition=visibility.schema_for(principal, v.definition),
                             created_at=v.created_at, created_by_id=v.created_by_id)
            for v in service.list_schema_versions(session, project)]
