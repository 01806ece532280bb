"""Managers' pages for the workforce: vendors (add, revoke, exposure reports), teams, and a project's routing
rules. Actions go through the API from the page's script."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from labelvault.api.deps import DB, CanManageWorkforce
from labelvault.projects import service as projects
from labelvault.web.frame import render, viewer
from labelvault.workforce import service as workforce
from labelvault.workforce.models import WorkforceKind

router = APIRouter(tags=["pages"], include_in_schema=False)


@router.get("/vendors")
def vendors_page(principal: CanManageWorkforce, session: DB) -> HTMLResponse:
    rows = workforce.list_workforces(session, principal)
    return render("vendors.html", {
        "title": "Vendors and teams", "viewer": viewer(session, principal),
        "vendors": [w for w in rows if w.kind == WorkforceKind.vendor],
        "teams": [w for w in rows if w.kind == WorkforceKind.team]})


@router.get("/projects/{project_id}/routing")
def routing_page(project_id: str, principal: CanManageWorkforce, session: DB) -> HTMLResponse:
    project = projects.get_project(session, principal, project_id)
    rules = [{"name": r.name, "workforce_id": r.workforce_id, "match": r.match, "skill": r.skill}
             for r in workforce.routing_rules(session, project)]
    names = {w.id: f"{w.kind} {w.name}" for w in workforce.list_workforces(session, principal)
             if w.revoked_at is None}
    return render("routing.html", {"title": f"Routing · {project.name}", "viewer": viewer(session, principal),
                                   "project": project, "names": names,
                                   "config": {"projectId": project.id, "rules": rules}})
