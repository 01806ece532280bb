"""The reviewer's page (the review queue, one annotation at a time, drawn read-only over its item) and the
annotator's returned-work page (rejected annotations with the reviewer's comment, fixed and sent back)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from labelvault.api.deps import DB, CanAnnotate, CanReview
from labelvault.projects import service as projects
from labelvault.security.policy import Principal
from labelvault.web.frame import render, safe_markdown, viewer
from labelvault.workforce import visibility

router = APIRouter(tags=["pages"], include_in_schema=False)


def project_page(template: str, title: str, session: Session, principal: Principal, project_id: str) -> HTMLResponse:
    project = projects.get_project(session, principal, project_id)
    schema = projects.current_label_schema(session, project)
    config: dict[str, Any] = {"projectId": project.id, "userId": principal.user_id,
                              "schema": visibility.schema_for(principal, schema.model_dump(mode="json"))}
    return render(template, {"title": f"{title} · {project.name}", "viewer": viewer(session, principal),
                             "project": project, "config": config,
                             "guidelines_html": safe_markdown(project.guidelines)})


@router.get("/projects/{project_id}/review")
def review_page(project_id: str, principal: CanReview, session: DB) -> HTMLResponse:
    return project_page("review.html", "Review", session, principal, project_id)


@router.get("/projects/{project_id}/returned")
def returned_page(project_id: str, principal: CanAnnotate, session: DB) -> HTMLResponse:
    return project_page("returned.html", "Returned work", session, principal, project_id)
