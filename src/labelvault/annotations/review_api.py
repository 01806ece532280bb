"""HTTP routes of review: the review queue, decisions, and rejected work returned to its author."""

from __future__ import annotations

from fastapi import APIRouter, Header, Response
from pydantic import BaseModel

from labelvault.accounts import service as accounts
from labelvault.annotations import review, service
from labelvault.annotations.schemas import AnnotationOut, ReviewAnnotationOut, ReviewIn, ReviewOut
from labelvault.api.deps import DB, CanAnnotate, CanReadItems, CanReview
from labelvault.assignments import service as assignments
from labelvault.assignments.schemas import LeaseOut
from labelvault.errors import NotFound
from labelvault.items import service as items
from labelvault.items.schemas import ItemOut
from labelvault.projects import service as projects

router = APIRouter(prefix="/api/v1", tags=["review"])


class ReviewTaskOut(BaseModel):
    lease: LeaseOut
    item: ItemOut
    annotation: ReviewAnnotationOut


@router.post("/projects/{project_id}/review/next", response_model=ReviewTaskOut,
             responses={204: {"description": "Nothing waits for your review."}})
def next_review(project_id: str, principal: CanReview, session: DB) -> ReviewTaskOut | Response:
    """Your current review lease (renewed) or the next annotation waiting for review (never your own)."""
    project = projects.get_project(session, principal, project_id)
    claim = assignments.next_review(session, principal, project)
    if claim.lease is None or claim.lease.annotation_id is None:
        return Response(status_code=204)
    annotation = service.get_annotation(session, principal, claim.lease.annotation_id)
    item = items.get_item(session, principal, annotation.item_id)
    view = items.view_of(session, principal, project, item)
    author = None if project.blind_review else annotation.author_id
    shown = ReviewAnnotationOut(
        id=annotation.id, author_id=author,
        author_name=accounts.names_of(session, principal.organization_id, [author]).get(author) if author else None,
        schema_version=annotation.schema_version,
        answers=service.answers_shown(session, principal, project, view, annotation.answers),
        time_spent_ms=annotation.time_spent_ms, revision_count=annotation.revision_count,
        submitted_at=annotation.submitted_at,
    )
    return ReviewTaskOut(lease=LeaseOut.model_validate(claim.lease), item=ItemOut.of(item, view),
                         annotation=shown)


@router.post("/annotations/{annotation_id}/review", response_model=ReviewOut, status_code=201)
def decide(
    annotation_id: str, body: ReviewIn, principal: CanReview, session: DB, response: Response,
    idempotency_key: str | None = Header(default=None, alias="Idempotency-Key"),
) -> ReviewOut:
    """Accept, reject with a comment, or fix an annotation; a retry with the same Idempotency-Key is safe."""
    annotation = service.get_annotation(session, principal, annotation_id)
    item = items.get_item(session, principal, annotation.item_id)
    project = projects.get_project(session, principal, annotation.project_id)
    answers = body.answers
    if answers is not None:
        view = items.view_of(session, principal, project, item)
        answers = service.answers_received(session, principal, project, view, answers)
    decided = review.decide(session, principal, project, item, annotation, decision=body.decision,
                            comment=body.comment, answers=answers, idempotency_key=idempotency_key)
    if decided.replayed:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    return ReviewOut.model_validate(decided.review)


@router.get("/annotations/{annotation_id}/reviews", response_model=list[ReviewOut])
def reviews(annotation_id: str, principal: CanReadItems, session: DB) -> list[ReviewOut]:
    """Review decisions on an annotation (its author and reviewers may read them)."""
    annotation = service.get_annotation(session, principal, annotation_id)
    return [ReviewOut.model_validate(r) for r in review.reviews_of(session, annotation)]


@router.get("/projects/{project_id}/returned", response_model=list[AnnotationOut])
def returned(project_id: str, principal: CanAnnotate, session: DB) -> list[AnnotationOut]:
    """Your annotations rejected by review, with the reviewer's comment: fix and submit them again."""
    project = projects.get_project(session, principal, project_id)
    shown = []
    for annotation in review.returned_to(session, principal, project):
        out = AnnotationOut.model_validate(annotation)
        if principal.vendor_id is not None:  # spans on the redacted text the vendor's person was shown
            try:
                item = items.get_item(session, principal, annotation.item_id)
            except NotFound:
                continue  # routed away from the vendor since: the owner's people take it from here
            view = items.view_of(session, principal, project, item)
            out.answers = service.answers_shown(session, principal, project, view, annotation.answers)
        shown.append(out)
    return shown
