"""Managers' import and export pages. The page is one project read; the file goes up as the raw body of the
import API (so the browser reports upload progress), and the job's progress, its rejected lines and the export
file come from the jobs and exports APIs, which page through what they list."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from labelvault.api.deps import DB, CanExport, CanManageItems
from labelvault.projects import service as projects
from labelvault.web.frame import render, viewer

router = APIRouter(tags=["pages"], include_in_schema=False)
ITEM_STATES = ("new", "in_progress", "completed", "in_review", "accepted", "rejected", "disputed")


@router.get("/projects/{project_id}/import")
def import_page(project_id: str, principal: CanManageItems, session: DB) -> HTMLResponse:
    project = projects.get_project(session, principal, project_id)
    config: dict[str, Any] = {"projectId": project.id}
    return render("import.html", {"title": f"Import · {project.name}", "viewer": viewer(session, principal),
                                  "project": project, "config": config})


@router.get("/projects/{project_id}/export")
def export_page(project_id: str, principal: CanExport, session: DB) -> HTMLResponse:
    project = projects.get_project(session, principal, project_id)
    config: dict[str, Any] = {"projectId": project.id}
    return render("export.html", {"title": f"Export · {project.name}", "viewer": viewer(session, principal),
                                  "project": project, "config": config, "states": ITEM_STATES})
