"""Next item, leases, skips, late submits and the review workflow, through the API (in-process)."""

from __future__ import annotations

import datetime as dt

import orjson
from sqlalchemy import select, update

from labelvault.accounts.models import Role
from labelvault.assignments.models import Lease
from labelvault.db.engine import transaction
from labelvault.items.models import Item
from labelvault.testing import TEXT_SCHEMA

POSITIVE = {"sentiment": "positive"}


def _project(client, ctx, owner, n=5, **settings):
    project = client.post("/api/v1/projects", json={"name": "Q", "schema": TEXT_SCHEMA, **settings},
                          headers=owner.headers).json()
    rows = [{"external_id": f"e{i}", "data": {"text": f"text {i}"}, **({"priority": 5} if i == n - 1 else {})}
            for i in range(n)]
    body = b"".join(orjson.dumps(r) + b"\n" for r in rows)
    client.post(f"/api/v1/projects/{project['id']}/imports", params={"filename": "x.jsonl"}, content=body,
                headers=owner.headers)
    ctx.runner.run_until_idle()
    return project


def _next(client, actor, project):
    return client.post(f"/api/v1/projects/{project['id']}/next", headers=actor.headers)


def _submit(client, actor, item_id, answers=POSITIVE, **extra):
    return client.post(f"/api/v1/items/{item_id}/annotations", json={"answers": answers, **extra},
                       headers=actor.headers)


def _expire(factory, lease_id):
    with transaction(factory) as session:
        session.execute(update(Lease).where(Lease.id == lease_id)
                        .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))


def test_next_is_idempotent_and_follows_priority_then_import_order(client, ctx, owner, member_of):
    project = _project(client, ctx, owner)
    annotator = member_of(owner, Role.annotator)
    first = _next(client, annotator, project).json()
    assert first["item"]["external_id"] == "e4"  # the one with priority 5
    again = _next(client, annotator, project).json()
    assert again["lease"]["id"] == first["lease"]["id"]
    assert again["lease"]["expires_at"] >= first["lease"]["expires_at"]
    assert _submit(client, annotator, first["item"]["id"]).status_code == 201
    assert _next(client, annotator, project).json()["item"]["external_id"] == "e0"


def test_overlap_one_hands_each_item_to_one_annotator(client, ctx, owner, member_of):
    project = _project(client, ctx, owner, n=3)
    people = [member_of(owner, Role.annotator) for _ in range(4)]
    got = [_next(client, p, project) for p in people]
    items = [g.json()["item"]["id"] for g in got[:3]]
    assert len(set(items)) == 3
    assert got[3].status_code == 204


def test_overlap_two_lets_two_people_share_an_item(client, ctx, owner, member_of):
    project = _project(client, ctx, owner, n=2, default_overlap=2)
    a, b, c = (member_of(owner, Role.annotator) for _ in range(3))
    item_a = _next(client, a, project).json()["item"]["id"]
    item_b = _next(client, b, project).json()["item"]["id"]
    item_c = _next(client, c, project).json()["item"]["id"]
    assert item_a == item_b != item_c
    assert _submit(client, a, item_a).status_code == 201
    assert _submit(client, b, item_b).status_code == 201
    item = client.get(f"/api/v1/items/{item_a}", headers=owner.headers).json()
    assert item["state"] == "completed" and item["annotation_count"] == 2


def test_skip_needs_a_reason_and_is_never_offered_again(client, ctx, owner, member_of):
    project = _project(client, ctx, owner, n=2)
    annotator = member_of(owner, Role.annotator)
    lease = _next(client, annotator, project).json()
    item_id = lease["item"]["id"]
    empty = client.post(f"/api/v1/items/{item_id}/skip", json={"reason": ""}, headers=annotator.headers)
    assert empty.status_code == 422
    skipped = client.post(f"/api/v1/items/{item_id}/skip", json={"reason": "unreadable"}, headers=annotator.headers)
    assert skipped.status_code == 201 and skipped.json()["reason"] == "unreadable"
    after = _next(client, annotator, project).json()
    assert after["item"]["id"] != item_id
    other = member_of(owner, Role.annotator)
    assert _next(client, other, project).json()["item"]["id"] == item_id


def test_release_returns_the_item(client, ctx, owner, member_of):
    project = _project(client, ctx, owner, n=1)
    a, b = member_of(owner, Role.annotator), member_of(owner, Role.annotator)
    lease = _next(client, a, project).json()["lease"]
    assert _next(client, b, project).status_code == 204
    assert client.delete(f"/api/v1/leases/{lease['id']}", headers=a.headers).status_code == 204
    assert _next(client, b, project).json()["item"]["id"] == lease["item_id"]
    assert client.delete(f"/api/v1/leases/{lease['id']}", headers=b.headers).status_code == 404


def test_expired_lease_returns_the_item_and_a_late_submit_keeps_a_draft(client, ctx, owner, member_of, factory):
    project = _project(client, ctx, owner, n=1)
    slow, fast = member_of(owner, Role.annotator), member_of(owner, Role.annotator)
    lease = _next(client, slow, project).json()
    _expire(factory, lease["lease"]["id"])
    heartbeat = client.post(f"/api/v1/leases/{lease['lease']['id']}/heartbeat", headers=slow.headers)
    assert heartbeat.status_code == 409 and heartbeat.json()["code"] == "lease_expired"
    taken = _next(client, fast, project).json()
    assert taken["item"]["id"] == lease["item"]["id"]
    assert _submit(client, fast, taken["item"]["id"]).status_code == 201
    late = _submit(client, slow, lease["item"]["id"], {"sentiment": "negative"})
    assert late.status_code == 409 and late.json()["code"] == "item_completed"
    kept = client.get(f"/api/v1/annotations/{late.json()['details']['annotation_id']}", headers=slow.headers).json()
    assert kept["status"] == "draft" and kept["answers"] == {"sentiment": "negative"}
    item = client.get(f"/api/v1/items/{lease['item']['id']}", headers=owner.headers).json()
    assert item["annotation_count"] == 1


def test_a_claim_drops_its_own_expired_lease_and_reclaims_the_others(client, ctx, owner, member_of, factory):
    project = _project(client, ctx, owner, n=3)
    first, second = member_of(owner, Role.annotator), member_of(owner, Role.annotator)
    mine, theirs = _next(client, first, project).json(), _next(client, second, project).json()
    _expire(factory, mine["lease"]["id"])
    _expire(factory, theirs["lease"]["id"])
    again = _next(client, first, project).json()
    assert again["lease"]["id"] != mine["lease"]["id"]  # a new lease, not the expired one renewed
    assert again["item"]["id"] == mine["item"]["id"]  # the highest-priority item was free again
    with factory() as session:
        leases = session.scalars(select(Lease)).all()
        leased = dict(session.execute(select(Item.id, Item.leased)).tuples().all())
        states = dict(session.execute(select(Item.id, Item.state)).tuples().all())
    assert [(lease.user_id, lease.item_id) for lease in leases] == [(first.user_id, mine["item"]["id"])]
    assert leased[mine["item"]["id"]] == 1 and leased[theirs["item"]["id"]] == 0  # each slot freed once
    assert states[theirs["item"]["id"]] == "new"
    assert sum(leased.values()) == 1


def test_late_submit_is_accepted_while_the_overlap_has_room(client, ctx, owner, member_of, factory):
    project = _project(client, ctx, owner, n=1)
    annotator = member_of(owner, Role.annotator)
    lease = _next(client, annotator, project).json()
    _expire(factory, lease["lease"]["id"])
    assert _submit(client, annotator, lease["item"]["id"]).status_code == 201


def test_heartbeat_extends_a_live_lease(client, ctx, owner, member_of):
    project = _project(client, ctx, owner, n=1, lease_seconds=60)
    annotator = member_of(owner, Role.annotator)
    lease = _next(client, annotator, project).json()["lease"]
    beat = client.post(f"/api/v1/leases/{lease['id']}/heartbeat", headers=annotator.headers)
    assert beat.status_code == 200 and beat.json()["expires_at"] >= lease["expires_at"]
    other = member_of(owner, Role.annotator)
    assert client.post(f"/api/v1/leases/{lease['id']}/heartbeat", headers=other.headers).status_code == 404


def test_status_counts_items_and_people(client, ctx, owner, member_of):
    project = _project(client, ctx, owner, n=3)
    annotator = member_of(owner, Role.annotator)
    _submit(client, annotator, _next(client, annotator, project).json()["item"]["id"])
    _next(client, annotator, project)
    status = client.get(f"/api/v1/projects/{project['id']}/status", headers=owner.headers).json()
    assert status["items"]["completed"] == 1 and status["items"]["in_progress"] == 1
    assert status["items"]["new"] == 1
    [person] = status["annotators"]
    assert person["email"] == annotator.email and person["submitted"] == 1 and person["leased"] == 1
    assert client.get(f"/api/v1/projects/{project['id']}/status", headers=annotator.headers).status_code == 403


def test_review_reject_returns_to_author_who_fixes_then_accept(client, ctx, owner, member_of):
    project = _project(client, ctx, owner, n=1, review_mode="all")
    author, reviewer = member_of(owner, Role.annotator), member_of(owner, Role.reviewer)
    item_id = _next(client, author, project).json()["item"]["id"]
    submitted = _submit(client, author, item_id).json()
    assert submitted["review_status"] == "pending"
    assert client.get(f"/api/v1/items/{item_id}", headers=owner.headers).json()["state"] == "in_review"
    task = client.post(f"/api/v1/projects/{project['id']}/review/next", headers=reviewer.headers).json()
    assert task["annotation"]["id"] == submitted["id"] and task["annotation"]["author_id"] == author.user_id
    no_comment = client.post(f"/api/v1/annotations/{submitted['id']}/review", json={"decision": "reject"},
                             headers=reviewer.headers)
    assert no_comment.status_code == 422
    rejected = client.post(f"/api/v1/annotations/{submitted['id']}/review",
                           json={"decision": "reject", "comment": "It is neutral."},
                           headers={**reviewer.headers, "Idempotency-Key": "r-1"})
    assert rejected.status_code == 201
    replay = client.post(f"/api/v1/annotations/{submitted['id']}/review",
                         json={"decision": "reject", "comment": "It is neutral."},
                         headers={**reviewer.headers, "Idempotency-Key": "r-1"})
    assert replay.status_code == 200 and replay.json()["id"] == rejected.json()["id"]
    assert client.get(f"/api/v1/items/{item_id}", headers=owner.headers).json()["state"] == "rejected"
    returned = client.get(f"/api/v1/projects/{project['id']}/returned", headers=author.headers).json()
    assert [r["review_comment"] for r in returned] == ["It is neutral."]
    fixed = _submit(client, author, item_id, {"sentiment": "neutral"}).json()
    assert fixed["review_status"] == "pending" and fixed["revision_count"] == 1
    accepted = client.post(f"/api/v1/annotations/{submitted['id']}/review", json={"decision": "accept"},
                           headers=reviewer.headers)
    assert accepted.status_code == 201
    assert client.get(f"/api/v1/items/{item_id}", headers=owner.headers).json()["state"] == "accepted"
    history = client.get(f"/api/v1/annotations/{submitted['id']}/reviews", headers=author.headers).json()
    assert [h["decision"] for h in history] == ["reject", "accept"]
    assert all(h["reviewer_id"] == reviewer.user_id for h in history)


def test_nobody_reviews_their_own_work_and_fix_keeps_the_original(client, ctx, owner, member_of):
    project = _project(client, ctx, owner, n=1, review_mode="all", blind_review=True)
    reviewer_author, reviewer = member_of(owner, Role.reviewer), member_of(owner, Role.reviewer)
    item_id = _next(client, reviewer_author, project).json()["item"]["id"]
    own = _submit(client, reviewer_author, item_id).json()
    assert client.post(f"/api/v1/projects/{project['id']}/review/next",
                       headers=reviewer_author.headers).status_code == 204
    refused = client.post(f"/api/v1/annotations/{own['id']}/review", json={"decision": "accept"},
                          headers=reviewer_author.headers)
    assert refused.status_code == 403
    task = client.post(f"/api/v1/projects/{project['id']}/review/next", headers=reviewer.headers).json()
    assert task["annotation"]["author_id"] is None  # blind review
    fix = client.post(f"/api/v1/annotations/{own['id']}/review",
                      json={"decision": "fix", "answers": {"sentiment": "negative"}}, headers=reviewer.headers)
    assert fix.status_code == 201
    after = client.get(f"/api/v1/annotations/{own['id']}", headers=owner.headers).json()
    assert after["answers"] == {"sentiment": "negative"} and after["review_status"] == "fixed"
    revisions = client.get(f"/api/v1/annotations/{own['id']}/revisions", headers=owner.headers).json()
    assert revisions[-1]["answers"] == POSITIVE
    again = client.post(f"/api/v1/annotations/{own['id']}/review", json={"decision": "accept"},
                        headers=reviewer.headers)
    assert again.status_code == 409


def test_a_review_held_by_one_reviewer_is_not_given_to_another(client, ctx, owner, member_of):
    project = _project(client, ctx, owner, n=1, review_mode="all")
    author = member_of(owner, Role.annotator)
    first, second = member_of(owner, Role.reviewer), member_of(owner, Role.reviewer)
    item_id = _next(client, author, project).json()["item"]["id"]
    annotation = _submit(client, author, item_id).json()
    assert client.post(f"/api/v1/projects/{project['id']}/review/next", headers=first.headers).status_code == 200
    assert client.post(f"/api/v1/projects/{project['id']}/review/next", headers=second.headers).status_code == 204
    held = client.post(f"/api/v1/annotations/{annotation['id']}/review", json={"decision": "accept"},
                       headers=second.headers)
    assert held.status_code == 409 and held.json()["code"] == "review_held"


def test_random_order_hands_out_items_by_priority_then_their_random_rank(client, ctx, owner, member_of, factory):
    project = _project(client, ctx, owner, n=40, queue_order="random")
    assert project["queue_order"] == "random"
    with transaction(factory, write=False) as session:
        ranks = dict(session.execute(select(Item.external_id, Item.queue_rank)
                                     .where(Item.project_id == project["id"])).all())
    assert len(set(ranks.values())) > 30  # drawn at random, not a constant
    annotator = member_of(owner, Role.annotator)
    handed = []
    while (answer := _next(client, annotator, project)).status_code == 200:
        item = answer.json()["item"]
        handed.append(item["external_id"])
        assert _submit(client, annotator, item["id"]).status_code == 201
    assert handed[0] == "e39"  # priority first
    rest = handed[1:]
    assert sorted(rest) == sorted(f"e{i}" for i in range(39))
    assert rest == sorted(rest, key=lambda ext: (ranks[ext], ext))
    assert rest != sorted(rest, key=lambda ext: int(ext[1:]))  # not import order


def test_queue_order_can_be_changed_and_is_checked(client, ctx, owner):
    project = _project(client, ctx, owner, n=1)
    assert project["queue_order"] == "import"
    changed = client.patch(f"/api/v1/projects/{project['id']}", json={"queue_order": "random"}, headers=owner.headers)
    assert changed.status_code == 200 and changed.json()["queue_order"] == "random"
    bad = client.patch(f"/api/v1/projects/{project['id']}", json={"queue_order": "shuffled"}, headers=owner.headers)
    assert bad.status_code == 422 and "queue_order" in bad.text
