"""Annotation rules: submit and save drafts (validated against the schema), revisions, idempotent retries."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from labelvault.annotations import repository as repo
from labelvault.annotations.answers import check_answers
from labelvault.annotations.models import (
    Annotation,
    AnnotationRevision,
    AnnotationStatus,
    IdempotencyRecord,
    Review,
)
from labelvault.assignments import service as assignments
from labelvault.errors import ConcurrentWrite, Conflict, InvalidInput, NotFound
from labelvault.items import service as items
from labelvault.items.models import Item
from labelvault.kit.clock import utcnow
from labelvault.kit.ids import new_id
from labelvault.projects import service as projects
from labelvault.projects.models import Project
from labelvault.quality import service as quality
from labelvault.security.policy import Action, Principal, allowed
from labelvault.workforce import visibility
from labelvault.workforce.visibility import ItemView

MAX_TIME_SPENT_MS = 24 * 3600 * 1000
MAX_KEY = 200


@dataclass
class Submitted:
    annotation: Annotation
    replayed: bool
    # The item was completed by others (lease lost): the answers were kept as a draft instead.
    completed_by_others: bool = False


def _fingerprint(item_id: str, answers: dict[str, Any], draft: bool, time_spent_ms: int) -> str:
    body = orjson.dumps({"item": item_id, "answers": answers, "draft": draft, "time_spent_ms": time_spent_ms},
                        option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(body).hexdigest()


def _replay(session: Session, principal: Principal, key: str, fingerprint: str) -> Annotation | None:
    record = repo.idempotency_record(session, principal.user_id, key)
    if record is None:
        return None
    if record.fingerprint != fingerprint:
        raise Conflict(
            "This Idempotency-Key was already used for a different request; use a new key for new work.",
            details={"field": "Idempotency-Key"},
        )
    return repo.annotation(session, principal.organization_id, record.resource_id)


@dataclass
class SubmissionReads:
    """What a submission reads first, in one statement (`submission_reads`)."""
    item: Item
    project: Project
    has_annotation: bool  # whether the person has an annotation of the item (a draft or a submitted one)


def submission_reads(session: Session, principal: Principal, item_id: str) -> SubmissionReads:
    """The item, if the principal may see it, its project (both plain objects outside the session) and
    whether they have an annotation of it already: one statement, sent ahead (`submission_reads_ahead`). A
    draft the same person saves after this read (the labeling page saves drafts as they work) is met by the
    new annotation's INSERT as a `ConcurrentWrite`; the route then runs again and finds it."""
    found = repo.submission_reads(session, principal.organization_id, item_id, principal.user_id)
    item = items.visible(session, principal, found[0] if found is not None else None)
    assert found is not None
    return SubmissionReads(item, projects.visible(session, principal, found[1]), found[2])


def submission_reads_ahead(session: Session, organization_id: str, user_id: str, item_id: str) -> None:
    """Send the read of `submission_reads` for this person of this organization ahead (`db.direct.Direct.ahead`:
    PostgreSQL), to go in the round trip of the credential check (see `api.deps.Gate`)."""
    repo.submission_reads_ahead(session, organization_id, item_id, user_id)


def save_annotation(
    session: Session, principal: Principal, project: Project, item: Item, *, answers: dict[str, Any],
    time_spent_ms: int = 0, draft: bool = False, idempotency_key: str | None = None,
    has_annotation: bool | None = None,
) -> Submitted:
    """Submit (or save as draft) the principal's annotation of `item`.

    Answers are checked against the project's current schema version. Changing a submitted
    annotation keeps the earlier version as a revision. A retry with the same idempotency key
    returns the first result and writes nothing.
    """
    if not isinstance(answers, dict):
        raise InvalidInput("answers must be an object keyed by question name.", details={"field": "answers"})
    if not 0 <= time_spent_ms <= MAX_TIME_SPENT_MS:
        raise InvalidInput("time_spent_ms must be between 0 and 86,400,000.",
                           details={"field": "time_spent_ms"})
    fingerprint = _fingerprint(item.id, answers, draft, time_spent_ms)
    if idempotency_key is not None:
        if not 0 < len(idempotency_key) <= MAX_KEY:
            raise InvalidInput(f"Idempotency-Key must have 1 to {MAX_KEY} characters.",
                               details={"field": "Idempotency-Key"})
        replayed = _replay(session, principal, idempotency_key, fingerprint)
        if replayed is not None:
            return Submitted(replayed, True)
    check_answers(projects.current_label_schema(session, project), answers, item.data, complete=not draft)
    schema_version = project.schema_version
    now = utcnow()
    status = AnnotationStatus.draft if draft else AnnotationStatus.submitted
    current = repo.annotation_of_author(session, principal.organization_id, item.id, principal.user_id,
                                        known=has_annotation)
    newly_submitted = False
    completed_by_others = False
    first_submit = not draft and (current is None or current.status == AnnotationStatus.draft)
    slot = assignments.take_slot_for_submit(session, principal, project, item) if first_submit else None
    if first_submit and slot is None:
        # Nothing typed is lost: the answers stay with their author as a draft.
        completed_by_others, draft, status = True, True, AnnotationStatus.draft
    if first_submit and not completed_by_others:
        review_status = assignments.review_status_for_new_submission(session, principal, project)
    created = current is None
    if current is None:
        current = Annotation(
            id=new_id(), organization_id=item.organization_id, project_id=item.project_id, item_id=item.id,
            author_id=principal.user_id, vendor_id=principal.vendor_id, schema_version=schema_version,
            answers=answers, status=status, time_spent_ms=time_spent_ms, revision_count=0,
            review_status=review_status if first_submit and not completed_by_others else None,
            review_comment=None, created_at=now, updated_at=now, submitted_at=None if draft else now,
        )
        newly_submitted = not draft
    else:
        if draft and current.status == AnnotationStatus.submitted:
            raise Conflict("This annotation is submitted already; submit the change instead of a draft.",
                           details={"annotation_id": current.id})
        if current.status == AnnotationStatus.submitted:
            keep_revision(session, current)
        newly_submitted = current.status == AnnotationStatus.draft and not draft
        if not draft and current.status == AnnotationStatus.submitted and current.review_status == "rejected":
            # The author fixed a rejected annotation: it goes back to the reviewers (their vendor's first).
            current.review_status = assignments.review_status_for_correction(session, principal)
            current.review_comment = None
        current.answers = answers
        current.schema_version = schema_version
        current.status = status
        current.time_spent_ms += time_spent_ms
        current.updated_at = now
        if not draft:
            current.submitted_at = now
        if first_submit and not completed_by_others:
            current.review_status = review_status
    if newly_submitted:
        repo.count_submitted(session, item.id, project.default_overlap,
                             lease_taken=slot == assignments.Slot.lease)
    if not draft:
        quality.annotation_submitted(session, principal, project, item.id)
    try:
        if created:
            repo.insert_annotation(session, current, _saved_twice())  # (written by a statement of its own)
        session.flush()
        if current.review_status is not None and not draft:
            repo.refresh_item_review_state(session, item.id)
        if completed_by_others:
            return Submitted(current, False, completed_by_others=True)
        if idempotency_key is not None:
            session.add(IdempotencyRecord(
                user_id=principal.user_id, key=idempotency_key, scope="annotation", fingerprint=fingerprint,
                resource_id=current.id,
            ))
            session.flush()
    except IntegrityError:
        raise _saved_twice() from None
    return Submitted(current, False)


def _saved_twice() -> ConcurrentWrite:
    return ConcurrentWrite("The same annotation was saved at the same moment by another request; retry.")


def keep_revision(session: Session, annotation: Annotation) -> None:
    """Keep the annotation as it is now as its next revision, before it is changed."""
    annotation.revision_count += 1
    session.add(AnnotationRevision(
        organization_id=annotation.organization_id, project_id=annotation.project_id,
        annotation_id=annotation.id, item_id=annotation.item_id, number=annotation.revision_count,
        author_id=annotation.author_id, schema_version=annotation.schema_version, answers=annotation.answers,
        status=annotation.status, time_spent_ms=annotation.time_spent_ms, made_at=annotation.updated_at,
    ))


def get_annotation(session: Session, principal: Principal, annotation_id: str) -> Annotation:
    """Annotation is blind: annotators see only their own."""
    annotation = repo.annotation(session, principal.organization_id, annotation_id)
    if annotation is None:
        raise NotFound("annotation")
    if annotation.author_id != principal.user_id and not allowed(principal, Action.read_all_annotations):
        raise NotFound("annotation")
    if principal.vendor_id is not None and annotation.vendor_id != principal.vendor_id:
        raise NotFound("annotation")  # a vendor's reviewers read only their own vendor's work
    return annotation


def answers_received(session: Session, principal: Principal, project: Project, view: ItemView | None,
                     answers: dict[str, Any]) -> dict[str, Any]:
    """Answers as stored: a vendor's spans on redacted text are moved to the original offsets."""
    if view is None:
        return answers
    return visibility.answers_to_original(principal, projects.current_label_schema(session, project), view, answers)


def answers_shown(session: Session, principal: Principal, project: Project, view: ItemView | None,
                  answers: dict[str, Any]) -> dict[str, Any]:
    """Stored answers as a vendor's person sees them (spans on the redacted text, hidden fields' answers out)."""
    if view is None:
        return answers
    return visibility.answers_for_view(principal, projects.current_label_schema(session, project), view, answers)


def refresh_review_states(session: Session, item_ids: list[str]) -> None:
    """Derive the review state of completed items again (after their overlap changed)."""
    for item_id in item_ids:
        repo.refresh_item_review_state(session, item_id)
    session.flush()


def author_hidden(principal: Principal, project: Project, annotation: Annotation) -> bool:
    """Reviewers of a project that reviews blind do not learn who wrote an annotation (managers do)."""
    return (project.blind_review and annotation.author_id != principal.user_id
            and not allowed(principal, Action.manage_items))


def annotations_of_item(session: Session, principal: Principal, item: Item) -> list[Annotation]:
    only_own = None if allowed(principal, Action.read_all_annotations) else principal.user_id
    found = repo.annotations_of_item(session, principal.organization_id, item.id, only_own)
    return [a for a in found if principal.vendor_id is None or a.vendor_id == principal.vendor_id]


@dataclass
class ItemDetail:
    item: Item
    annotations: list[tuple[Annotation, list[Review]]]


def item_detail(session: Session, item: Item, principal: Principal | None = None) -> ItemDetail:
    """The item with every annotation (drafts included) and each one's review decisions: three queries
    whatever the number of annotations. A vendor's reviewers get only their own vendor's annotations."""
    vendor_id = principal.vendor_id if principal is not None else None
    annotations = [a for a in repo.annotations_of_item(session, item.organization_id, item.id, None)
                   if vendor_id is None or a.vendor_id == vendor_id]
    decisions: dict[str, list[Review]] = {}
    for decision in repo.reviews_of_item(session, item.organization_id, item.id):
        decisions.setdefault(decision.annotation_id, []).append(decision)
    return ItemDetail(item, [(a, decisions.get(a.id, [])) for a in annotations])


def revisions(session: Session, annotation: Annotation) -> list[AnnotationRevision]:
    return list(repo.revisions(session, annotation.organization_id, annotation.id))
