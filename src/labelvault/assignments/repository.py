"""Every query of work distribution: claiming, leases, skips."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    Table,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    literal_column,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from labelvault.annotations.models import Annotation, ReviewStatus
from labelvault.assignments.models import Lease, LeaseKind, Skip
from labelvault.crypto.content import open_sealed
from labelvault.db.base import UtcDateTime
from labelvault.db.direct import Direct, plain
from labelvault.db.scope import scoped
from labelvault.items.models import Item, ItemState
from labelvault.kit.clock import utcnow
from labelvault.projects.models import Project
from labelvault.quality.gold_walk import move_gold_cursor
from labelvault.quality.models import GoldAnswer, GoldCursor, GoldExposure

QUEUED_STATES = (ItemState.new, ItemState.in_progress)
# Hot UPDATEs and DELETEs go to the tables, not the mapped classes: the ORM's bulk statements would first look
# for the rows among the session's objects to change them too, which costs several times the statement itself.
_items = cast(Table, Item.__table__)
_leases = cast(Table, Lease.__table__)


def _own(*columns: Any) -> Any:
    """The person's lease of a kind in the project, locked."""
    return scoped(select(*columns), Lease, bindparam("organization_id")).where(
        Lease.project_id == bindparam("project_id"), Lease.user_id == bindparam("user_id"),
        Lease.kind == bindparam("kind"),
    ).with_for_update()


_LEASE_OF = Direct(_own(_leases))


def lease_of(session: Session, organization_id: str, project_id: str, user_id: str, kind: str) -> Lease | None:
    """The person's lease, locked: a concurrent claim reclaiming it as expired skips it or has taken it.

    A plain object outside the session (read on every next-item request, where loading it through the ORM cost
    more than the query): change it with `extend_lease` or `delete_leases`."""
    params = {"organization_id": organization_id, "project_id": project_id, "user_id": user_id, "kind": kind}
    row = _LEASE_OF.first(session, params)
    return None if row is None else plain(Lease, row)


_EXTEND_LEASE = Direct(update(_leases).where(_leases.c.id == bindparam("lease_id"))
                       .values(expires_at=bindparam("new_expiry")))


def extend_lease(session: Session, lease: Lease, expires_at: dt.datetime) -> None:
    """Give a lease (as `lease_of` returns it) a new expiry."""
    _EXTEND_LEASE.run(session, {"lease_id": lease.id, "new_expiry": expires_at})
    lease.expires_at = expires_at


def lease_by_id(session: Session, organization_id: str, lease_id: str) -> Lease | None:
    return session.scalars(scoped(select(Lease), Lease, organization_id).where(Lease.id == lease_id)).first()


_LEASE_ON_ITEM = scoped(select(Lease), Lease, bindparam("organization_id")).where(
    Lease.item_id == bindparam("item_id"), Lease.user_id == bindparam("user_id"), Lease.kind == bindparam("kind")
)


def leases_of_user(session: Session, organization_id: str, user_id: str) -> Sequence[tuple[str, str]]:
    """(lease id, kind) of every lease the person holds in the organization's projects."""
    stmt = scoped(select(Lease.id, Lease.kind), Lease, organization_id).where(Lease.user_id == user_id)
    return [(lease_id, kind) for lease_id, kind in session.execute(stmt).all()]


def held_item_ids(session: Session, organization_id: str, project_id: str, user_id: str) -> list[str]:
    """The items of every lease (annotation or review) the person holds in the project."""
    stmt = scoped(select(Lease.item_id), Lease, organization_id).where(Lease.project_id == project_id,
                                                                        Lease.user_id == user_id)
    return list(session.scalars(stmt))


def leases_on_items(session: Session, organization_id: str, item_ids: list[str]) -> Sequence[tuple[str, str]]:
    """(lease id, kind) of every lease on the items."""
    stmt = scoped(select(Lease.id, Lease.kind), Lease, organization_id).where(Lease.item_id.in_(item_ids))
    return [(lease_id, kind) for lease_id, kind in session.execute(stmt).all()]


def lease_on_item(session: Session, organization_id: str, item_id: str, user_id: str, kind: str) -> Lease | None:
    params = {"organization_id": organization_id, "item_id": item_id, "user_id": user_id, "kind": kind}
    return session.scalars(_LEASE_ON_ITEM, params).first()


def _expired(*columns: Any) -> Any:
    """The project's expired leases of a kind, locked; rows locked already are left to whoever holds them."""
    return (scoped(select(*columns), Lease, bindparam("organization_id"))
            .where(Lease.project_id == bindparam("project_id"), Lease.kind == bindparam("kind"),
                   Lease.expires_at < bindparam("now"))
            .limit(bindparam("limit", type_=Integer))
            .with_for_update(skip_locked=True))


# The person's lease (locked, waiting for a concurrent request of theirs) and the project's expired leases
# (locked, skipping those being reclaimed), in one statement: what a claim reads first. A column tells them apart.
_OWN_AND_EXPIRED = Direct(union_all(
    select(_own(_leases, literal_column("1").label("own")).subquery("own_lease")),
    select(_expired(_leases, literal_column("0").label("own")).subquery("expired_leases"))))


_LEASE_ID, _LEASE_ITEM_ID = (list(_leases.c.keys()).index(name) for name in ("id", "item_id"))


@dataclass
class Held:
    own: Lease | None  # the person's lease, live or not
    expired: list[tuple[str, str]]  # (lease id, item id) of the others' expired leases


def own_and_expired_leases(session: Session, organization_id: str, project_id: str, user_id: str, kind: str,
                           now: dt.datetime, limit: int) -> Held:
    """The person's lease of this kind in the project and up to `limit` of the project's expired leases, all
    locked (a plain lease object, as `lease_of` returns)."""
    params = _held_params(organization_id, project_id, user_id, kind, now, limit)
    own, expired = None, []
    for row in _OWN_AND_EXPIRED.rows(session, params):
        if row[-1] == 1:
            own = plain(Lease, row[:-1])
        else:
            expired.append((row[_LEASE_ID], row[_LEASE_ITEM_ID]))
    if own is not None:  # expired, their own lease is among the others': it is theirs to give back
        expired = [(lease_id, item_id) for lease_id, item_id in expired if lease_id != own.id]
    return Held(own, expired)


def own_and_expired_leases_ahead(session: Session, organization_id: str, project_id: str, user_id: str, kind: str,
                                 now: dt.datetime, limit: int) -> None:
    """Send `own_and_expired_leases`' read ahead (`Direct.ahead`)."""
    _OWN_AND_EXPIRED.ahead(session, _held_params(organization_id, project_id, user_id, kind, now, limit))


def _held_params(organization_id: str, project_id: str, user_id: str, kind: str, now: dt.datetime,
                 limit: int) -> dict[str, Any]:
    return {"organization_id": organization_id, "project_id": project_id, "user_id": user_id, "kind": kind,
            "now": now, "limit": limit}


_DELETE_LEASES = (
    delete(_leases).where(_leases.c.id.in_(bindparam("lease_ids", expanding=True)))
    .returning(_leases.c.item_id, _leases.c.user_id)
)


def delete_leases(session: Session, lease_ids: list[str]) -> list[tuple[str, str]]:
    """Delete the leases; (item id, holder) of those still there (a concurrent request may have deleted one),
    so that each lease frees its slot exactly once."""
    if not lease_ids:
        return []
    return [(item_id, user_id) for item_id, user_id in session.execute(_DELETE_LEASES, {"lease_ids": lease_ids})]


_DELETE_LEASE_ON_ITEM = Direct(delete(_leases).where(
    _leases.c.organization_id == bindparam("organization_id"), _leases.c.item_id == bindparam("item_id"),
    _leases.c.user_id == bindparam("user_id"), _leases.c.kind == bindparam("kind"),
).returning(_leases.c.id))


def delete_lease_on_item(session: Session, organization_id: str, item_id: str, user_id: str, kind: str) -> bool:
    """Delete the person's lease on the item in one statement; False when there was none (never taken, or
    reclaimed by a concurrent claim: each lease frees its slot exactly once)."""
    params = {"organization_id": organization_id, "item_id": item_id, "user_id": user_id, "kind": kind}
    return _DELETE_LEASE_ON_ITEM.first(session, params) is not None


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


# The next item this person may take, by priority then import order (or a random rank drawn at creation),
# skipping rows others are claiming. An alias, so that inside the claiming UPDATE below it is a query of its own
# (and parameters named unlike the columns that the UPDATE could set).
_queued = aliased(Item, name="queued")


def _claim_statement(*order_within_priority: ColumnElement[Any] | InstrumentedAttribute[Any]) -> Any:
    next_free_item = (
        scoped(select(_queued.id), _queued, bindparam("queue_organization_id"))
        .where(
            _queued.project_id == bindparam("queue_project_id"),
            _queued.pool == bindparam("queue_pool"),
            # Written into the SQL as literals: only then can the planner see that the partial queue indexes
            # (WHERE state IN ('new', 'in_progress')) cover the query; with bound values it scans every item.
            _queued.state.in_([literal_column(f"'{state}'") for state in QUEUED_STATES]),
            _queued.annotation_count + _queued.leased
            < func.coalesce(_queued.overlap, bindparam("default_overlap", type_=Integer)),
            ~exists().where(Annotation.item_id == _queued.id, Annotation.author_id == bindparam("user_id")),
            ~exists().where(Skip.item_id == _queued.id, Skip.user_id == bindparam("user_id")),
            # Gold items sit outside the overlap rule: they are handed out by the gold claim below.
            ~exists().where(GoldAnswer.item_id == _queued.id),
        )
        .order_by(_queued.priority.desc(), *order_within_priority)
        # A literal, not a bound value: with LIMIT unknown, PostgreSQL prices the prepared statement's generic
        # plan for a tenth of the queue, keeps planning it anew on every call (0.5 to 1.3 ms, probing the
        # indexes' ends past their dead entries), and that was a fifth of its CPU per annotation.
        .limit(literal_column("1"))
        .with_for_update(skip_locked=True, of=_queued)
    )
    return _take_slot(next_free_item)


def _take_slot(chosen: Any) -> Any:
    # unscoped: the row is the UPDATE's, chosen by the scoped query above. A table UPDATE, run as a Direct
    # statement: the ORM's own bulk UPDATE would rebuild the statement's cache key on every call, and loading
    # the row as an item through the ORM cost more than the claim itself.
    return (update(_items)
            .where(_items.c.id == chosen.scalar_subquery())
            .values(leased=_items.c.leased + 1,
                    state=case((_items.c.state == ItemState.new, ItemState.in_progress), else_=_items.c.state))
            .returning(*_items.c))


# Import order: ids grow with creation time (ix_items_queue). Random: the rank (ix_items_queue_random).
_CLAIM_ITEM = {"import": Direct(_claim_statement(_queued.id)),
               "random": Direct(_claim_statement(_queued.queue_rank, _queued.id))}

# The next gold item this person has not met (answered, skipped, or held and given back): one step along the
# project's gold answers in id order (ix_gold_answers_project_order), from just after the last one they met
# (their GoldCursor). The walk never passes again over the gold items met before, so the claim costs the same
# with ten gold items or ten thousand, met or not. The checks below only matter for a gold item met out of
# order (answered without a claim). No row lock and no overlap check: any number of people may hold and answer
# a gold item, and a claimer waiting a moment for another's UPDATE of the same row still gets it (skipping it,
# as the real claim does, would put it behind their cursor for good).
def _none(rows: Any) -> Any:
    """No such row, checked per candidate as it is read: written as NOT EXISTS, PostgreSQL would turn it into an
    anti-join that first reads every such row of the person (every gold item they met)."""
    return rows.limit(1).scalar_subquery().is_(None)


_GOLD_CURSOR = scoped(select(GoldCursor.after_id), GoldCursor, bindparam("queue_organization_id")).where(
    GoldCursor.project_id == bindparam("queue_project_id"), GoldCursor.user_id == bindparam("user_id"),
).scalar_subquery()
_NEXT_GOLD = (
    scoped(select(GoldAnswer.item_id), GoldAnswer, bindparam("queue_organization_id"))
    .where(
        GoldAnswer.project_id == bindparam("queue_project_id"),
        GoldAnswer.id > func.coalesce(_GOLD_CURSOR, ""),
        _none(select(Annotation.id).where(Annotation.item_id == GoldAnswer.item_id,
                                          Annotation.author_id == bindparam("user_id"))),
        _none(select(Skip.id).where(Skip.item_id == GoldAnswer.item_id, Skip.user_id == bindparam("user_id"))),
        _none(select(GoldExposure.item_id).where(GoldExposure.item_id == GoldAnswer.item_id,
                                                 GoldExposure.user_id == bindparam("user_id"))),
        # Routed like any item: only from the pools the person receives items from. (In a routed project the
        # walk then passes over other pools' gold items each time, so its cost grows with their number.)
        select(Item.pool).where(Item.id == GoldAnswer.item_id).scalar_subquery().in_(
            bindparam("gold_pools", expanding=True)),
    )
    .order_by(GoldAnswer.id)
    .limit(1)
)
_DEFAULT_OVERLAP = scoped(select(Project.default_overlap), Project, bindparam("queue_organization_id")).where(
    Project.id == bindparam("queue_project_id")).scalar_subquery()
# What its holders see of a gold item moves like a real item's: one more annotation per answer up to the
# overlap ("completed" there, see annotations.repository), and a claim of a full one starts the count again,
# as if it were the next real item. Its true answers are counted by the quality refresh, not here.
_GOLD_FULL = _items.c.annotation_count >= func.coalesce(_items.c.overlap, _DEFAULT_OVERLAP)
_CLAIM_GOLD = select(Item).from_statement(  # unscoped: the row is the UPDATE's, chosen by the scoped query above.
    update(_items)
    .where(_items.c.id == _NEXT_GOLD.scalar_subquery())
    .values(leased=_items.c.leased + 1,
            annotation_count=case((_GOLD_FULL, 0), else_=_items.c.annotation_count),
            state=case((_items.c.state == ItemState.in_progress, _items.c.state), else_=ItemState.in_progress))
    .returning(*_items.c)
)

def claim_item(
    session: Session, organization_id: str, project_id: str, user_id: str, default_overlap: int,
    order: str = "import", pool: str = "",
) -> Item | None:
    """Take a slot on the next item of the pool this person may take, and return the item as it is now: one
    statement (row lock, check and update) instead of a SELECT, an UPDATE and a reload."""
    params = {"queue_organization_id": organization_id, "queue_project_id": project_id, "user_id": user_id,
              "default_overlap": default_overlap, "queue_pool": pool}
    row = _CLAIM_ITEM[order].first(session, params)
    if row is None:
        return None
    # A plain object outside the session (loading it through the ORM cost more than the claim), its content
    # opened now.
    return open_sealed(session, plain(Item, row))


def claim_gold(session: Session, organization_id: str, project_id: str, user_id: str,
               pools: list[str] | None = None) -> Item | None:
    """Take a lease's place on the next gold item of these pools this person has not met (one statement, like
    a claim)."""
    params = {"queue_organization_id": organization_id, "queue_project_id": project_id, "user_id": user_id,
              "gold_pools": pools if pools is not None else [""]}
    return session.scalars(_CLAIM_GOLD, params).first()


def remember_gold_met(session: Session, organization_id: str, held: list[tuple[str, str]]) -> None:
    """Of the (item, person) leases given back, record those on gold items: never offered to them again."""
    for item_id, user_id in held:
        gold = select(GoldAnswer.item_id, literal(user_id, String(36)), GoldAnswer.organization_id,
                      literal(utcnow(), UtcDateTime())).where(
            GoldAnswer.organization_id == organization_id, GoldAnswer.item_id == item_id,
            ~exists().where(GoldExposure.item_id == item_id, GoldExposure.user_id == user_id))
        session.execute(insert(GoldExposure).from_select(["item_id", "user_id", "organization_id", "created_at"],
                                                         gold))
        move_gold_cursor(session, organization_id, item_id, user_id)


def add(session: Session, row: Lease | Skip) -> None:
    session.add(row)


_LEASE_COLUMNS = tuple(_leases.c.keys())
_INSERT_LEASE = Direct(insert(_leases), _LEASE_COLUMNS)


def insert_lease(session: Session, lease: Lease, conflict: Exception) -> None:
    """Write a new lease (with its id set) in one INSERT: the session's unit of work costs more than the INSERT
    for a row nothing else in the request changes. The object stays outside the session. Deferred (sent with the
    transaction's next statement or its COMMIT); a duplicate raises `conflict`."""
    _INSERT_LEASE.later(session, {name: getattr(lease, name) for name in _LEASE_COLUMNS}, conflict)


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
                     now: dt.datetime, vendor_id: str | None = None) -> str | None:
    """The oldest annotation waiting for this reviewer that is not their own and nobody else holds: for the
    owner's reviewers, work in the owner's review; for a vendor's reviewer, the vendor's own work waiting for
    the vendor's review."""
    held = exists().where(Lease.annotation_id == Annotation.id, Lease.kind == LeaseKind.review,
                          Lease.expires_at > now)
    waiting = (Annotation.review_status == ReviewStatus.pending if vendor_id is None
               else (Annotation.review_status == ReviewStatus.vendor_review) & (Annotation.vendor_id == vendor_id))
    stmt = (
        scoped(select(Annotation.id), Annotation, organization_id)
        .where(Annotation.project_id == project_id, waiting, Annotation.author_id != reviewer_id, ~held)
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
