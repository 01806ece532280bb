"""The schema editor: the current schema as JSON beside a live preview drawn with the labeling page's own
widgets. The page checks each edit through the schema dry run (POST /schema/validate) and saves a new
version through PUT /schema; the sample item for the preview is the project's first, read by the script."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from labelvault.api.deps import DB, CanManageProject
from labelvault.projects import service as projects
from labelvault.web.frame import render, viewer

router = APIRouter(tags=["pages"], include_in_schema=False)


@router.get("/projects/{project_id}/schema")
def schema_editor(project_id: str, principal: CanManageProject, session: DB) -> HTMLResponse:
    project = projects.get_project(session, principal, project_id)
    row = projects.get_schema(session, project)
    config: dict[str, Any] = {"projectId": project.id, "version": row.version, "schema": row.definition}
    return render("schema.html", {"title": f"Schema · {project.name}", "viewer": viewer(session, principal),
                                  "project": project, "config": config, "version": row.version})
