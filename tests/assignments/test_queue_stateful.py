"""Random sequences of next, submit, skip, release, lease expiry and review decisions, driven through the
services on the test database; the queue's rules are checked against the database after every step."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import hypothesis.strategies as st
from hypothesis import HealthCheck, event, settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker

from labelvault.accounts import service as accounts
from labelvault.accounts.models import Role, User
from labelvault.annotations import review
from labelvault.annotations import service as annotations
from labelvault.annotations.models import Annotation, Review
from labelvault.assignments import service as assignments
from labelvault.assignments.models import Lease, LeaseKind, Skip
from labelvault.db.engine import transaction
from labelvault.errors import Conflict, Forbidden
from labelvault.items.models import Item
from labelvault.kit.clock import utcnow
from labelvault.projects import service as projects
from labelvault.security.policy import Principal
from labelvault.testing import TEXT_SCHEMA, make_actor

ANSWERS = {"sentiment": "positive"}
FIXED = {"sentiment": "negative"}
ANNOTATORS = 4  # people 0-3 annotate; people 4 and 5 are reviewers, who may annotate too
PEOPLE = st.integers(0, ANNOTATORS + 1)
REVIEWERS = st.integers(ANNOTATORS, ANNOTATORS + 1)
ITEMS = st.integers(0, 7)
DECISIONS = st.sampled_from(["accept", "reject", "fix"])

# Built once: the invariant reads these after every step.
PROJECT = bindparam("project")
ITEM_ROWS = select(Item.id, Item.annotation_count, Item.leased, Item.state, Item.overlap).where(
    Item.project_id == PROJECT).order_by(Item.priority.desc(), Item.id)
ANNOTATION_ROWS = select(Annotation.id, Annotation.item_id, Annotation.author_id, Annotation.status,
                         Annotation.review_status).where(Annotation.project_id == PROJECT).order_by(Annotation.id)
LEASE_ROWS = select(Lease.id, Lease.item_id, Lease.user_id, Lease.kind, Lease.annotation_id, Lease.expires_at).where(
    Lease.project_id == PROJECT)
SKIP_ROWS = select(Skip.item_id, Skip.user_id).where(Skip.project_id == PROJECT)
REVIEW_ROWS = select(Review.annotation_id, Review.reviewer_id).where(Review.project_id == PROJECT)


@dataclass
class Snapshot:
    """The project's queue as stored: items, annotations, leases, skips and reviews."""

    items: list[Any]
    annotations: list[Any]
    leases: list[Any]
    skips: set[tuple[str, str]]
    reviews: list[Any]

    def lease_of(self, user_id: str, kind: str = LeaseKind.annotate) -> Any | None:
        return next((lease for lease in self.leases if lease.user_id == user_id and lease.kind == kind), None)

    def annotation_of(self, item_id: str, user_id: str) -> Any | None:
        return next((a for a in self.annotations if a.item_id == item_id and a.author_id == user_id), None)

    def item(self, item_id: str) -> Any:
        return next(item for item in self.items if item.id == item_id)

    def open_for(self, user_id: str, default_overlap: int) -> list[str]:
        """Items with room that this person neither started nor skipped."""
        started = {a.item_id for a in self.annotations if a.author_id == user_id}
        return [item.id for item in self.items
                if item.annotation_count + item.leased < (item.overlap or default_overlap)
                and item.id not in started and (item.id, user_id) not in self.skips]


def expected_state(count: int, holders: int, overlap: int, statuses: set[str | None]) -> str:
    if count >= overlap:
        if "pending" in statuses:
            return "in_review"
        if "rejected" in statuses:
            return "rejected"
        return "accepted" if statuses & {"accepted", "fixed"} else "completed"
    return "new" if count == 0 and holders == 0 else "in_progress"


class QueueMachine(RuleBasedStateMachine):
    def __init__(self, factory: sessionmaker[Session], owner: Principal, people: list[Principal]) -> None:
        super().__init__()
        self.factory, self.owner, self.people = factory, owner, people
        self.project_id = ""
        self.item_ids: list[str] = []
        self.review_mode = "none"
        self.default_overlap = 1
        self.snap = Snapshot([], [], [], set(), [])
        self.last_decision: tuple[int, str, dict[str, Any]] | None = None

    def read(self) -> Snapshot:
        with self.factory() as session:
            rows = [session.execute(stmt, {"project": self.project_id}).all()
                    for stmt in (ITEM_ROWS, ANNOTATION_ROWS, LEASE_ROWS, SKIP_ROWS, REVIEW_ROWS)]
        items, annotation_rows, leases, skips, reviews = rows
        return Snapshot(list(items), list(annotation_rows), list(leases), {(s.item_id, s.user_id) for s in skips},
                        list(reviews))

    def item_id(self, index: int) -> str:
        return self.item_ids[index % len(self.item_ids)]

    @initialize(overlap=st.sampled_from([1, 1, 2, 3]), n_items=st.integers(1, 4), reviewed=st.booleans(),
                priorities=st.lists(st.integers(0, 2), min_size=5, max_size=5))
    def make_project(self, overlap: int, n_items: int, reviewed: bool, priorities: list[int]) -> None:
        self.review_mode, self.default_overlap = ("all" if reviewed else "none"), overlap
        with transaction(self.factory) as session:
            project = projects.create_project(session, self.owner, name="Q", schema=TEXT_SCHEMA,
                                              default_overlap=overlap, settings={"review_mode": self.review_mode})
            items = [Item(organization_id=project.organization_id, project_id=project.id, external_id=f"e{i}",
                          data={"text": f"text {i}"}, priority=priorities[i]) for i in range(n_items)]
            session.add_all(items)
            session.flush()
            self.project_id, self.item_ids = project.id, [item.id for item in items]
        self.snap = self.read()

    # -- annotators -------------------------------------------------------------------------------------
    @rule(person=PEOPLE)
    def next_item(self, person: int) -> None:
        user_id = self.people[person].user_id
        held, now = self.snap.lease_of(user_id), utcnow()
        with transaction(self.factory) as session:
            project = projects.get_project(session, self.people[person], self.project_id)
            claim = assignments.next_item(session, self.people[person], project)
            lease_id = claim.lease.id if claim.lease is not None else None
        self.snap = after = self.read()
        if held is not None and held.expires_at > now:
            assert lease_id == held.id and claim.renewed, "a live lease is handed back, renewed"
            event("next: live lease renewed")
            return
        assert not any(lease.expires_at < now for lease in after.leases if lease.kind == LeaseKind.annotate), (
            "a new claim reclaims every expired lease of the project")
        if claim.item_id is None:
            assert after.open_for(user_id, self.default_overlap) == [], "204 although an item has room"
            event("next: nothing left")
            return
        assert after.lease_of(user_id).item_id == claim.item_id
        mine = after.annotation_of(claim.item_id, user_id)
        assert mine is None or mine.status != "submitted", "offered an item the person annotated"
        assert (claim.item_id, user_id) not in after.skips, "offered an item the person skipped"
        event("next: new lease")

    @rule(person=PEOPLE, index=ITEMS, draft=st.sampled_from([False, False, False, True]))
    def submit(self, person: int, index: int, draft: bool) -> None:
        self._submit(person, self.item_id(index), draft)

    @rule(person=PEOPLE)
    def submit_leased_item(self, person: int) -> None:
        lease = self.snap.lease_of(self.people[person].user_id)
        if lease is not None:
            self._submit(person, lease.item_id, False)

    def _submit(self, person: int, item_id: str, draft: bool) -> None:
        user_id = self.people[person].user_id
        item, lease = self.snap.item(item_id), self.snap.lease_of(user_id)
        lease = lease if lease is not None and lease.item_id == item_id else None
        mine = self.snap.annotation_of(item_id, user_id)
        submitted_before = mine is not None and mine.status == "submitted"
        room = item.annotation_count + item.leased < (item.overlap or self.default_overlap)
        try:
            with transaction(self.factory) as session:
                project = projects.get_project(session, self.people[person], self.project_id)
                fresh = session.get(Item, item_id)
                assert fresh is not None
                result = annotations.save_annotation(session, self.people[person], project, fresh,
                                                     answers=ANSWERS, draft=draft)
                status, completed_by_others = result.annotation.status, result.completed_by_others
        except Conflict:
            assert draft and submitted_before, "only a draft over a submitted annotation is refused"
            return
        self.snap = after = self.read()
        count = after.item(item_id).annotation_count
        event("submit: " + ("draft" if draft else "change" if submitted_before else "with lease" if lease
                            else "free slot" if room else "completed by others"))
        if draft or submitted_before:
            assert count == item.annotation_count, "a draft or a change counted as a new annotation"
            assert lease is None or after.lease_of(user_id).id == lease.id, "a draft keeps the lease"
        elif lease is not None or room:
            assert not completed_by_others and status == "submitted" and count == item.annotation_count + 1
            assert lease is None or after.lease_of(user_id) is None, "the lease was not consumed"
        else:
            assert completed_by_others and status == "draft" and count == item.annotation_count

    @rule(person=PEOPLE, index=ITEMS)
    def skip(self, person: int, index: int) -> None:
        item_id, user_id = self.item_id(index), self.people[person].user_id
        lease = self.snap.lease_of(user_id)
        held_here = lease is not None and lease.item_id == item_id
        with transaction(self.factory) as session:
            project = projects.get_project(session, self.people[person], self.project_id)
            fresh = session.get(Item, item_id)
            assert fresh is not None
            assignments.skip(session, self.people[person], project, fresh, "unreadable")
        before, self.snap = self.snap, self.read()
        assert (item_id, user_id) in self.snap.skips
        assert self.snap.item(item_id).leased == before.item(item_id).leased - held_here
        if held_here:
            assert self.snap.lease_of(user_id) is None, "a skip releases the person's lease on the item"

    @rule(person=PEOPLE)
    def release(self, person: int) -> None:
        lease = self.snap.lease_of(self.people[person].user_id)
        if lease is None:
            return
        with transaction(self.factory) as session:
            mine = assignments.get_lease(session, self.people[person], lease.id)
            assert assignments.release(session, mine)
        before, self.snap = self.snap, self.read()
        assert self.snap.lease_of(self.people[person].user_id) is None
        assert self.snap.item(lease.item_id).leased == before.item(lease.item_id).leased - 1

    @rule(person=PEOPLE, kind=st.sampled_from([LeaseKind.annotate, LeaseKind.review]))
    def expire(self, person: int, kind: str) -> None:
        with transaction(self.factory) as session:
            session.execute(update(Lease).where(Lease.project_id == self.project_id, Lease.kind == kind,
                                                Lease.user_id == self.people[person].user_id)
                            .values(expires_at=utcnow() - dt.timedelta(seconds=1)))
        self.snap = self.read()

    # -- reviewers --------------------------------------------------------------------------------------
    @precondition(lambda self: self.review_mode == "all")
    @rule(person=REVIEWERS)
    def next_review(self, person: int) -> None:
        with transaction(self.factory) as session:
            project = projects.get_project(session, self.people[person], self.project_id)
            claim = assignments.next_review(session, self.people[person], project)
            annotation_id = claim.lease.annotation_id if claim.lease is not None else None
        self.snap = self.read()
        if annotation_id is None:
            waiting = [a for a in self.snap.annotations if a.review_status == "pending"
                       and a.author_id != self.people[person].user_id
                       and not any(lease.annotation_id == a.id and lease.expires_at > utcnow()
                                   for lease in self.snap.leases)]
            assert waiting == [], "204 although an annotation waits for review"
            return
        [annotation] = [a for a in self.snap.annotations if a.id == annotation_id]
        assert annotation.author_id != self.people[person].user_id, "offered one's own work for review"
        assert annotation.review_status == "pending"

    @precondition(lambda self: self.review_mode == "all")
    @rule(person=REVIEWERS, pick=st.integers(0, 20), decision=DECISIONS, key=st.booleans())
    def decide(self, person: int, pick: int, decision: str, key: bool) -> None:
        submitted = [a for a in self.snap.annotations if a.status == "submitted"]
        if submitted:
            self._decide_on(person, submitted[pick % len(submitted)], decision, key)

    @precondition(lambda self: self.review_mode == "all")
    @rule(person=REVIEWERS, decision=DECISIONS, key=st.booleans())
    def decide_held_annotation(self, person: int, decision: str, key: bool) -> None:
        lease = self.snap.lease_of(self.people[person].user_id, LeaseKind.review)
        if lease is not None:
            [target] = [a for a in self.snap.annotations if a.id == lease.annotation_id]
            self._decide_on(person, target, decision, key)

    def _decide_on(self, person: int, target: Any, decision: str, key: bool) -> None:
        user_id, now = self.people[person].user_id, utcnow()
        holder = next((lease.user_id for lease in self.snap.leases if lease.annotation_id == target.id
                       and lease.kind == LeaseKind.review and lease.expires_at > now), None)
        body: dict[str, Any] = {"decision": decision, "comment": "Wrong." if decision == "reject" else "",
                                "answers": FIXED if decision == "fix" else None,
                                "idempotency_key": str(uuid.uuid4()) if key else None}
        waits = target.review_status in ("pending", None)
        try:
            replayed = self._replay_or_decide(person, target.id, body)
        except Forbidden:
            assert target.author_id == user_id
            event("decide: own work refused")
            return
        except Conflict as exc:
            assert target.author_id != user_id
            assert not waits or holder not in (None, user_id), (
                f"refused ({exc.code}) although the annotation waits and nobody else holds it")
            event(f"decide: {exc.code}")
            return
        self.snap = self.read()
        assert not replayed, "a new key is never a replay"
        assert target.author_id != user_id and waits and holder in (None, user_id)
        event(f"decide: {decision}")
        if key:
            self.last_decision = (person, target.id, body)

    @precondition(lambda self: self.last_decision is not None)
    @rule()
    def replay_decision(self) -> None:
        assert self.last_decision is not None
        person, annotation_id, body = self.last_decision
        assert self._replay_or_decide(person, annotation_id, body), "a retried decision is answered as a replay"
        before, self.snap = self.snap, self.read()
        assert len(self.snap.reviews) == len(before.reviews), "a retried decision was recorded twice"

    def _replay_or_decide(self, person: int, annotation_id: str, body: dict[str, Any]) -> bool:
        with transaction(self.factory) as session:
            annotation = annotations.get_annotation(session, self.people[person], annotation_id)
            project = projects.get_project(session, self.people[person], self.project_id)
            item = session.get(Item, annotation.item_id)
            assert item is not None
            return review.decide(session, self.people[person], project, item, annotation,
                                 decision=body["decision"], comment=body["comment"], answers=body["answers"],
                                 idempotency_key=body["idempotency_key"]).replayed

    # -- the rules of the queue -------------------------------------------------------------------------
    @invariant()
    def queue_is_consistent(self) -> None:
        snap, now = self.snap, utcnow()
        submitted: dict[str, int] = {}
        statuses: dict[str, set[str | None]] = {}
        for a in snap.annotations:
            if a.status == "submitted":
                submitted[a.item_id] = submitted.get(a.item_id, 0) + 1
                statuses.setdefault(a.item_id, set()).add(a.review_status)
        leased: dict[str, int] = {}
        for lease in snap.leases:
            if lease.kind == LeaseKind.annotate:
                leased[lease.item_id] = leased.get(lease.item_id, 0) + 1
                mine = snap.annotation_of(lease.item_id, lease.user_id)
                assert mine is None or mine.status != "submitted", "a lease on an item its holder annotated"
                assert (lease.item_id, lease.user_id) not in snap.skips, "a lease on an item its holder skipped"
        holders = [(lease.user_id, lease.kind) for lease in snap.leases]
        assert len(holders) == len(set(holders)), "two leases of one kind for one person in one project"
        held = [lease.annotation_id for lease in snap.leases
                if lease.kind == LeaseKind.review and lease.expires_at > now]
        assert len(held) == len(set(held)), "two reviewers hold one annotation"
        authors = {a.id: a.author_id for a in snap.annotations}
        assert all(authors[r.annotation_id] != r.reviewer_id for r in snap.reviews), "someone reviewed own work"
        for item in snap.items:
            count, holding = submitted.get(item.id, 0), leased.get(item.id, 0)
            overlap = item.overlap or self.default_overlap
            assert item.annotation_count == count, "annotation_count differs from the submitted annotations"
            assert item.leased == holding, "leased differs from the lease rows"
            assert count + holding <= overlap, "more people than the overlap"
            assert item.state == expected_state(count, holding, overlap, statuses.get(item.id, set()))


def test_queue_rules_hold_under_random_operations(factory, owner):
    actors = [make_actor(factory, Role.annotator, organization_id=owner.organization_id) for _ in range(ANNOTATORS)]
    actors += [make_actor(factory, Role.reviewer, organization_id=owner.organization_id) for _ in range(2)]
    with factory() as session:
        def principal(user_id: str) -> Principal:
            user = session.get(User, user_id)
            assert user is not None
            return accounts.principal_for(session, user, owner.organization_id)

        manager, people = principal(owner.user_id), [principal(actor.user_id) for actor in actors]
    run_state_machine_as_test(
        lambda: QueueMachine(factory, manager, people),
        settings=settings(max_examples=30, stateful_step_count=30, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow]),
    )
