"""Qualification exams: known-answer questions a person must pass before a project hands them work.

Exam questions are not items of the project: they never enter the queue, so taking the exam does not
spend a gold item the person would later meet in their work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from labelvault.annotations.answers import check_answers
from labelvault.errors import Conflict, InvalidInput
from labelvault.items.payload import ItemProblem, parse_item
from labelvault.projects import service as projects
from labelvault.projects.models import Project
from labelvault.quality import repository as repo
from labelvault.quality.models import ExamAttempt, ExamItem
from labelvault.quality.scoring import Tolerances, score_answers
from labelvault.quality.service import settings_of
from labelvault.security.policy import Principal


@dataclass(frozen=True)
class ExamStatus:
    items: list[ExamItem]
    threshold: float
    attempts_left: int
    passed: bool


def add_exam_item(session: Session, principal: Principal, project: Project, data: dict[str, Any],
                  answers: dict[str, Any]) -> ExamItem:
    """Add a question to the project's exam: item data checked like an import, answers like a draft."""
    schema = projects.current_label_schema(session, project)
    try:
        parsed = parse_item({"data": data}, schema)
    except ItemProblem as problem:
        raise InvalidInput(f"The item data do not fit the schema: {problem.field} {problem.reason}",
                           details={"field": problem.field}) from None
    if not answers:
        raise InvalidInput("Give the known answer of at least one question.", details={"field": "answers"})
    check_answers(schema, answers, parsed.data, complete=False)
    row = ExamItem(organization_id=project.organization_id, project_id=project.id, data=parsed.data,
                   answers=answers, created_by_id=principal.user_id)
    session.add(row)
    session.flush()
    return row


def exam_items(session: Session, project: Project) -> list[ExamItem]:
    return list(repo.exam_items(session, project.organization_id, project.id))


def exam_status(session: Session, principal: Principal, project: Project) -> ExamStatus:
    """The exam as the person sees it (questions without answers), their attempts left and whether they passed."""
    settings = settings_of(session, project)
    attempts = repo.exam_attempts(session, project.organization_id, project.id, principal.user_id)
    return ExamStatus(exam_items(session, project), settings.qualification_threshold,
                      max(settings.qualification_attempts - len(attempts), 0), any(a.passed for a in attempts))


def take_exam(session: Session, principal: Principal, project: Project,
              answers: dict[str, dict[str, Any]]) -> ExamAttempt:
    """Score one attempt: the mean, over the exam's questions, of each answer's score against the known one."""
    status = exam_status(session, principal, project)
    if not status.items:
        raise Conflict("This project has no qualification exam.", code="no_exam")
    if status.passed:
        raise Conflict("You passed this exam already.", code="exam_passed")
    if status.attempts_left == 0:
        raise Conflict("You have no attempts left at this exam; a manager may add questions or attempts.",
                       code="no_attempts_left")
    settings = settings_of(session, project)
    schema = projects.current_label_schema(session, project)
    tolerances = Tolerances(rating=settings.rating_tolerance, box_iou=settings.box_iou_threshold)
    scores: dict[str, float | None] = {}
    for item in status.items:
        given = answers.get(item.id)
        if given is None:
            raise InvalidInput(f"Answer every question of the exam; {item.id} is missing.", details={"field": item.id})
        check_answers(schema, given, item.data, complete=True)
        scores[item.id] = score_answers(schema, given, item.answers, tolerances)[0]
    counted = [s for s in scores.values() if s is not None]
    score = sum(counted) / len(counted) if counted else 0.0
    attempt = ExamAttempt(organization_id=project.organization_id, project_id=project.id,
                          user_id=principal.user_id, answers=answers, scores=scores, score=round(score, 6),
                          threshold=status.threshold, passed=score >= status.threshold)
    session.add(attempt)
    session.flush()
    return attempt


def attempts(session: Session, project: Project) -> list[ExamAttempt]:
    """Every attempt at the project's exam (who, when, score, verdict)."""
    return list(repo.exam_attempts(session, project.organization_id, project.id))
