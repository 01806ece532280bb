"""A lease reclaimed by someone else's claim while its holder submits, skips or releases it at the same
moment: the slot is freed once, never twice (on PostgreSQL the holder's request waits on the claim's row
lock; on SQLite it waits for the claim's write transaction)."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from sqlalchemy import func, select, text, update

from labelvault.accounts import service as accounts
from labelvault.accounts.models import Role, User
from labelvault.annotations import service as annotations
from labelvault.annotations.models import Annotation
from labelvault.assignments import service as assignments
from labelvault.assignments.models import Lease
from labelvault.db.engine import begin_write, transaction
from labelvault.items.models import Item
from labelvault.kit.clock import utcnow
from labelvault.projects import service as projects
from labelvault.testing import TEXT_SCHEMA


def principal(factory, actor):
    with factory() as session:
        user = session.get(User, actor.user_id)
        return accounts.principal_for(session, user, actor.organization_id)


def one_item_project(factory, owner):
    with transaction(factory) as session:
        project = projects.create_project(session, principal(factory, owner), name="Race", schema=TEXT_SCHEMA)
        item = Item(organization_id=owner.organization_id, project_id=project.id, external_id="e0",
                    data={"text": "a"})
        session.add(item)
        session.flush()
        return project.id, item.id


def wait_until_blocked(factory, thread: threading.Thread) -> None:
    """Until the holder's request waits on a lock held by the claim (PostgreSQL), or a moment (SQLite)."""
    deadline = time.monotonic() + 10
    with factory() as session:
        while session.get_bind().dialect.name == "postgresql" and time.monotonic() < deadline:
            waiting = session.scalar(text("SELECT count(*) FROM pg_stat_activity "
                                          "WHERE datname = current_database() AND wait_event_type = 'Lock'"))
            session.rollback()
            if waiting:
                return
            assert thread.is_alive(), "the holder's request did not wait for the claim"
            time.sleep(0.01)
    time.sleep(0.2)


def holder_acts(factory, who, project_id, item_id, action, outcome):
    with transaction(factory) as session:
        project = projects.get_project(session, who, project_id)
        item = session.get(Item, item_id)
        if action == "submit":
            result = annotations.save_annotation(session, who, project, item, answers={"sentiment": "positive"})
            outcome["completed_by_others"] = result.completed_by_others
        elif action == "skip":
            assignments.skip(session, who, project, item, "unreadable")
        else:
            lease = session.scalars(select(Lease).where(Lease.user_id == who.user_id)).first()
            outcome["released"] = lease is not None and assignments.release(session, lease)


@pytest.mark.parametrize("action", ["submit", "skip", "release"])
def test_a_lease_reclaimed_while_its_holder_acts_frees_one_slot(factory, owner, member_of, action):
    project_id, item_id = one_item_project(factory, owner)
    slow = principal(factory, member_of(owner, Role.annotator))
    fast = principal(factory, member_of(owner, Role.annotator))
    with transaction(factory) as session:
        assignments.next_item(session, slow, projects.get_project(session, slow, project_id))
        session.execute(update(Lease).values(expires_at=utcnow() - dt.timedelta(seconds=1)))

    # `fast` claims: the expired lease is reclaimed and the item handed on, not committed yet...
    claim = factory()
    try:
        begin_write(claim)
        assert assignments.next_item(claim, fast, projects.get_project(claim, fast, project_id)).item_id == item_id
        # ...while `slow` submits, skips or releases the lease it still sees.
        outcome: dict[str, bool] = {}
        holder = threading.Thread(target=holder_acts, args=(factory, slow, project_id, item_id, action, outcome))
        holder.start()
        wait_until_blocked(factory, holder)
        claim.commit()
    finally:
        claim.close()
    holder.join(30)
    assert not holder.is_alive()

    with factory() as session:
        item = session.get(Item, item_id)
        leases = session.scalar(select(func.count()).select_from(Lease).where(Lease.item_id == item_id))
        submitted = session.scalar(select(func.count()).select_from(Annotation)
                                   .where(Annotation.item_id == item_id, Annotation.status == "submitted"))
    assert leases == 1 and item.leased == 1, "the reclaimed lease freed its slot twice"
    assert submitted == item.annotation_count == 0 and item.state == "in_progress"
    if action == "submit":
        assert outcome == {"completed_by_others": True}, "the late submit took the slot handed to someone else"
    if action == "release":
        assert outcome == {"released": False}
