"""Every query of the annotations domain."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from sqlalchemy import Table, bindparam, case, exists, func, insert, select, update
from sqlalchemy.orm import Session

from labelvault.annotations.models import Annotation, AnnotationRevision, IdempotencyRecord, Review, ReviewStatus
from labelvault.crypto.content import open_sealed, seal_pending
from labelvault.db.direct import Direct, plain
from labelvault.db.scope import scoped
from labelvault.items.models import Item
from labelvault.projects.models import Project
from labelvault.quality.models import GoldAnswer


def lock_annotation(session: Session, annotation: Annotation) -> None:
    """Lock the annotation's row for this transaction and reload it (PostgreSQL; SQLite writers are serial)."""
    stmt = (scoped(select(Annotation), Annotation, annotation.organization_id)
            .where(Annotation.id == annotation.id).with_for_update().execution_options(populate_existing=True))
    session.scalars(stmt).first()


def annotation(session: Session, organization_id: str, annotation_id: str) -> Annotation | None:
    stmt = scoped(select(Annotation), Annotation, organization_id).where(Annotation.id == annotation_id)
    return session.scalars(stmt).first()


_ANNOTATION_OF_AUTHOR = scoped(select(Annotation), Annotation, bindparam("organization_id")).where(
    Annotation.item_id == bindparam("item_id"), Annotation.author_id == bindparam("author_id")
).with_for_update()


_HAS_ANNOTATION_OF_AUTHOR = Direct(scoped(select(Annotation.id), Annotation, bindparam("organization_id")).where(
    Annotation.item_id == bindparam("item_id"), Annotation.author_id == bindparam("author_id")
).with_for_update())


def annotation_of_author(
    session: Session, organization_id: str, item_id: str, author_id: str, known: bool | None = None
) -> Annotation | None:
    """The author's annotation of the item, row-locked, loaded for change. Most submissions are a first one:
    a short statement finds that there is none, before the ORM is asked to load one (`known`: whether one was
    found already, by `submission_reads`)."""
    params = {"organization_id": organization_id, "item_id": item_id, "author_id": author_id}
    if known is False or (known is None and _HAS_ANNOTATION_OF_AUTHOR.first(session, params) is None):
        return None
    return session.scalars(_ANNOTATION_OF_AUTHOR, params).first()


_items = cast(Table, Item.__table__)
_projects = cast(Table, Project.__table__)
# What a submission reads first: the item, its project's settings and whether the author has an annotation of it
# (not locked: the annotation itself is loaded with its lock when there is one).
_SUBMISSION_READS = Direct(
    scoped(select(_items, _projects, scoped(select(Annotation.id), Annotation, bindparam("organization_id")).where(
        Annotation.item_id == _items.c.id, Annotation.author_id == bindparam("author_id")).exists()),
        Item, bindparam("organization_id"))
    .join(_projects, _projects.c.id == _items.c.project_id).where(_items.c.id == bindparam("item_id")))


def submission_reads(session: Session, organization_id: str, item_id: str,
                     author_id: str) -> tuple[Item, Project, bool] | None:
    """The item (its content opened) and its project as plain objects outside the session (`db.direct.plain`:
    the route only reads them, and loading them through the ORM cost more than the statement), and whether the
    author has an annotation of it: one statement. None without such an item."""
    row = _SUBMISSION_READS.first(session, _submission_params(organization_id, item_id, author_id))
    if row is None:
        return None
    width = len(_items.c)
    return (open_sealed(session, plain(Item, row[:width])), plain(Project, row[width:-1]), bool(row[-1]))


def submission_reads_ahead(session: Session, organization_id: str, item_id: str, author_id: str) -> None:
    """Send `submission_reads`' read ahead (`Direct.ahead`)."""
    _SUBMISSION_READS.ahead(session, _submission_params(organization_id, item_id, author_id))


def _submission_params(organization_id: str, item_id: str, author_id: str) -> dict[str, str]:
    return {"organization_id": organization_id, "item_id": item_id, "author_id": author_id}


def annotations_of_item(
    session: Session, organization_id: str, item_id: str, author_id: str | None
) -> Sequence[Annotation]:
    stmt = scoped(select(Annotation), Annotation, organization_id).where(Annotation.item_id == item_id)
    if author_id is not None:
        stmt = stmt.where(Annotation.author_id == author_id)
    return session.scalars(stmt.order_by(Annotation.id)).all()


def revisions(session: Session, organization_id: str, annotation_id: str) -> Sequence[AnnotationRevision]:
    stmt = scoped(select(AnnotationRevision), AnnotationRevision, organization_id).where(
        AnnotationRevision.annotation_id == annotation_id
    )
    return session.scalars(stmt.order_by(AnnotationRevision.number)).all()


def idempotency_record(session: Session, user_id: str, key: str) -> IdempotencyRecord | None:
    # unscoped: keyed by the acting user, who is already authenticated; the annotation it names is
    # loaded again through scoped().
    stmt = select(IdempotencyRecord).where(IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key)
    return session.scalars(stmt).first()


# On the table, not the mapped class: the ORM's bulk UPDATE would first look for the item among the
# session's objects to update them too, which costs several times the UPDATE itself; no caller reads the
# counters back from the loaded item.
_IS_GOLD = exists().where(GoldAnswer.item_id == _items.c.id)
_OVERLAP = func.coalesce(_items.c.overlap, bindparam("default_overlap"))
_COUNT_SUBMITTED = Direct(
    update(_items)
    .where(_items.c.id == bindparam("item_id"))
    .values(
        # A gold item's count and state move like a real item's, up to its overlap (the gold claim starts a
        # full one again): to its annotators it looks like any item. Its true answers are the quality domain's.
        annotation_count=_items.c.annotation_count + case((_IS_GOLD & (_items.c.annotation_count >= _OVERLAP), 0),
                                                          else_=1),
        state=case((_items.c.annotation_count + 1 >= _OVERLAP, "completed"), else_="in_progress"),
        leased=_items.c.leased - bindparam("leases_taken"),
    )
)


_ANNOTATION_COLUMNS = tuple(cast(Table, Annotation.__table__).c.keys())
_INSERT_ANNOTATION = Direct(insert(cast(Table, Annotation.__table__)), _ANNOTATION_COLUMNS)


def insert_annotation(session: Session, annotation: Annotation, conflict: Exception) -> None:
    """Write a new annotation (every column set, its answers sealed here) in one INSERT: the unit of work's
    flush of one new object cost more than the statement. The object stays outside the session. Deferred (sent
    with the transaction's next statement or its COMMIT); a duplicate raises `conflict`."""
    seal_pending(session, annotation)
    _INSERT_ANNOTATION.later(session, {name: getattr(annotation, name) for name in _ANNOTATION_COLUMNS}, conflict)


def count_submitted(session: Session, item_id: str, default_overlap: int, *, lease_taken: bool) -> None:
    """Count one more submitted annotation on the item and derive its state, in one atomic UPDATE; with
    `lease_taken`, the submission took over its author's lease, and the item has one lease fewer."""
    _COUNT_SUBMITTED.later(session, {"item_id": item_id, "default_overlap": default_overlap,
                                     "leases_taken": int(lease_taken)})  # (sent with the next statement)


def review(session: Session, organization_id: str, review_id: str) -> Review | None:
    return session.scalars(scoped(select(Review), Review, organization_id).where(Review.id == review_id)).first()


def reviews_of_annotation(session: Session, organization_id: str, annotation_id: str) -> Sequence[Review]:
    stmt = scoped(select(Review), Review, organization_id).where(Review.annotation_id == annotation_id)
    return session.scalars(stmt.order_by(Review.id)).all()


def reviews_of_item(session: Session, organization_id: str, item_id: str) -> Sequence[Review]:
    stmt = scoped(select(Review), Review, organization_id).where(Review.item_id == item_id)
    return session.scalars(stmt.order_by(Review.id)).all()


def rejected_of_author(session: Session, organization_id: str, project_id: str, author_id: str) -> Sequence[Annotation]:
    stmt = scoped(select(Annotation), Annotation, organization_id).where(
        Annotation.project_id == project_id, Annotation.author_id == author_id,
        Annotation.review_status == "rejected",
    )
    return session.scalars(stmt.order_by(Annotation.id)).all()


def refresh_item_review_state(session: Session, item_id: str) -> None:
    """A completed item is in review while any of its annotations waits, rejected while any is rejected,
    accepted once all chosen for review passed; an item still being annotated keeps its state."""
    pending = exists().where(Annotation.item_id == Item.id, Annotation.review_status.in_(ReviewStatus.waiting))
    rejected = exists().where(Annotation.item_id == Item.id, Annotation.review_status == "rejected")
    reviewed = exists().where(Annotation.item_id == Item.id, Annotation.review_status.in_(("accepted", "fixed")))
    session.execute(
        update(Item)
        .where(Item.id == item_id, Item.state.not_in(("new", "in_progress")))
        .values(state=case((pending, "in_review"), (rejected, "rejected"), (reviewed, "accepted"),
                           else_="completed"))
    )
