"""HTTP routes of work distribution: next item, heartbeat, release, skip, queue status."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from labelvault.api.deps import DB, AnnotateGate, CanAnnotate, CanReadAllAnnotations
from labelvault.api.responses import json_answer
from labelvault.assignments import service
from labelvault.assignments.schemas import AnnotatorStatus, LeaseOut, NextOut, ProjectStatusOut, SkipIn, SkipOut
from labelvault.items import service as items
from labelvault.items.schemas import ItemOut
from labelvault.ledger.recording import AccessRecorder
from labelvault.projects import service as projects
from labelvault.security.policy import Principal

router = APIRouter(prefix="/api/v1", tags=["distribution"])


@router.post("/projects/{project_id}/next", response_model=NextOut,
             responses={204: {"description": "Nothing left for you in this project."}})
async def next_item(project_id: str, gate: AnnotateGate) -> Response:
    """Your current lease (renewed) or a lease on the next item for you; 204 when there is none."""

    def ahead(session: Session, organization_id: str, user_id: str) -> dt.datetime:
        return service.next_item_ahead(session, organization_id, user_id, project_id)

    def work(session: Session, principal: Principal, now: dt.datetime) -> Response:
        project, entitled = service.project_and_entitlement(session, principal, project_id)
        gate.start_writing(session)
        claim = service.next_item(session, principal, project, entitled, now)
        if claim.lease is None:
            return Response(status_code=204)
        item = claim.item or items.get_item(session, principal, claim.lease.item_id)
        view = items.view_of(session, principal, project, item)
        AccessRecorder(gate.request, session).items(principal, project.id, [item],
                                                    fields=items.shown_fields(item, view))
        return json_answer(NextOut(lease=LeaseOut.model_validate(claim.lease), item=ItemOut.of(item, view)))

    return await gate.run(ahead, work)


@router.post("/leases/{lease_id}/heartbeat", response_model=LeaseOut)
def heartbeat(lease_id: str, principal: CanAnnotate, session: DB) -> LeaseOut:
    """Keep your lease alive while you work."""
    lease = service.get_lease(session, principal, lease_id)
    project = projects.get_project(session, principal, lease.project_id)
    return LeaseOut.model_validate(service.heartbeat(session, project, lease))


@router.delete("/leases/{lease_id}", status_code=204)
def release(lease_id: str, principal: CanAnnotate, session: DB) -> None:
    """Give the item back to the queue."""
    service.release(session, service.get_lease(session, principal, lease_id))


@router.post("/items/{item_id}/skip", response_model=SkipOut, status_code=201)
def skip(item_id: str, body: SkipIn, principal: CanAnnotate, session: DB) -> SkipOut:
    """Skip an item with a reason; it is not offered to you again."""
    item = items.get_item(session, principal, item_id)
    project = projects.get_project(session, principal, item.project_id)
    return SkipOut.model_validate(service.skip(session, principal, project, item, body.reason))


@router.get("/projects/{project_id}/status", response_model=ProjectStatusOut)
def project_status(project_id: str, principal: CanReadAllAnnotations, session: DB) -> ProjectStatusOut:
    """Items per state and, per annotator, submitted, drafts, skipped and live leases."""
    project = projects.get_project(session, principal, project_id)
    counts, people = service.project_status(session, project, principal)
    return ProjectStatusOut(project_id=project.id, items=counts,
                            annotators=[AnnotatorStatus(**vars(p)) for p in people])
