"""The project overview for managers: items per state (from the trigger-kept counters), the per-annotator table
and the throughput / progress charts. The charts come from data already aggregated: the weekly counts in the
last quality report's scorecards, so the page reads a handful of rows at any project size."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from labelvault.accounts import service as accounts
from labelvault.api.deps import DB, CanManageProject
from labelvault.errors import NotFound
from labelvault.items import service as items
from labelvault.projects import service as projects
from labelvault.quality import service as quality
from labelvault.quality.vendors import vendor_scorecards
from labelvault.web.frame import render, viewer
from labelvault.workforce.scorecards import vendor_of_people

router = APIRouter(tags=["pages"], include_in_schema=False)
WIDTH, HEIGHT, PAD = 640, 200, 30


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: int


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    line: str  # polyline points of the cumulative total
    top: int
    total: int


def weekly_chart(scorecards: list[dict[str, Any]]) -> Chart | None:
    """Weekly annotations (bars) and their running total (line), summed over every annotator's weekly trend."""
    weeks: Counter[str] = Counter()
    for card in scorecards:
        for point in card.get("trend", []):
            weeks[str(point["week"])] += int(point["annotations"])
    if not weeks:
        return None
    ordered = sorted(weeks.items())
    top = max(n for _, n in ordered)
    total = sum(n for _, n in ordered)
    step = (WIDTH - 2 * PAD) / len(ordered)
    bars, points, running = [], [], 0
    for index, (week, n) in enumerate(ordered):
        height = (HEIGHT - 2 * PAD) * n / top
        x = PAD + index * step
        bars.append(Bar(round(x + step * 0.1, 1), round(HEIGHT - PAD - height, 1), round(step * 0.8, 1),
                        round(height, 1), week, n))
        running += n
        points.append(f"{round(x + step / 2, 1)},{round(HEIGHT - PAD - (HEIGHT - 2 * PAD) * running / total, 1)}")
    return Chart(bars, " ".join(points), top, total)


@router.get("/projects/{project_id}/overview")
def overview(project_id: str, principal: CanManageProject, session: DB) -> HTMLResponse:
    project = projects.get_project(session, principal, project_id)
    counts = items.state_counts(session, project)
    try:
        stored = quality.get_report(session, project)
        report: dict[str, Any] | None = stored.report
        computed_at = stored.computed_at.strftime("%Y-%m-%d %H:%M UTC")
    except NotFound:
        report, computed_at = None, ""
    scorecards = (report or {}).get("scorecards", [])
    vendor_of = vendor_of_people(session, principal)
    vendor_cards = vendor_scorecards(scorecards, vendor_of) if vendor_of else []
    names = accounts.names_of(session, principal.organization_id, [str(c.get("user_id")) for c in scorecards])
    return render("overview.html", {
        "title": f"Overview · {project.name}", "viewer": viewer(session, principal), "project": project,
        "counts": counts, "total": sum(counts.values()), "report": report, "scorecards": scorecards,
        "names": names, "chart": weekly_chart(scorecards), "size": {"width": WIDTH, "height": HEIGHT, "pad": PAD},
        "report_time": computed_at, "vendor_cards": vendor_cards,
    })
