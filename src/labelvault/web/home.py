"""The annotator's home: my projects, items waiting, my counts today, guidelines."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from labelvault.api.deps import DB, CanReadProject
from labelvault.items import service as items
from labelvault.kit.clock import utcnow
from labelvault.projects import service as projects
from labelvault.web import repository
from labelvault.web.frame import render, safe_markdown, viewer

router = APIRouter(tags=["pages"], include_in_schema=False)
WAITING_STATES = ("new", "in_progress")


@dataclass(frozen=True)
class ProjectCard:
    id: str
    name: str
    description: str
    waiting: int
    done_today: int
    drafts: int
    guidelines_html: str


@router.get("/")
def home(principal: CanReadProject, session: DB) -> HTMLResponse:
    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    counts = repository.my_counts_since(session, principal.organization_id, principal.user_id, today)
    cards = []
    for project in projects.list_projects(session, principal, None, 200):
        if project.archived_at is not None:
            continue
        states = items.state_counts(session, project)
        mine = counts.get(project.id, {})
        cards.append(ProjectCard(project.id, project.name, project.description,
                                 sum(states.get(s, 0) for s in WAITING_STATES), mine.get("submitted", 0),
                                 mine.get("draft", 0), safe_markdown(project.guidelines)))
    total = sum(card.done_today for card in cards)
    return render("home.html", {"title": "Your work", "viewer": viewer(session, principal), "cards": cards,
                                "total_today": total, "today": today.date().isoformat()})


