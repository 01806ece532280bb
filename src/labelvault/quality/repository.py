"""Every query of the quality domain."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any, cast

import orjson
from sqlalchemy import ColumnElement, String, Table, bindparam, delete, func, insert, literal_column, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from labelvault.annotations.models import Annotation, AnnotationStatus
from labelvault.crypto.content import answers_field, open_json, project_keys, seal_rows
from labelvault.db.direct import Direct, plain
from labelvault.db.scope import scoped
from labelvault.jobs.models import Job, JobState
from labelvault.projects.models import Project
from labelvault.quality.gold_walk import cursor_upsert, move_gold_cursor
from labelvault.quality.models import (
    AnnotationScore,
    ExamAttempt,
    ExamItem,
    GoldAnswer,
    ItemAggregate,
    PendingRefresh,
    QualityReport,
    QualitySettings,
    Suspension,
)


def settings(session: Session, organization_id: str, project_id: str) -> QualitySettings | None:
    stmt = scoped(select(QualitySettings), QualitySettings, organization_id)
    return session.scalars(stmt.where(QualitySettings.project_id == project_id)).first()


def gold_of_item(session: Session, organization_id: str, item_id: str) -> GoldAnswer | None:
    stmt = scoped(select(GoldAnswer), GoldAnswer, organization_id).where(GoldAnswer.item_id == item_id)
    return session.scalars(stmt).first()


def gold_page(session: Session, organization_id: str, project_id: str, after: str | None,
              limit: int) -> Sequence[GoldAnswer]:
    stmt = scoped(select(GoldAnswer), GoldAnswer, organization_id).where(GoldAnswer.project_id == project_id)
    if after:
        stmt = stmt.where(GoldAnswer.item_id > after)
    return session.scalars(stmt.order_by(GoldAnswer.item_id).limit(limit)).all()


def gold_answers_of_items(session: Session, organization_id: str, project_id: str,
                          item_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The known answers of those of these items that are gold, by item id: read and opened in one pass (no
    ORM object per row)."""
    stmt = scoped(select(GoldAnswer.item_id, GoldAnswer.id, GoldAnswer.sealed_answers), GoldAnswer,
                  organization_id).where(GoldAnswer.project_id == project_id, GoldAnswer.item_id.in_(item_ids))
    keys = project_keys(session, organization_id, project_id)
    rows = keys.open_rows(session.execute(stmt).all(), 2,
                          lambda row: f"{row[0]}\x00{answers_field('gold', row[1])}".encode())
    return {item_id: orjson.loads(answers) for item_id, _, answers in rows}


def gold_item_ids(session: Session, organization_id: str, project_id: str) -> set[str]:
    stmt = scoped(select(GoldAnswer.item_id), GoldAnswer, organization_id).where(GoldAnswer.project_id == project_id)
    return set(session.scalars(stmt))


def submitted_count(session: Session, organization_id: str, item_id: str) -> int:
    stmt = scoped(select(func.count()).select_from(Annotation), Annotation, organization_id).where(
        Annotation.item_id == item_id, Annotation.status == AnnotationStatus.submitted)
    return int(session.scalar(stmt) or 0)


def changed_item_ids(session: Session, organization_id: str, project_id: str,
                     since: dt.datetime | None) -> list[str]:
    """Items with a submitted annotation or a gold answer written after `since` (all of them when None)."""
    annotated = scoped(select(Annotation.item_id), Annotation, organization_id).where(
        Annotation.project_id == project_id, Annotation.status == AnnotationStatus.submitted)
    gold = scoped(select(GoldAnswer.item_id), GoldAnswer, organization_id).where(GoldAnswer.project_id == project_id)
    if since is not None:
        annotated = annotated.where(Annotation.updated_at > since)
        gold = gold.where(GoldAnswer.updated_at > since)
    return sorted(set(session.scalars(annotated.distinct())) | set(session.scalars(gold)))


def submitted_of_items(session: Session, organization_id: str, project_id: str,
                       item_ids: Sequence[str]) -> Sequence[Annotation]:
    stmt = scoped(select(Annotation), Annotation, organization_id).where(
        Annotation.project_id == project_id, Annotation.item_id.in_(item_ids),
        Annotation.status == AnnotationStatus.submitted)
    return session.scalars(stmt.order_by(Annotation.item_id, Annotation.id)).all()


def submitted_rows(session: Session, organization_id: str, project_id: str) -> Iterator[Any]:
    """(item, author, answers, time spent, submitted at, review status) of every submitted annotation, streamed."""
    stmt = scoped(select(Annotation.item_id, Annotation.author_id, Annotation.sealed_answers,
                         Annotation.time_spent_ms, Annotation.submitted_at, Annotation.updated_at,
                         Annotation.review_status, Annotation.id),
                  Annotation, organization_id).where(
        Annotation.project_id == project_id, Annotation.status == AnnotationStatus.submitted)
    keys = project_keys(session, organization_id, project_id, preload=True)
    for item_id, author_id, sealed, *rest, annotation_id in session.execute(stmt.execution_options(yield_per=5000)):
        yield (item_id, author_id, open_json(keys, item_id, answers_field("annotation", annotation_id), sealed),
               *rest)


def scores(session: Session, organization_id: str, project_id: str) -> Iterator[Any]:
    stmt = scoped(select(AnnotationScore.author_id, AnnotationScore.kind, AnnotationScore.score,
                         AnnotationScore.submitted_at), AnnotationScore, organization_id)
    yield from session.execute(stmt.where(AnnotationScore.project_id == project_id).execution_options(yield_per=5000))


def replace_scores(session: Session, annotation_ids: Sequence[str], kind: str, rows: list[dict[str, Any]]) -> None:
    session.execute(delete(AnnotationScore).where(AnnotationScore.annotation_id.in_(annotation_ids),
                                                  AnnotationScore.kind == kind))
    if rows:
        session.execute(insert(AnnotationScore), rows)


def replace_aggregates(session: Session, item_ids: Sequence[str], questions: Sequence[str],
                       rows: list[dict[str, Any]], keep_method: str | None = None) -> None:
    """Replace the items' aggregates of these questions by `rows` (`document` in plaintext: sealed here), except
    those made by `keep_method`."""
    stmt = delete(ItemAggregate).where(ItemAggregate.item_id.in_(item_ids), ItemAggregate.question.in_(questions))
    if keep_method is not None:
        stmt = stmt.where(ItemAggregate.method != keep_method)
    session.execute(stmt)
    if rows:
        session.execute(insert(ItemAggregate), seal_rows(session, ItemAggregate, rows))


def aggregates_page(session: Session, organization_id: str, project_id: str, after: tuple[str, str] | None,
                    limit: int, below: float | None) -> Sequence[ItemAggregate]:
    stmt = scoped(select(ItemAggregate), ItemAggregate, organization_id).where(ItemAggregate.project_id == project_id)
    if after is not None:
        item_id, question = after
        stmt = stmt.where((ItemAggregate.item_id > item_id)
                          | ((ItemAggregate.item_id == item_id) & (ItemAggregate.question > question)))
    if below is not None:
        stmt = stmt.where(ItemAggregate.confidence < below)
    return session.scalars(stmt.order_by(ItemAggregate.item_id, ItemAggregate.question).limit(limit)).all()


def aggregate_rows_page(session: Session, organization_id: str, project_id: str, after: tuple[str, str] | None,
                        limit: int) -> list[dict[str, Any]]:
    """A page of the project's aggregates in (item, question) order as dicts (`item_id`, `question`, `value`,
    `confidence`, `method`, `annotations`), read and opened in one pass (no ORM object per row)."""
    stmt = scoped(select(ItemAggregate.item_id, ItemAggregate.id, ItemAggregate.question, ItemAggregate.sealed_value,
                         ItemAggregate.confidence, ItemAggregate.method, ItemAggregate.annotations),
                  ItemAggregate, organization_id).where(ItemAggregate.project_id == project_id)
    if after is not None:
        item_id, question = after
        stmt = stmt.where((ItemAggregate.item_id > item_id)
                          | ((ItemAggregate.item_id == item_id) & (ItemAggregate.question > question)))
    stmt = stmt.order_by(ItemAggregate.item_id, ItemAggregate.question).limit(limit)
    rows = project_keys(session, organization_id, project_id).open_rows(
        session.execute(stmt).all(), 3, lambda row: f"{row[0]}\x00{answers_field('aggregate', row[1])}".encode())
    return [{"item_id": item_id, "question": question, "value": orjson.loads(document).get("value"),
             "confidence": confidence, "method": method, "annotations": annotations}
            for item_id, _, question, document, confidence, method, annotations in rows]


def aggregated_by(session: Session, organization_id: str, item_ids: Sequence[str],
                  method: str) -> set[tuple[str, str]]:
    """(item, question) of the items' aggregates made by `method`."""
    stmt = scoped(select(ItemAggregate.item_id, ItemAggregate.question), ItemAggregate, organization_id).where(
        ItemAggregate.item_id.in_(item_ids), ItemAggregate.method == method)
    return {(item_id, question) for item_id, question in session.execute(stmt)}


def aggregate_confidences(session: Session, organization_id: str, project_id: str) -> list[float]:
    stmt = scoped(select(ItemAggregate.confidence), ItemAggregate, organization_id)
    return list(session.scalars(stmt.where(ItemAggregate.project_id == project_id)))


def report(session: Session, organization_id: str, project_id: str) -> QualityReport | None:
    stmt = scoped(select(QualityReport), QualityReport, organization_id)
    return session.scalars(stmt.where(QualityReport.project_id == project_id)).first()


def lowest_confidences(session: Session, organization_id: str, item_ids: Sequence[str]) -> dict[str, float]:
    """Each item's least confident aggregate (items without aggregates are left out)."""
    stmt = scoped(select(ItemAggregate.item_id, func.min(ItemAggregate.confidence)), ItemAggregate, organization_id)
    rows = session.execute(stmt.where(ItemAggregate.item_id.in_(item_ids)).group_by(ItemAggregate.item_id))
    return {item_id: float(lowest) for item_id, lowest in rows}


_ACTIVE_SUSPENSION = scoped(select(Suspension.id), Suspension, bindparam("organization_id")).where(
    Suspension.project_id == bindparam("project_id"), Suspension.user_id == bindparam("user_id"),
    Suspension.reinstated_at.is_(None)).exists()
_PASSED_EXAM = scoped(select(ExamAttempt.id), ExamAttempt, bindparam("organization_id")).where(
    ExamAttempt.project_id == bindparam("project_id"), ExamAttempt.user_id == bindparam("user_id"),
    ExamAttempt.passed.is_(True)).exists()
_EXAM_REQUIRED = scoped(select(QualitySettings.qualification_required), QualitySettings,
                        bindparam("organization_id")).where(
    QualitySettings.project_id == bindparam("project_id")).scalar_subquery()
_GOLD_RATE = scoped(select(QualitySettings.gold_rate), QualitySettings, bindparam("organization_id")).where(
    QualitySettings.project_id == bindparam("project_id")).scalar_subquery()
_GATE_COLUMNS = (_ACTIVE_SUSPENSION, func.coalesce(_EXAM_REQUIRED, False), _PASSED_EXAM,
                 func.coalesce(_GOLD_RATE, 0.0))
_WORK_GATE = Direct(select(  # unscoped: made of the four scoped statements above
    *_GATE_COLUMNS))


def work_gate(session: Session, organization_id: str, project_id: str, user_id: str) -> Gate:
    """(suspended, exam required, exam passed, gold rate) in one round trip: this runs on every claim."""
    suspended, required, passed, gold_rate = _WORK_GATE.rows(session, _gate_params(organization_id, project_id,
                                                                                   user_id))[0]
    return bool(suspended), bool(required), bool(passed), float(gold_rate)


Gate = tuple[bool, bool, bool, float]

_projects = cast(Table, Project.__table__)
# The project's settings and the person's work gate: the claim asks for both, each time.
_SETTINGS_AND_GATE = Direct(scoped(select(_projects, *_GATE_COLUMNS), Project,
                                   bindparam("organization_id")).where(Project.id == bindparam("project_id")))
_PROJECT_WIDTH = len(_projects.c)


def settings_and_work_gate(session: Session, organization_id: str, project_id: str,
                           user_id: str) -> tuple[Project, Gate] | None:
    """The project as a plain object outside the session (`db.direct.plain`: the loop changes nothing of it) and
    `work_gate` for the person, in one statement; None without such a project."""
    row = _SETTINGS_AND_GATE.first(session, _gate_params(organization_id, project_id, user_id))
    if row is None:
        return None
    suspended, required, passed, gold_rate = row[_PROJECT_WIDTH:]
    return plain(Project, row[:_PROJECT_WIDTH]), (bool(suspended), bool(required), bool(passed), float(gold_rate))


def settings_and_work_gate_ahead(session: Session, organization_id: str, project_id: str, user_id: str) -> None:
    """Send `settings_and_work_gate`'s read ahead (`Direct.ahead`)."""
    _SETTINGS_AND_GATE.ahead(session, _gate_params(organization_id, project_id, user_id))


def _gate_params(organization_id: str, project_id: str, user_id: str) -> dict[str, str]:
    return {"organization_id": organization_id, "project_id": project_id, "user_id": user_id}


def exam_items(session: Session, organization_id: str, project_id: str) -> Sequence[ExamItem]:
    stmt = scoped(select(ExamItem), ExamItem, organization_id).where(ExamItem.project_id == project_id)
    return session.scalars(stmt.order_by(ExamItem.id)).all()


def exam_attempts(session: Session, organization_id: str, project_id: str,
                  user_id: str | None = None) -> Sequence[ExamAttempt]:
    stmt = scoped(select(ExamAttempt), ExamAttempt, organization_id).where(ExamAttempt.project_id == project_id)
    if user_id is not None:
        stmt = stmt.where(ExamAttempt.user_id == user_id)
    return session.scalars(stmt.order_by(ExamAttempt.created_at, ExamAttempt.id)).all()


def suspensions(session: Session, organization_id: str, project_id: str) -> Sequence[Suspension]:
    stmt = scoped(select(Suspension), Suspension, organization_id).where(Suspension.project_id == project_id)
    return session.scalars(stmt.order_by(Suspension.suspended_at.desc(), Suspension.id)).all()


def suspension(session: Session, organization_id: str, suspension_id: str) -> Suspension | None:
    stmt = scoped(select(Suspension), Suspension, organization_id).where(Suspension.id == suspension_id)
    return session.scalars(stmt).first()


def gold_scores_of_authors(session: Session, organization_id: str, project_id: str,
                           authors: Sequence[str]) -> Iterator[Any]:
    """(author, score, submitted at) of the gold scores of some authors (ix_annotation_scores_project_author)."""
    stmt = scoped(select(AnnotationScore.author_id, AnnotationScore.score, AnnotationScore.submitted_at),
                  AnnotationScore, organization_id).where(
        AnnotationScore.project_id == project_id, AnnotationScore.kind == "gold",
        AnnotationScore.author_id.in_(authors))
    yield from session.execute(stmt.execution_options(yield_per=5000))


def gold_authors(session: Session, organization_id: str, project_id: str) -> list[str]:
    stmt = scoped(select(AnnotationScore.author_id), AnnotationScore, organization_id).where(
        AnnotationScore.project_id == project_id, AnnotationScore.kind == "gold")
    return list(session.scalars(stmt.distinct()))


def _request_refresh(dialect: str) -> Any:
    # Only projects that use quality control (settings of their own, or a report asked for once) refresh by
    # themselves; the others pay nothing on submit beyond this statement.
    in_use = or_(
        scoped(select(QualitySettings.project_id), QualitySettings, bindparam("organization_id")).where(
            QualitySettings.project_id == bindparam("project_id")).exists(),
        scoped(select(QualityReport.project_id), QualityReport, bindparam("organization_id")).where(
            QualityReport.project_id == bindparam("project_id")).exists(),
        bindparam("always"))
    row = select(bindparam("project_id", type_=String(36)), bindparam("organization_id", type_=String(36)),
                 bindparam("job_id", type_=String(36)), bindparam("now", type_=PendingRefresh.requested_at.type)
                 ).where(in_use)
    columns = ["project_id", "organization_id", "job_id", "requested_at"]
    insert_ = postgresql_insert if dialect == "postgresql" else sqlite_insert
    table = cast(Table, PendingRefresh.__table__)  # a table INSERT: the ORM's bulk INSERT takes no SELECT
    statement = insert_(table).from_select(columns, row)
    # A pending row whose job will never start (it failed before its handler ran, or is gone) gives way.
    # (two comparisons, not IN: a Direct statement's SQL is fixed when compiled)
    # The row in conflict, named as text: as a column of the table it would join the subquery's FROM (an INSERT
    # does not correlate), and the check would ask whether any project's pending job is alive.
    pending_job: ColumnElement[str] = literal_column(f"{table.name}.job_id")
    alive = select(Job.id).where(Job.id == pending_job,
                                 or_(Job.state == JobState.queued, Job.state == JobState.running))
    return statement.on_conflict_do_update(
        index_elements=["project_id"], where=~alive.exists(),
        set_={"job_id": statement.excluded.job_id, "requested_at": statement.excluded.requested_at},
    ).returning(table.c.job_id)


_REQUEST_REFRESH = {"postgresql": Direct(_request_refresh("postgresql")), "sqlite": Direct(_request_refresh("sqlite"))}
_jobs = cast(Table, Job.__table__)
_JOB_COLUMNS = tuple(_jobs.c.keys())
_INSERT_JOB = Direct(insert(_jobs), _JOB_COLUMNS)


def _move_request_and_queue() -> Any:
    """On PostgreSQL, one statement: the gold cursor's move and the refresh's request as data-changing WITHs,
    and the job's row when the request was recorded (its id is the one recorded). Nobody waits for its outcome,
    so it goes with the COMMIT."""
    # unscoped: the request is scoped (`_request_refresh`), the job takes its id, and the gold cursor's move is
    # keyed by the organization and item given (`cursor_upsert`).
    requested = _request_refresh("postgresql").cte("requested")
    job = select(requested.c.job_id, *[bindparam(f"job_{name}", type_=_jobs.c[name].type)
                                       for name in _JOB_COLUMNS if name != "id"])
    return (insert(_jobs).from_select(list(_JOB_COLUMNS), job)
            .add_cte(cursor_upsert("postgresql").cte("gold_moved")))


_MOVE_REQUEST_AND_QUEUE = Direct(_move_request_and_queue())


def request_refresh(session: Session, organization_id: str, project_id: str, job_id: str, now: dt.datetime,
                    always: bool) -> bool:
    """Record `job_id` as the project's pending refresh; False when one is pending already (or, unless
    `always`, when the project does not use quality control). One statement: concurrent submissions queue
    one job between them (the primary key decides)."""
    params = {"project_id": project_id, "organization_id": organization_id, "job_id": job_id, "now": now,
              "always": always}
    return _REQUEST_REFRESH[session.get_bind().dialect.name].first(session, params) is not None


def met_and_queue_refresh(session: Session, organization_id: str, project_id: str, item_id: str, user_id: str,
                          job: dict[str, Any]) -> None:
    """After a submission: move the person's gold cursor past the item (`move_gold_cursor`), record the job
    (`jobs.service.queued_row`) as the project's pending refresh if it uses quality control and none is pending
    (`request_refresh`), and then write the job. On PostgreSQL one statement, deferred (`Direct.later`)."""
    if session.get_bind().dialect.name != "postgresql":
        move_gold_cursor(session, organization_id, item_id, user_id)
        if request_refresh(session, organization_id, project_id, job["id"], job["created_at"], False):
            _INSERT_JOB.run(session, job)
        return
    params = {"organization_id": organization_id, "project_id": project_id, "item_id": item_id, "user_id": user_id,
              "job_id": job["id"], "now": job["created_at"], "always": False,
              **{f"job_{name}": value for name, value in job.items() if name != "id"}}
    _MOVE_REQUEST_AND_QUEUE.later(session, params)


def pending_refresh(session: Session, organization_id: str, project_id: str) -> PendingRefresh | None:
    stmt = scoped(select(PendingRefresh), PendingRefresh, organization_id)
    return session.scalars(stmt.where(PendingRefresh.project_id == project_id)).first()


def end_pending_refresh(session: Session, organization_id: str, project_id: str, job_id: str) -> None:
    """The job has started: the next annotations queue a new one (which may overlap this one; both are safe)."""
    session.execute(delete(PendingRefresh).where(PendingRefresh.organization_id == organization_id,
                                                 PendingRefresh.project_id == project_id,
                                                 PendingRefresh.job_id == job_id))
