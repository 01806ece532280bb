"""The labeling page: the frame, the guidelines and the schema; the page's script takes items from the API
(next, draft, submit, skip, heartbeat) so the next item appears without a full reload."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from labelvault.api.deps import DB, CanAnnotate
from labelvault.projects import service as projects
from labelvault.web.frame import render, safe_markdown, viewer
from labelvault.workforce import visibility

router = APIRouter(tags=["pages"], include_in_schema=False)


@router.get("/projects/{project_id}/label")
def labeling_page(project_id: str, principal: CanAnnotate, session: DB) -> HTMLResponse:
    project = projects.get_project(session, principal, project_id)
    schema = projects.current_label_schema(session, project)
    config = {"projectId": project.id, "userId": principal.user_id, "schemaVersion": project.schema_version,
              "schema": visibility.schema_for(principal, schema.model_dump(mode="json")),
              "leaseSeconds": project.lease_seconds}
    return render("label.html", {"title": project.name, "viewer": viewer(session, principal), "project": project,
                                 "config": config, "guidelines_html": safe_markdown(project.guidelines)})
