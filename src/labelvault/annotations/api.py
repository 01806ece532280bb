"""HTTP routes of the annotations domain."""

from __future__ import annotations

from fastapi import APIRouter, Header, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from labelvault.accounts import service as accounts
from labelvault.annotations import service
from labelvault.annotations.models import Annotation
from labelvault.annotations.schemas import (
    AnnotationIn,
    AnnotationOut,
    AnnotationWithReviewsOut,
    ItemDetailOut,
    ReviewOut,
    RevisionOut,
)
from labelvault.api.deps import DB, AnnotateGate, CanReadAllAnnotations, CanReadItems
from labelvault.api.responses import json_answer
from labelvault.items import service as items
from labelvault.items.schemas import ItemOut
from labelvault.ledger.recording import Recorder
from labelvault.projects import service as projects
from labelvault.projects.models import Project
from labelvault.security.policy import Principal
from labelvault.workforce.visibility import ItemView

router = APIRouter(prefix="/api/v1", tags=["annotations"])


@router.post("/items/{item_id}/annotations", response_model=AnnotationOut, status_code=201,
             responses={409: {"description": "Completed by others (answers kept as a draft), or a conflict."}})
async def save_annotation(
    item_id: str, body: AnnotationIn, gate: AnnotateGate,
    idempotency_key: str | None = Header(default=None, alias="Idempotency-Key"),
) -> Response:
    """Submit (or save as draft) your annotation of an item; a retry with the same Idempotency-Key is safe."""

    def ahead(session: Session, organization_id: str, user_id: str) -> None:
        service.submission_reads_ahead(session, organization_id, user_id, item_id)

    def work(session: Session, principal: Principal, _: None) -> Response:
        read = service.submission_reads(session, principal, item_id)
        item, project = read.item, read.project
        answers = service.answers_received(session, principal, project,
                                           items.view_of(session, principal, project, item), body.answers)
        gate.start_writing(session)
        result = service.save_annotation(
            session, principal, project, item, answers=answers, time_spent_ms=body.time_spent_ms,
            draft=body.draft, idempotency_key=idempotency_key, has_annotation=read.has_annotation,
        )
        if result.completed_by_others:
            # Committed all the same: the draft keeps what the person typed.
            return JSONResponse(status_code=409, content={
                "code": "item_completed",
                "message": "This item was completed by others while your lease was gone; your answers are kept "
                           "as a draft.",
                "details": {"annotation_id": result.annotation.id, "status": result.annotation.status}})
        shown = _shown(result.annotation, principal, project, session)
        if result.replayed:
            return json_answer(shown, 200, headers={"Idempotent-Replayed": "true"})
        return json_answer(shown, 201)

    return await gate.run(ahead, work)


def _shown(annotation: Annotation, principal: Principal, project: Project, session: Session,
           view: ItemView | None = None) -> AnnotationOut:
    """The annotation as this person may see it: without its author for reviewers of a blind project; for a
    vendor's people, with spans on the redacted text they were shown."""
    out = AnnotationOut.model_validate(annotation)
    if service.author_hidden(principal, project, annotation):
        out.author_id = None
    if principal.vendor_id is not None:
        if view is None:
            view = items.view_of(session, principal, project, items.get_item(session, principal, annotation.item_id))
        out.answers = service.answers_shown(session, principal, project, view, annotation.answers)
    return out


@router.get("/items/{item_id}/annotations", response_model=list[AnnotationOut])
def item_annotations(item_id: str, principal: CanReadItems, session: DB, ledger: Recorder) -> list[AnnotationOut]:
    """Annotations of an item: all of them for reviewers and managers, only your own for annotators."""
    item = items.get_item(session, principal, item_id)
    project = projects.get_project(session, principal, item.project_id)
    ledger.items(principal, item.project_id, [item], fields=["annotations"])
    view = items.view_of(session, principal, project, item)
    return [_shown(a, principal, project, session, view)
            for a in service.annotations_of_item(session, principal, item)]


@router.get("/items/{item_id}/detail", response_model=ItemDetailOut)
def item_detail(item_id: str, principal: CanReadAllAnnotations, session: DB, ledger: Recorder) -> ItemDetailOut:
    """The item with every annotation (drafts included) and their reviews, side by side (reviewers, managers)."""
    item = items.get_item(session, principal, item_id)
    project = projects.get_project(session, principal, item.project_id)
    detail = service.item_detail(session, item, principal)
    view = items.view_of(session, principal, project, item)
    ledger.items(principal, item.project_id, [item], fields=[*items.shown_fields(item, view), "annotations"])
    shown = [(_shown(a, principal, project, session, view), reviews) for a, reviews in detail.annotations]
    people = {a.author_id for a, _ in shown if a.author_id} | {r.reviewer_id for _, rs in shown for r in rs}
    names = accounts.names_of(session, principal.organization_id, people)
    return ItemDetailOut(item=ItemOut.of(detail.item, view), annotations=[
        AnnotationWithReviewsOut(**a.model_dump(), author_name=names.get(a.author_id or ""), reviews=[
            ReviewOut.model_validate(r).model_copy(update={"reviewer_name": names.get(r.reviewer_id)})
            for r in reviews])
        for a, reviews in shown])


@router.get("/annotations/{annotation_id}", response_model=AnnotationOut)
def get_annotation(annotation_id: str, principal: CanReadItems, session: DB, ledger: Recorder) -> AnnotationOut:
    annotation = service.get_annotation(session, principal, annotation_id)
    ledger.ids(principal, annotation.project_id, [annotation.item_id], ["annotations"])
    return _shown(annotation, principal, projects.get_project(session, principal, annotation.project_id), session)


@router.get("/annotations/{annotation_id}/revisions", response_model=list[RevisionOut])
def annotation_revisions(annotation_id: str, principal: CanReadItems, session: DB,
                         ledger: Recorder) -> list[RevisionOut]:
    annotation = service.get_annotation(session, principal, annotation_id)
    ledger.ids(principal, annotation.project_id, [annotation.item_id], ["annotations"])
    hidden = service.author_hidden(principal, projects.get_project(session, principal, annotation.project_id),
                                   annotation)
    return [RevisionOut.model_validate(r).model_copy(update={"author_id": None} if hidden else {})
            for r in service.revisions(session, annotation)]
