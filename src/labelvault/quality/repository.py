"""Every query of the quality domain."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select
from sqlalchemy.orm import Session

from labelvault.annotations.models import Annotation, AnnotationStatus
from labelvault.crypto.content import answers_field, open_json, project_keys
from labelvault.db.scope import scoped
from labelvault.quality.models import (
    AnnotationScore,
    ExamAttempt,
    ExamItem,
    GoldAnswer,
    ItemAggregate,
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


def gold_of_items(session: Session, organization_id: str, item_ids: Sequence[str]) -> dict[str, GoldAnswer]:
    stmt = scoped(select(GoldAnswer), GoldAnswer, organization_id).where(GoldAnswer.item_id.in_(item_ids))
    return {g.item_id: g for g in session.scalars(stmt)}


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
                       rows: list[dict[str, Any]]) -> None:
    session.execute(delete(ItemAggregate).where(ItemAggregate.item_id.in_(item_ids),
                                                ItemAggregate.question.in_(questions)))
    if rows:
        session.execute(insert(ItemAggregate), rows)


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
_WORK_GATE = select(  # unscoped: made of the four scoped statements above
    _ACTIVE_SUSPENSION, func.coalesce(_EXAM_REQUIRED, False), _PASSED_EXAM, func.coalesce(_GOLD_RATE, 0.0))


def work_gate(session: Session, organization_id: str, project_id: str,
              user_id: str) -> tuple[bool, bool, bool, float]:
    """(suspended, exam required, exam passed, gold rate) in one round trip: this runs on every claim."""
    params = {"organization_id": organization_id, "project_id": project_id, "user_id": user_id}
    suspended, required, passed, gold_rate = session.execute(_WORK_GATE, params).one()
    return bool(suspended), bool(required), bool(passed), float(gold_rate)


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
