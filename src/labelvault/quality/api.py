"""HTTP routes of quality control: settings, gold answers, refresh jobs, reports and aggregates."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from labelvault.api.deps import DB, CanAnnotate, CanExport, CanManageItems, CanManageProject, Ctx, after_commit
from labelvault.api.paging import Page, page_size
from labelvault.errors import InvalidInput
from labelvault.items import service as items
from labelvault.jobs.schemas import JobOut
from labelvault.kit.pagination import decode_cursor, encode_cursor
from labelvault.projects import service as projects
from labelvault.quality import qualification, service
from labelvault.quality.schemas import (
    AggregateOut,
    ExamAnswersIn,
    ExamAttemptOut,
    ExamItemIn,
    ExamItemOut,
    ExamOut,
    ExamQuestionOut,
    GoldIn,
    GoldOut,
    QualityReportOut,
    QualitySettingsOut,
    QualitySettingsPatch,
    SuspensionOut,
)

router = APIRouter(prefix="/api/v1", tags=["quality"])


@router.get("/projects/{project_id}/quality/settings", response_model=QualitySettingsOut)
def get_settings(project_id: str, principal: CanManageProject, session: DB) -> QualitySettingsOut:
    project = projects.get_project(session, principal, project_id)
    return QualitySettingsOut.model_validate(service.settings_of(session, project))


@router.patch("/projects/{project_id}/quality/settings", response_model=QualitySettingsOut)
def update_settings(project_id: str, body: QualitySettingsPatch, principal: CanManageProject, session: DB,
                    request: Request, ctx: Ctx) -> QualitySettingsOut:
    """Change quality settings; a refresh is queued that recomputes every score and aggregate with them."""
    project = projects.get_project(session, principal, project_id)
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    updated = service.update_settings(session, project, changes)
    service.request_refresh(session, principal, project, always=True)
    after_commit(request, ctx.runner.wake)
    return QualitySettingsOut.model_validate(updated)


@router.put("/items/{item_id}/gold", response_model=GoldOut)
def set_gold(item_id: str, body: GoldIn, principal: CanManageItems, session: DB) -> GoldOut:
    """Make the item a gold item with these known answers (or replace them). Annotators cannot see this."""
    item = items.get_item(session, principal, item_id)
    return GoldOut.model_validate(service.set_gold(session, principal, item, body.answers))


@router.get("/items/{item_id}/gold", response_model=GoldOut)
def get_gold(item_id: str, principal: CanManageItems, session: DB) -> GoldOut:
    item = items.get_item(session, principal, item_id)
    return GoldOut.model_validate(service.get_gold(session, principal, item))


@router.delete("/items/{item_id}/gold", status_code=204)
def remove_gold(item_id: str, principal: CanManageItems, session: DB) -> Response:
    item = items.get_item(session, principal, item_id)
    service.remove_gold(session, principal, item)
    return Response(status_code=204)


@router.get("/projects/{project_id}/gold", response_model=Page[GoldOut])
def list_gold(project_id: str, principal: CanManageItems, session: DB, ctx: Ctx, cursor: str | None = None,
              limit: int | None = None) -> Page[GoldOut]:
    project = projects.get_project(session, principal, project_id)
    size = page_size(ctx.settings, limit)
    after = decode_cursor(cursor)
    if after is not None and not (len(after) == 1 and isinstance(after[0], str)):
        raise InvalidInput("The cursor is not valid; use the `next_cursor` of a previous page.",
                           details={"field": "cursor"})
    rows = service.gold_page(session, project, str(after[0]) if after else None, size)
    next_cursor = encode_cursor(rows[-1].item_id) if len(rows) == size else None
    return Page[GoldOut](items=[GoldOut.model_validate(g) for g in rows], next_cursor=next_cursor)


@router.post("/projects/{project_id}/quality/refresh", response_model=JobOut, status_code=202)
def start_refresh(project_id: str, request: Request, principal: CanManageProject, session: DB,
                  ctx: Ctx) -> JobOut:
    """Queue a refresh of scores, aggregates and the report; poll the job for progress."""
    project = projects.get_project(session, principal, project_id)
    job = service.start_refresh(session, principal, project)
    after_commit(request, ctx.runner.wake)
    return JobOut.model_validate(job)


@router.get("/projects/{project_id}/quality/report", response_model=QualityReportOut)
def get_report(project_id: str, principal: CanManageProject, session: DB) -> QualityReportOut:
    """The last computed report: agreement per question and annotator pair, and annotator scorecards."""
    project = projects.get_project(session, principal, project_id)
    return QualityReportOut.model_validate(service.get_report(session, project))


@router.get("/projects/{project_id}/aggregates", response_model=Page[AggregateOut])
def list_aggregates(project_id: str, principal: CanExport, session: DB, ctx: Ctx, cursor: str | None = None,
                    limit: int | None = None, below: float | None = None) -> Page[AggregateOut]:
    """Aggregated answers per item and question with their confidence; `below` keeps only less confident ones."""
    project = projects.get_project(session, principal, project_id)
    size = page_size(ctx.settings, limit)
    after = decode_cursor(cursor)
    if after is not None and not (len(after) == 2 and all(isinstance(v, str) for v in after)):
        raise InvalidInput("The cursor is not valid; use the `next_cursor` of a previous page.",
                           details={"field": "cursor"})
    key = (str(after[0]), str(after[1])) if after else None
    rows = service.aggregates_page(session, project, key, size, below)
    next_cursor = encode_cursor(rows[-1].item_id, rows[-1].question) if len(rows) == size else None
    return Page[AggregateOut](items=[AggregateOut.model_validate(a) for a in rows], next_cursor=next_cursor)


@router.get("/projects/{project_id}/quality/suspensions", response_model=list[SuspensionOut])
def list_suspensions(project_id: str, principal: CanManageProject, session: DB) -> list[SuspensionOut]:
    """Annotators suspended for low gold accuracy, newest first, with their reinstatements."""
    project = projects.get_project(session, principal, project_id)
    return [SuspensionOut.model_validate(s) for s in service.list_suspensions(session, project)]


@router.post("/projects/{project_id}/quality/suspensions/{suspension_id}/reinstate", response_model=SuspensionOut)
def reinstate(project_id: str, suspension_id: str, principal: CanManageProject, session: DB) -> SuspensionOut:
    """Let a suspended annotator receive the project's items again."""
    project = projects.get_project(session, principal, project_id)
    return SuspensionOut.model_validate(service.reinstate(session, principal, project, suspension_id))


@router.post("/projects/{project_id}/qualification/items", response_model=ExamItemOut, status_code=201)
def add_exam_item(project_id: str, body: ExamItemIn, principal: CanManageItems, session: DB) -> ExamItemOut:
    """Add a question (item data and known answers) to the project's qualification exam."""
    project = projects.get_project(session, principal, project_id)
    return ExamItemOut.model_validate(qualification.add_exam_item(session, principal, project, body.data,
                                                                  body.answers))


@router.get("/projects/{project_id}/qualification/items", response_model=list[ExamItemOut])
def list_exam_items(project_id: str, principal: CanManageItems, session: DB) -> list[ExamItemOut]:
    project = projects.get_project(session, principal, project_id)
    return [ExamItemOut.model_validate(i) for i in qualification.exam_items(session, project)]


@router.get("/projects/{project_id}/qualification/exam", response_model=ExamOut)
def get_exam(project_id: str, principal: CanAnnotate, session: DB) -> ExamOut:
    """The exam's questions (without answers), the score to reach, your attempts left and whether you passed."""
    project = projects.get_project(session, principal, project_id)
    status = qualification.exam_status(session, principal, project)
    return ExamOut(items=[ExamQuestionOut.model_validate(i) for i in status.items], threshold=status.threshold,
                   attempts_left=status.attempts_left, passed=status.passed)


@router.post("/projects/{project_id}/qualification/attempts", response_model=ExamAttemptOut, status_code=201)
def take_exam(project_id: str, body: ExamAnswersIn, principal: CanAnnotate, session: DB) -> ExamAttemptOut:
    """Answer every exam question at once; the attempt is scored and recorded."""
    project = projects.get_project(session, principal, project_id)
    return ExamAttemptOut.model_validate(qualification.take_exam(session, principal, project, body.answers))


@router.get("/projects/{project_id}/qualification/attempts", response_model=list[ExamAttemptOut])
def list_exam_attempts(project_id: str, principal: CanManageProject, session: DB) -> list[ExamAttemptOut]:
    """Every attempt at the exam: who, when, score and verdict."""
    project = projects.get_project(session, principal, project_id)
    return [ExamAttemptOut.model_validate(a) for a in qualification.attempts(session, project)]
