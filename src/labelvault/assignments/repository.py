"""Every query of work distribution: claiming, leases, skips."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import bindparam, case, delete, exists, func, select, update
from sqlalchemy.orm import Session

from labelvault.annotations.models import Annotation
from labelvault.assignments.models import Lease, LeaseKind, Skip
from labelvault.db.scope import scoped
from labelvault.items.models import Item, ItemState

QUEUED_STATES = (ItemState.new, ItemState.in_progress)


def lease_of(session: Session, organization_id: str, project_id: str, user_id: str, kind: str) -> Lease | None:
    stmt = scoped(select(Lease), Lease, organization_id).where(
        Lease.project_id == project_id, Lease.user_id == user_id, Lease.kind == kind
    )
    return session.scalars(stmt).first()


def lease_by_id(session: Session, organization_id: str, lease_id: str) -> Lease | None:
    return session.scalars(scoped(select(Lease), Lease, organization_id).where(Lease.id == lease_id)).first()


def lease_on_item(session: Session, organization_id: str, item_id: str, user_id: str, kind: str) -> Lease | None:
    stmt = scoped(select(Lease), Lease, organization_id).where(
        Lease.item_id == item_id, Lease.user_id == user_id, Lease.kind == kind
    )
    return session.scalars(stmt).first()


def expired_leases(
    session: Session, organization_id: str, project_id: str, kind: str, now: dt.datetime, limit: int
) -> Sequence[tuple[str, str]]:
    """(lease id, item id) of expired leases; locked rows are left to whoever holds them."""
    stmt = (
        scoped(select(Lease.id, Lease.item_id), Lease, organization_id)
        .where(Lease.project_id == project_id, Lease.kind == kind, Lease.expires_at < now)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [(lease_id, item_id) for lease_id, item_id in session.execute(stmt).all()]


def delete_leases(session: Session, lease_ids: list[str]) -> None:
    if lease_ids:
        session.execute(delete(Lease).where(Lease.id.in_(lease_ids)))


def release_slots(session: Session, item_ids: list[str]) -> None:
    """One lease fewer on each item; an item nobody holds or annotated is new again."""
    for item_id in item_ids:
        session.execute(
            update(Item)
            .where(Item.id == item_id)
            .values(
                leased=Item.leased - 1,
                state=case(
                    ((Item.state == ItemState.in_progress) & (Item.annotation_count == 0) & (Item.leased <= 1),
                     ItemState.new),
                    else_=Item.state,
                ),
            )
        )


def candidate_item(
    session: Session, organization_id: str, project_id: str, user_id: str, default_overlap: int
) -> str | None:
    """The next item this person may take: by priority then import order, skipping rows others are claiming."""
    done_by_user = exists().where(Annotation.item_id == Item.id, Annotation.author_id == user_id)
    skipped_by_user = exists().where(Skip.item_id == Item.id, Skip.user_id == user_id)
    stmt = (
        scoped(select(Item.id), Item, organization_id)
        .where(
            Item.project_id == project_id,
            # Written into the SQL as literals: only then can the planner see that the partial queue index
            # (WHERE state IN ('new', 'in_progress')) covers the query; with bound values it scans every item.
            Item.state.in_(bindparam("queued_states", list(QUEUED_STATES), expanding=True, literal_execute=True)),
            Item.annotation_count + Item.leased < func.coalesce(Item.overlap, default_overlap),
            ~done_by_user,
            ~skipped_by_user,
        )
        .order_by(Item.priority.desc(), Item.id)
        .limit(1)
        .with_for_update(skip_locked=True, of=Item)
    )
    return session.scalars(stmt).first()


def take_slot(session: Session, item_id: str) -> None:
    session.execute(
        update(Item).where(Item.id == item_id).values(
            leased=Item.leased + 1,
            state=case((Item.state == ItemState.new, ItemState.in_progress), else_=Item.state),
        )
    )


def add(session: Session, row: Lease | Skip) -> None:
    session.add(row)


def skip_of(session: Session, organization_id: str, item_id: str, user_id: str) -> Skip | None:
    stmt = scoped(select(Skip), Skip, organization_id).where(Skip.item_id == item_id, Skip.user_id == user_id)
    return session.scalars(stmt).first()


def item_for_update(session: Session, organization_id: str, item_id: str) -> Item | None:
    stmt = (scoped(select(Item), Item, organization_id).where(Item.id == item_id).with_for_update()
            .execution_options(populate_existing=True))
    return session.scalars(stmt).first()


def active_leases_by_user(session: Session, organization_id: str, project_id: str,
                          now: dt.datetime) -> dict[str, int]:
    stmt = scoped(select(Lease.user_id, func.count()), Lease, organization_id).where(
        Lease.project_id == project_id, Lease.kind == LeaseKind.annotate, Lease.expires_at >= now
    ).group_by(Lease.user_id)
    return {user_id: int(n) for user_id, n in session.execute(stmt).all()}


def annotation_counts_by_author(session: Session, organization_id: str, project_id: str) -> dict[str, dict[str, int]]:
    stmt = scoped(select(Annotation.author_id, Annotation.status, func.count()), Annotation, organization_id).where(
        Annotation.project_id == project_id
    ).group_by(Annotation.author_id, Annotation.status)
    out: dict[str, dict[str, int]] = {}
    for author, status, n in session.execute(stmt).all():
        out.setdefault(author, {})[status] = int(n)
    return out


def skip_counts_by_user(session: Session, organization_id: str, project_id: str) -> dict[str, int]:
    stmt = scoped(select(Skip.user_id, func.count()), Skip, organization_id).where(
        Skip.project_id == project_id
    ).group_by(Skip.user_id)
    return {user_id: int(n) for user_id, n in session.execute(stmt).all()}


def review_candidate(session: Session, organization_id: str, project_id: str, reviewer_id: str,
                     now: dt.datetime) -> str | None:
    """The oldest annotation waiting for review that is not the reviewer's own and nobody else holds."""
    held = exists().where(Lease.annotation_id == Annotation.id, Lease.kind == LeaseKind.review,
                          Lease.expires_at > now)
    stmt = (
        scoped(select(Annotation.id), Annotation, organization_id)
        .where(Annotation.project_id == project_id, Annotation.review_status == "pending",
               Annotation.author_id != reviewer_id, ~held)
        .order_by(Annotation.id)
        .limit(1)
        .with_for_update(skip_locked=True, of=Annotation)
    )
    return session.scalars(stmt).first()


def live_review_lease(session: Session, organization_id: str, annotation_id: str, now: dt.datetime) -> Lease | None:
    stmt = scoped(select(Lease), Lease, organization_id).where(
        Lease.annotation_id == annotation_id, Lease.kind == LeaseKind.review, Lease.expires_at > now
    )
    return session.scalars(stmt).first()


def annotation_by_id(session: Session, organization_id: str, annotation_id: str) -> Annotation | None:
    stmt = scoped(select(Annotation), Annotation, organization_id).where(Annotation.id == annotation_id)
    return session.scalars(stmt).first()
