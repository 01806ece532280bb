"""Review rules: accept, reject with a comment (back to the author), or fix (the original kept as a revision).

Nobody reviews their own work; every decision is recorded with who and when; a retried decision with the
same idempotency key is answered with the first one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.orm import Session

from labelvault.annotations import repository as repo
from labelvault.annotations.answers import check_answers
from labelvault.annotations.models import (
    Annotation,
    IdempotencyRecord,
    Review,
    ReviewDecision,
    ReviewStatus,
)
from labelvault.annotations.service import keep_revision
from labelvault.assignments import service as assignments
from labelvault.errors import Conflict, Forbidden, InvalidInput
from labelvault.items.models import Item
from labelvault.kit.clock import utcnow
from labelvault.projects import service as projects
from labelvault.projects.models import Project
from labelvault.quality import service as quality
from labelvault.security.policy import Principal, is_vendor

STATUS_AFTER = {ReviewDecision.accept: "accepted", ReviewDecision.reject: "rejected", ReviewDecision.fix: "fixed"}
MAX_COMMENT = 5000


@dataclass
class Decided:
    review: Review
    replayed: bool


def _fingerprint(annotation_id: str, decision: str, comment: str, answers: Any) -> str:
    body = {"annotation": annotation_id, "decision": decision, "comment": comment, "answers": answers}
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def decide(
    session: Session, principal: Principal, project: Project, item: Item, annotation: Annotation, *,
    decision: str, comment: str = "", answers: dict[str, Any] | None = None, idempotency_key: str | None = None,
) -> Decided:
    """Record a review decision on a submitted annotation."""
    fingerprint = _fingerprint(annotation.id, decision, comment, answers)
    if idempotency_key is not None:
        record = repo.idempotency_record(session, principal.user_id, idempotency_key)
        if record is not None:
            if record.fingerprint != fingerprint or record.scope != "review":
                raise Conflict("This Idempotency-Key was already used for a different request.",
                               details={"field": "Idempotency-Key"})
            review = repo.review(session, principal.organization_id, record.resource_id)
            if review is not None:
                return Decided(review, True)
    if decision not in ReviewDecision.all:
        raise InvalidInput(f"decision must be one of {list(ReviewDecision.all)}.", details={"field": "decision"})
    if annotation.author_id == principal.user_id:
        raise Forbidden("Nobody reviews their own work.", details={"annotation_id": annotation.id})
    if annotation.status != "submitted":
        raise Conflict("Only submitted annotations are reviewed.", details={"annotation_id": annotation.id})
    _check_stage(principal, annotation)
    comment = comment.strip()
    if len(comment) > MAX_COMMENT:
        raise InvalidInput(f"The comment is longer than {MAX_COMMENT} characters.", details={"field": "comment"})
    if decision == ReviewDecision.reject and not comment:
        raise InvalidInput("Say what is wrong: a rejection needs a comment for the author.",
                           details={"field": "comment"})
    if decision == ReviewDecision.fix:
        if not isinstance(answers, dict):
            raise InvalidInput("A fix carries the corrected answers.", details={"field": "answers"})
        schema_row = projects.get_schema(session, project)
        check_answers(projects.schema_from_row(schema_row), answers, item.data, complete=True)
    elif answers is not None:
        raise InvalidInput("Only a fix carries answers.", details={"field": "answers"})
    # Two reviewers deciding at once: the second waits for the first and then sees its decision.
    repo.lock_annotation(session, annotation)
    _check_stage(principal, annotation)
    assignments.hold_for_decision(session, principal, project, annotation.id)
    now = utcnow()
    if decision == ReviewDecision.fix:
        assert answers is not None
        keep_revision(session, annotation)
        annotation.answers = answers
        annotation.schema_version = schema_row.version
        annotation.updated_at = now
    annotation.review_status = _status_after(project, annotation, decision)
    annotation.review_comment = comment or None
    review = Review(organization_id=annotation.organization_id, project_id=annotation.project_id,
                    item_id=annotation.item_id, annotation_id=annotation.id, reviewer_id=principal.user_id,
                    decision=decision, comment=comment, answers=answers, created_at=now)
    session.add(review)
    session.flush()
    repo.refresh_item_review_state(session, item.id)
    quality.annotation_reviewed(session, principal, project)
    if idempotency_key is not None:
        session.add(IdempotencyRecord(user_id=principal.user_id, key=idempotency_key, scope="review",
                                      fingerprint=fingerprint, resource_id=review.id))
        session.flush()
    return Decided(review, False)


def _check_stage(principal: Principal, annotation: Annotation) -> None:
    """A vendor's reviewers decide on their vendor's work waiting for the vendor's review; the owner's reviewers
    on work in the owner's review (or never chosen for review)."""
    waiting_for = (ReviewStatus.vendor_review,) if is_vendor(principal) else (ReviewStatus.pending, None)
    if annotation.review_status in waiting_for:
        return
    details = {"annotation_id": annotation.id, "review_status": annotation.review_status}
    if annotation.review_status == ReviewStatus.vendor_review:
        raise Conflict("This annotation waits for its vendor's own review first.", code="vendor_review_first",
                       details=details)
    if annotation.review_status == ReviewStatus.pending:
        raise Conflict("This annotation waits for the owner's review.", details=details)
    raise Conflict(f"This annotation was reviewed already ({annotation.review_status}).", details=details)


def _status_after(project: Project, annotation: Annotation, decision: str) -> str:
    """Accepted or fixed by its vendor's reviewer, work goes on to the owner's review when the project's rule
    picks it; a rejection goes back to the author at either stage."""
    if annotation.review_status == ReviewStatus.vendor_review and decision != ReviewDecision.reject:
        return assignments.owner_review_status(project) or STATUS_AFTER[decision]
    return STATUS_AFTER[decision]


def reviews_of(session: Session, annotation: Annotation) -> list[Review]:
    return list(repo.reviews_of_annotation(session, annotation.organization_id, annotation.id))


def returned_to(session: Session, principal: Principal, project: Project) -> list[Annotation]:
    """The principal's annotations rejected by review, waiting for them to fix and resubmit."""
    return list(repo.rejected_of_author(session, principal.organization_id, project.id, principal.user_id))
