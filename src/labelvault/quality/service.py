"""Quality rules: project quality settings, gold answers, refresh jobs, reports and aggregates."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy.orm import Session

from labelvault.annotations.answers import check_answers
from labelvault.errors import Conflict, Forbidden, InvalidInput, NotFound
from labelvault.items.models import Item, ItemState
from labelvault.jobs import service as jobs
from labelvault.jobs.models import Job
from labelvault.kit.clock import utcnow
from labelvault.kit.ids import new_id
from labelvault.projects import service as projects
from labelvault.projects.models import Project
from labelvault.quality import repository as repo
from labelvault.quality.models import (
    AggregationMethod,
    GoldAnswer,
    ItemAggregate,
    QualityReport,
    QualitySettings,
    Suspension,
)
from labelvault.security.policy import Principal

REFRESH_JOB = "quality_refresh"
QUEUED = (ItemState.new, ItemState.in_progress)

DEFAULTS: dict[str, Any] = {
    "method": AggregationMethod.majority, "rating_tolerance": 0, "box_iou_threshold": 0.5, "gold_threshold": 0.8,
    "confidence_threshold": 0.7, "max_overlap": 5, "adaptive_overlap": False, "early_stop_confidence": 1.0,
    "auto_suspend": False, "gold_window": 10, "gold_min_items": 3, "qualification_required": False,
    "qualification_threshold": 0.8, "qualification_attempts": 2, "gold_rate": 0.0,
}


def settings_of(session: Session, project: Project) -> QualitySettings:
    """The project's quality settings; the defaults (not stored) when none were set."""
    row = repo.settings(session, project.organization_id, project.id)
    if row is None:
        row = QualitySettings(project_id=project.id, organization_id=project.organization_id, **DEFAULTS)
    return row


def update_settings(session: Session, project: Project, changes: dict[str, Any]) -> QualitySettings:
    """Change some quality settings of a project; the next refresh applies them to every item."""
    if "method" in changes and changes["method"] not in AggregationMethod.all:
        raise InvalidInput(f"method must be one of {list(AggregationMethod.all)}.", details={"field": "method"})
    row = repo.settings(session, project.organization_id, project.id)
    if row is None:
        row = QualitySettings(project_id=project.id, organization_id=project.organization_id, **DEFAULTS)
        session.add(row)
    for key, value in changes.items():
        setattr(row, key, value)
    # Settings change every score and aggregate: the next refresh recomputes all of them.
    row.refreshed_through = None
    row.updated_at = utcnow()
    session.flush()
    return row


def get_gold(session: Session, principal: Principal, item: Item) -> GoldAnswer:
    gold = repo.gold_of_item(session, principal.organization_id, item.id)
    if gold is None:
        raise NotFound("gold answer")
    return gold


def set_gold(session: Session, principal: Principal, item: Item, answers: dict[str, Any]) -> GoldAnswer:
    """Make an item a gold item (or change its known answers); answers may cover only some questions."""
    project = projects.get_project(session, principal, item.project_id)
    check_answers(projects.current_label_schema(session, project), answers, item.data, complete=False)
    if not answers:
        raise InvalidInput("Give the known answer of at least one question.", details={"field": "answers"})
    gold = repo.gold_of_item(session, principal.organization_id, item.id)
    now = utcnow()
    if gold is None:
        gold = GoldAnswer(organization_id=item.organization_id, project_id=item.project_id, item_id=item.id,
                          answers=answers, created_by_id=principal.user_id, created_at=now, updated_at=now)
        session.add(gold)
        # Back in the queue (gold items are never completed), as an item someone has started or nobody has.
        if item.state not in QUEUED:
            item.state = ItemState.in_progress if item.annotation_count or item.leased else ItemState.new
    else:
        gold.answers = answers
        gold.updated_at = now
    session.flush()
    return gold


def remove_gold(session: Session, principal: Principal, item: Item) -> None:
    """The item becomes an ordinary item again; its gold scores go at the next refresh."""
    session.delete(get_gold(session, principal, item))
    # Its answers count toward the overlap again, like those of any item.
    project = projects.get_project(session, principal, item.project_id)
    item.annotation_count = repo.submitted_count(session, principal.organization_id, item.id)
    # Its state as a gold item was a cover (see assignments.repository): derive the real one.
    if item.annotation_count >= (item.overlap or project.default_overlap):
        item.state = ItemState.completed
    else:
        item.state = ItemState.in_progress if item.annotation_count or item.leased else ItemState.new
    settings = repo.settings(session, principal.organization_id, item.project_id)
    if settings is not None:
        settings.refreshed_through = None
    session.flush()


def gold_page(session: Session, project: Project, after: str | None, limit: int) -> list[GoldAnswer]:
    return list(repo.gold_page(session, project.organization_id, project.id, after, limit))


def request_refresh(session: Session, principal: Principal, project: Project, *, complete: bool = False,
                    always: bool = False) -> Job | None:
    """Queue a refresh of the project's quality results unless one is queued already (it takes in whatever
    arrived meanwhile: a burst of annotations makes one job). `complete` asks the job for the whole report and
    the project-wide aggregates now rather than when they are due. Unless `always`, only for a project that
    uses quality control. Returns the queued job, new or not; None when there is none."""
    job_id = new_id()
    if repo.request_refresh(session, project.organization_id, project.id, job_id, utcnow(), always):
        return jobs.create_job(session, principal, REFRESH_JOB, {"project_id": project.id, "complete": complete},
                               project_id=project.id, job_id=job_id)
    pending = repo.pending_refresh(session, project.organization_id, project.id)
    if pending is None:
        return None
    job = jobs.load_job(session, pending.job_id)
    if job is not None and complete and not job.params.get("complete"):
        job.params = {**job.params, "complete": True}
        session.flush()
    return job


def start_refresh(session: Session, principal: Principal, project: Project) -> Job:
    """Queue a refresh: scores and aggregates of what changed since the last one, then a new report (the job
    already queued, if any, does it)."""
    job = request_refresh(session, principal, project, complete=True, always=True)
    assert job is not None  # `always`: there is one now
    return job


def annotation_submitted(session: Session, principal: Principal, project: Project, item_id: str) -> None:
    """After the person submitted (or changed) an annotation of the item: the item is behind them in their
    walk along the gold items (when it is one), and the project's quality results are refreshed soon (a job,
    queued unless one is; the project's, as `_create_refresh_job` makes it)."""
    job = jobs.queued_row(project.organization_id, REFRESH_JOB, {"project_id": project.id, "complete": False},
                          created_by_id=project.created_by_id, project_id=project.id)
    repo.met_and_queue_refresh(session, project.organization_id, project.id, item_id, principal.user_id, job)


def annotation_reviewed(session: Session, principal: Principal, project: Project) -> bool:
    """After a review decision: the scorecards' rejection rates (and a fixed annotation's scores) change."""
    return _queue_automatic_refresh(session, principal, project)


def _queue_automatic_refresh(session: Session, principal: Principal, project: Project) -> bool:
    job_id = new_id()
    if not repo.request_refresh(session, project.organization_id, project.id, job_id, utcnow(), False):
        return False
    return _create_refresh_job(session, principal, project, job_id)


def _create_refresh_job(session: Session, principal: Principal, project: Project, job_id: str) -> bool:
    job = jobs.create_job(session, principal, REFRESH_JOB, {"project_id": project.id, "complete": False},
                          project_id=project.id, job_id=job_id)
    # The project's job, not the annotator's: they may read the jobs they created, and its figures (gold
    # scores, suspensions) are not for them.
    job.created_by_id = project.created_by_id
    session.flush()
    return True


def get_report(session: Session, project: Project) -> QualityReport:
    report = repo.report(session, project.organization_id, project.id)
    if report is None:
        raise NotFound("quality report")
    return report


def aggregates_page(session: Session, project: Project, after: tuple[str, str] | None, limit: int,
                    below: float | None) -> list[ItemAggregate]:
    return list(repo.aggregates_page(session, project.organization_id, project.id, after, limit, below))


def aggregate_rows_page(session: Session, project: Project, after: tuple[str, str] | None,
                        limit: int) -> list[dict[str, Any]]:
    """For exports: a page of the project's aggregates in (item, question) order, as dicts."""
    return repo.aggregate_rows_page(session, project.organization_id, project.id, after, limit)


def check_may_receive_work(session: Session, principal: Principal, project: Project) -> float:
    """Raise Forbidden when the person is suspended from the project or has yet to pass its qualification
    exam; else the project's gold rate (the hook on the claim path: one statement)."""
    return _gold_rate_or_refuse(repo.work_gate(session, project.organization_id, project.id, principal.user_id))


def settings_for_work(session: Session, principal: Principal, project_id: str) -> tuple[Project, float]:
    """The project, if the principal may see it (as a plain object outside the session: changes to it are not
    saved), and the gold rate at which they receive its work (`check_may_receive_work`): one statement for
    both."""
    found = repo.settings_and_work_gate(session, principal.organization_id, project_id, principal.user_id)
    project = projects.visible(session, principal, found[0] if found is not None else None)
    assert found is not None
    return project, _gold_rate_or_refuse(found[1])


def settings_for_work_ahead(session: Session, organization_id: str, user_id: str, project_id: str) -> None:
    """Send the read of `settings_for_work` for this person of this organization ahead (`db.direct.Direct.ahead`)."""
    repo.settings_and_work_gate_ahead(session, organization_id, project_id, user_id)


def _gold_rate_or_refuse(gate: repo.Gate) -> float:
    suspended, exam_required, exam_passed, gold_rate = gate
    if suspended:
        raise Forbidden("Your gold accuracy in this project fell below its threshold: you receive no more of "
                        "its items until a manager reinstates you.", code="suspended")
    if exam_required and not exam_passed:
        raise Forbidden("This project hands out work after its qualification exam: take it first "
                        "(GET /projects/{id}/qualification/exam).", code="qualification_required")
    return gold_rate


def wants_gold(gold_rate: float) -> bool:
    """Whether this claim first looks for a gold item: a draw at the project's rate, not a pattern to learn."""
    return secrets.randbelow(1_000_000) < round(gold_rate * 1_000_000)


def is_gold(session: Session, organization_id: str, item_id: str) -> bool:
    return repo.gold_of_item(session, organization_id, item_id) is not None


def list_suspensions(session: Session, project: Project) -> list[Suspension]:
    """Every suspension of the project, newest first, reinstated ones included (the record of events)."""
    return list(repo.suspensions(session, project.organization_id, project.id))


def reinstate(session: Session, principal: Principal, project: Project, suspension_id: str) -> Suspension:
    """End a suspension; only gold answers submitted after it count toward the next one."""
    row = repo.suspension(session, principal.organization_id, suspension_id)
    if row is None or row.project_id != project.id:
        raise NotFound("suspension")
    if row.reinstated_at is not None:
        raise Conflict("This annotator was reinstated already.", code="already_reinstated")
    row.reinstated_at = utcnow()
    row.reinstated_by_id = principal.user_id
    session.flush()
    return row
