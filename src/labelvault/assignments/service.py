"""Work distribution rules: the next item, leases that expire on their own, skips, slots on submit.

An item is never held by more people than its overlap: `annotation_count + leased < overlap` is checked
on a row lock (PostgreSQL: FOR UPDATE SKIP LOCKED, so concurrent claimers take different rows; SQLite:
the whole claim is one BEGIN IMMEDIATE transaction). Expired leases are reclaimed by the next claim in
the project, so no background process is needed for correctness.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from labelvault.accounts import service as accounts
from labelvault.annotations.models import ReviewStatus
from labelvault.assignments import repository as repo
from labelvault.assignments.models import Lease, LeaseKind, Skip
from labelvault.errors import ConcurrentWrite, Conflict, InvalidInput, NotFound
from labelvault.items import service as items_service
from labelvault.items.models import Item
from labelvault.kit.clock import utcnow
from labelvault.kit.ids import new_id
from labelvault.projects.models import Project
from labelvault.quality import service as quality
from labelvault.security.policy import Principal
from labelvault.workforce import service as workforce

RECLAIM_BATCH = 50
MAX_REASON = 2000


@dataclass
class Claim:
    lease: Lease | None
    item_id: str | None
    renewed: bool = False
    item: Item | None = None  # loaded with a new claim; a renewed lease's item is for the caller to load


def _ttl(project: Project) -> dt.timedelta:
    return dt.timedelta(seconds=project.lease_seconds)


def _reclaim(session: Session, project: Project, kind: str, expired: Sequence[tuple[str, str]]) -> None:
    """Return the items of expired leases (locked) to the queue."""
    if not expired:
        return
    freed = repo.delete_leases(session, [lease_id for lease_id, _ in expired])
    if kind == LeaseKind.annotate:
        _free_slots(session, project.organization_id, freed)
    session.flush()


def _renew_or_reclaim(session: Session, principal: Principal, project: Project, kind: str,
                      now: dt.datetime) -> Claim | None:
    """The principal's live lease of this kind, renewed. Without one (an expired one is dropped, its slot
    freed), the project's expired leases are reclaimed first, so that their items are in the queue again for
    the claim that follows (no background process is needed for that). One statement reads both."""
    held = repo.own_and_expired_leases(session, project.organization_id, project.id, principal.user_id, kind, now,
                                       RECLAIM_BATCH)
    current = held.own
    if current is not None and current.expires_at > now:
        repo.extend_lease(session, current, now + _ttl(project))
        return Claim(current, current.item_id, renewed=True)
    if current is not None:
        release(session, current)
    _reclaim(session, project, kind, held.expired)
    return None


@dataclass
class Entitlement:
    """What a person may take from a project's queue, read before the claim (`entitlement`)."""
    gold_rate: float
    pools: list[str]


def entitlement(session: Session, principal: Principal, project: Project) -> Entitlement:
    """Whether the person receives work from the project (Forbidden when suspended or not yet qualified), at
    which gold rate and from which pools: reads only, so that they may come before the claim's write
    transaction (see `api.deps.Gate.start_writing`)."""
    gold_rate = quality.check_may_receive_work(session, principal, project)
    return Entitlement(gold_rate, workforce.pools_for(session, principal, project))


def project_and_entitlement(session: Session, principal: Principal, project_id: str) -> tuple[Project, Entitlement]:
    """The project, if the principal may see it (a plain object outside the session), and their `entitlement` to
    its work: the project's settings and the person's standing in it are one statement."""
    project, gold_rate = quality.settings_for_work(session, principal, project_id)
    return project, Entitlement(gold_rate, workforce.pools_for(session, principal, project))


def next_item_ahead(session: Session, organization_id: str, user_id: str, project_id: str) -> dt.datetime:
    """Send the reads that `project_and_entitlement` and `next_item` begin with, for this person of this
    organization, ahead (`db.direct.Direct.ahead`: PostgreSQL), to go in one round trip; the time to give
    `next_item`. They read only, and what a request may not see is still refused by the checks that take their
    results (see `api.deps.Gate`)."""
    now = utcnow()
    quality.settings_for_work_ahead(session, organization_id, user_id, project_id)
    repo.own_and_expired_leases_ahead(session, organization_id, project_id, user_id, LeaseKind.annotate, now,
                                      RECLAIM_BATCH)
    return now


def next_item(session: Session, principal: Principal, project: Project,
              entitled: Entitlement | None = None, now: dt.datetime | None = None) -> Claim:
    """The principal's current lease in the project (renewed), or a lease on the next free item."""
    if entitled is None:
        entitled = entitlement(session, principal, project)
    gold_rate, pools = entitled.gold_rate, entitled.pools
    now = now or utcnow()
    current = _renew_or_reclaim(session, principal, project, LeaseKind.annotate, now)
    if current is not None:
        return current
    # Gold items come at the project's rate, by the same steps as any item (one claim statement, then the
    # lease), so neither the answer nor its timing tells them apart. With no gold item left for the person,
    # the real queue answers.
    item = None
    if gold_rate > 0 and pools and quality.wants_gold(gold_rate):
        item = repo.claim_gold(session, project.organization_id, project.id, principal.user_id, pools)
    if item is None:
        for pool in pools:
            item = repo.claim_item(session, project.organization_id, project.id, principal.user_id,
                                   project.default_overlap, project.queue_order, pool)
            if item is not None:
                break
    if item is None:
        return Claim(None, None)
    lease = Lease(id=new_id(), organization_id=project.organization_id, project_id=project.id, item_id=item.id,
                  user_id=principal.user_id, kind=LeaseKind.annotate, annotation_id=None, created_at=now,
                  expires_at=now + _ttl(project))
    repo.insert_lease(session, lease, ConcurrentWrite("Another request of yours claimed an item at the same "
                                                      "moment; ask again."))
    return Claim(lease, item.id, item=item)


def get_lease(session: Session, principal: Principal, lease_id: str) -> Lease:
    lease = repo.lease_by_id(session, principal.organization_id, lease_id)
    if lease is None or lease.user_id != principal.user_id:
        raise NotFound("lease")
    return lease


def heartbeat(session: Session, project: Project, lease: Lease) -> Lease:
    """Extend a live lease; an expired one is gone (its item may be with someone else)."""
    now = utcnow()
    if lease.expires_at <= now:
        raise Conflict("This lease has expired; ask for the next item.", code="lease_expired")
    lease.expires_at = now + _ttl(project)
    session.flush()
    return lease


def release(session: Session, lease: Lease) -> bool:
    """Give the item back to the queue without annotating it; False when a concurrent claim had reclaimed
    the (expired) lease already."""
    freed = repo.delete_leases(session, [lease.id])
    if lease.kind == LeaseKind.annotate:
        _free_slots(session, lease.organization_id, freed)
    session.flush()
    return bool(freed)


def release_everything_of(session: Session, organization_id: str, user_id: str) -> int:
    """Return every item and annotation the person holds in the organization to its queue (a member who
    leaves); how many leases there were."""
    return _release(session, organization_id, repo.leases_of_user(session, organization_id, user_id))


def held_item_ids(session: Session, principal: Principal, project: Project) -> list[str]:
    return repo.held_item_ids(session, project.organization_id, project.id, principal.user_id)


def release_items(session: Session, organization_id: str, item_ids: list[str]) -> int:
    """Return items to their queue at once, whoever holds them (for annotation or review); how many leases
    there were. The people who held them get `lease_expired` on their next heartbeat."""
    return _release(session, organization_id, repo.leases_on_items(session, organization_id, item_ids))


def _free_slots(session: Session, organization_id: str, freed: list[tuple[str, str]]) -> None:
    """Slots of leases given back without an answer; a gold item among them is not offered to its holder again."""
    repo.release_slots(session, [item_id for item_id, _ in freed])
    if freed:
        repo.remember_gold_met(session, organization_id, freed)


def _release(session: Session, organization_id: str, held: Sequence[tuple[str, str]]) -> int:
    annotating = [lease_id for lease_id, kind in held if kind == LeaseKind.annotate]
    _free_slots(session, organization_id, repo.delete_leases(session, annotating))
    repo.delete_leases(session, [lease_id for lease_id, kind in held if kind != LeaseKind.annotate])
    session.flush()
    return len(held)


def skip(session: Session, principal: Principal, project: Project, item: Item, reason: str) -> Skip:
    """Skip an item with a reason: it is released and never offered to this person again."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput("Say why you skip the item.", details={"field": "reason"})
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"The reason is longer than {MAX_REASON} characters.", details={"field": "reason"})
    existing = repo.skip_of(session, project.organization_id, item.id, principal.user_id)
    if existing is not None:
        return existing
    lease = repo.lease_on_item(session, project.organization_id, item.id, principal.user_id, LeaseKind.annotate)
    if lease is not None:
        release(session, lease)
    row = Skip(organization_id=project.organization_id, project_id=project.id, item_id=item.id,
               user_id=principal.user_id, reason=reason)
    repo.add(session, row)
    session.flush()
    return row


class Slot:
    """How a first submission finds room on its item (`take_slot_for_submit`)."""
    lease = "lease"  # the person's lease becomes the annotation: the count of the submission takes its slot
    free = "free"  # no lease, but the item had room (or is a gold item)


def take_slot_for_submit(session: Session, principal: Principal, project: Project, item: Item) -> str | None:
    """Called when the principal submits a first annotation of `item`: use their lease, or a free slot.

    `Slot.lease` when their lease was taken: the caller counts the submission with one lease fewer on the
    item, in the same UPDATE (`annotations.repository.count_submitted`). None when the item is full
    (completed by others while the lease was gone).
    """
    if repo.delete_lease_on_item(session, project.organization_id, item.id, principal.user_id, LeaseKind.annotate):
        # A lease, even an expired one not yet reclaimed, still holds its slot: the annotation takes it
        # over (the item does not pass through "new" on the way to "completed").
        return Slot.lease
    # Without a lease the claim's checks were never made: a suspended or unqualified person gets no work
    # this way either.
    quality.check_may_receive_work(session, principal, project)
    locked = repo.item_for_update(session, project.organization_id, item.id)
    if locked is None:
        raise NotFound("item")
    free = locked.annotation_count + locked.leased < (locked.overlap or project.default_overlap)
    # Gold items sit outside the overlap rule: anyone may answer them.
    return Slot.free if free or quality.is_gold(session, project.organization_id, item.id) else None


def review_status_for_new_submission(session: Session, principal: Principal, project: Project) -> str | None:
    """The review a newly submitted (or corrected) annotation waits for first: its vendor's own (at the share
    the vendor set), else the owner's (the project's rule), else none."""
    if principal.vendor_id is not None:
        percent = workforce.vendor_review_percent(session, principal.organization_id, principal.vendor_id)
        if percent > 0 and secrets.randbelow(100) < percent:
            return ReviewStatus.vendor_review
    return owner_review_status(project)


def review_status_for_correction(session: Session, principal: Principal) -> str:
    """A rejected annotation corrected by its author goes back to review: its vendor's first, if it has one."""
    if principal.vendor_id is not None and workforce.vendor_review_percent(
            session, principal.organization_id, principal.vendor_id) > 0:
        return ReviewStatus.vendor_review
    return ReviewStatus.pending


def owner_review_status(project: Project) -> str | None:
    """Whether work goes to the owner's review queue: all, a random sample, or none (the project's rule)."""
    if project.review_mode == "all":
        return ReviewStatus.pending
    if project.review_mode == "sample" and secrets.randbelow(100) < project.review_sample_percent:
        return ReviewStatus.pending
    return None


@dataclass
class AnnotatorProgress:
    user_id: str
    email: str
    submitted: int
    drafts: int
    skipped: int
    leased: int


def project_status(session: Session, project: Project,
                   principal: Principal | None = None) -> tuple[dict[str, int], list[AnnotatorProgress]]:
    """Items per state and each annotator's progress in the project; a vendor's people get only their own
    vendor's people, and no counts of the whole project."""
    org = project.organization_id
    vendor_id = principal.vendor_id if principal is not None else None
    counts = items_service.state_counts(session, project) if vendor_id is None else {}
    by_author = repo.annotation_counts_by_author(session, org, project.id)
    skipped = repo.skip_counts_by_user(session, org, project.id)
    leased = repo.active_leases_by_user(session, org, project.id, utcnow())
    emails = accounts.emails_of_organization(session, org, vendor_id)
    people = sorted(set(by_author) | set(skipped) | set(leased), key=lambda uid: emails.get(uid, uid))
    if vendor_id is not None:
        people = [uid for uid in people if uid in emails]
    return counts, [
        AnnotatorProgress(uid, emails.get(uid, ""), by_author.get(uid, {}).get("submitted", 0),
                          by_author.get(uid, {}).get("draft", 0), skipped.get(uid, 0), leased.get(uid, 0))
        for uid in people
    ]


def next_review(session: Session, principal: Principal, project: Project) -> Claim:
    """The reviewer's current review lease (renewed) or a lease on the next annotation waiting for review."""
    now = utcnow()
    current = _renew_or_reclaim(session, principal, project, LeaseKind.review, now)
    if current is not None:
        return current
    annotation_id = repo.review_candidate(session, project.organization_id, project.id, principal.user_id, now,
                                          principal.vendor_id)
    if annotation_id is None:
        return Claim(None, None)
    annotation = repo.annotation_by_id(session, project.organization_id, annotation_id)
    assert annotation is not None
    lease = Lease(organization_id=project.organization_id, project_id=project.id, item_id=annotation.item_id,
                  user_id=principal.user_id, kind=LeaseKind.review, annotation_id=annotation_id, created_at=now,
                  expires_at=now + _ttl(project))
    repo.add(session, lease)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("Another request of yours claimed a review at the same moment; ask again.") from None
    return Claim(lease, annotation.item_id)


def hold_for_decision(session: Session, principal: Principal, project: Project, annotation_id: str) -> None:
    """Before a review decision: refuse when another reviewer holds the annotation; drop the decider's lease."""
    now = utcnow()
    lease = repo.live_review_lease(session, project.organization_id, annotation_id, now)
    if lease is not None and lease.user_id != principal.user_id:
        raise Conflict("Another reviewer is reviewing this annotation.", code="review_held")
    own = repo.lease_of(session, project.organization_id, project.id, principal.user_id, LeaseKind.review)
    if own is not None and own.annotation_id == annotation_id:
        repo.delete_leases(session, [own.id])
        session.flush()
