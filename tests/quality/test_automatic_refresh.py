"""The quality results follow the annotations by themselves: submissions and review decisions queue one refresh
job per project (a burst makes one job), the job redoes only what changed since its watermark, and a failing
annotator is suspended as soon as the worker has run it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update
from tests.quality.test_gold_queue import _answer, _gold, _next
from tests.quality.test_quality_api import make_project, refresh, submit

from labelvault.accounts.models import Role
from labelvault.db.engine import transaction
from labelvault.jobs.models import Job
from labelvault.quality import refresh as refresh_job


def _refresh_jobs(factory, project_id, state=None):
    with factory() as session:
        stmt = select(Job).where(Job.project_id == project_id, Job.kind == "quality_refresh")
        if state is not None:
            stmt = stmt.where(Job.state == state)
        return list(session.scalars(stmt.order_by(Job.created_at)))


def _use_quality(client, owner, project_id, **settings):
    response = client.patch(f"/api/v1/projects/{project_id}/quality/settings", json=settings, headers=owner.headers)
    assert response.status_code == 200, response.text


def test_a_burst_of_submissions_queues_one_refresh(client, ctx, owner, member_of, factory):
    project_id, items = make_project(client, ctx, owner, items=4)
    items, spare = items[:3], items[3]
    _use_quality(client, owner, project_id, rating_tolerance=1)
    ctx.runner.run_until_idle()  # the refresh the settings change queued
    people = [member_of(owner, Role.annotator) for _ in range(3)]
    for person in people:
        for item in items:
            submit(client, person, item["id"], {"sentiment": "positive"})
    queued = _refresh_jobs(factory, project_id, "queued")
    assert len(queued) == 1  # nine submissions, one job
    # A manager asking for a refresh now gets the same job.
    asked = client.post(f"/api/v1/projects/{project_id}/quality/refresh", headers=owner.headers)
    assert asked.status_code == 202 and asked.json()["id"] == queued[0].id
    ctx.runner.run_until_idle()
    job = client.get(f"/api/v1/jobs/{queued[0].id}", headers=owner.headers).json()
    assert job["state"] == "succeeded" and job["stats"]["items"] == 3
    aggregates = client.get(f"/api/v1/projects/{project_id}/aggregates", headers=owner.headers).json()["items"]
    assert {a["item_id"] for a in aggregates} == {i["id"] for i in items}
    report = client.get(f"/api/v1/projects/{project_id}/quality/report", headers=owner.headers).json()["report"]
    assert report["annotations"] == 9
    # Once the job has started, the next submission queues the next one.
    late = member_of(owner, Role.annotator)
    submit(client, late, spare["id"], {"sentiment": "negative"})
    assert len(_refresh_jobs(factory, project_id, "queued")) == 1


def test_a_project_without_quality_control_queues_nothing(client, ctx, owner, member_of, factory):
    project_id, items = make_project(client, ctx, owner, items=2)
    annotator = member_of(owner, Role.annotator)
    submit(client, annotator, items[0]["id"], {"sentiment": "positive"})
    assert _refresh_jobs(factory, project_id) == []


def test_an_annotator_failing_gold_gets_no_more_items_once_the_worker_ran(client, ctx, owner, member_of):
    project_id, items = make_project(client, ctx, owner, items=6)
    _gold(client, owner, project_id, items[:2], 1.0)
    _use_quality(client, owner, project_id, auto_suspend=True, gold_min_items=2, gold_window=5)
    careless, careful = member_of(owner, Role.annotator), member_of(owner, Role.annotator)
    for person, sentiment in ((careless, "positive"), (careful, "negative")):
        for _ in range(2):
            claimed = _next(client, person, project_id)
            assert claimed.status_code == 200
            _answer(client, person, claimed.json(), sentiment)
    # Nobody pressed refresh: the worker runs the job the gold answers queued.
    ctx.runner.run_until_idle()
    refused = _next(client, careless, project_id)
    assert refused.status_code == 403 and refused.json()["code"] == "suspended"
    assert _next(client, careful, project_id).status_code == 200
    suspensions = client.get(f"/api/v1/projects/{project_id}/quality/suspensions", headers=owner.headers).json()
    assert [s["user_id"] for s in suspensions] == [careless.user_id]


def test_the_refresh_redoes_only_what_changed_until_the_settings_change(client, ctx, owner, member_of, monkeypatch):
    monkeypatch.setattr(refresh_job, "WATERMARK_LAG", dt.timedelta(0))
    project_id, items = make_project(client, ctx, owner, items=4)
    _use_quality(client, owner, project_id, auto_suspend=True)
    people = [member_of(owner, Role.annotator) for _ in range(2)]
    for person in people:
        for item in items:
            submit(client, person, item["id"], {"sentiment": "positive"})
    first = refresh(client, ctx, owner, project_id)
    assert first["stats"]["items"] == 4 and first["stats"]["full"] is True
    submit(client, member_of(owner, Role.annotator), items[2]["id"], {"sentiment": "neutral"})
    second = refresh(client, ctx, owner, project_id)
    assert second["stats"]["items"] == 1 and second["stats"]["full"] is False
    # New settings change every score: the next refresh takes every item again.
    _use_quality(client, owner, project_id, rating_tolerance=1)
    third = refresh(client, ctx, owner, project_id)
    assert third["stats"]["items"] == 4 and third["stats"]["full"] is True


def test_a_review_decision_queues_a_refresh(client, ctx, owner, member_of, factory):
    created = client.post("/api/v1/projects", json={"name": "R", "schema": {
        "fields": [{"name": "text", "kind": "text"}],
        "questions": [{"name": "sentiment", "type": "single_choice",
                       "options": [{"value": "positive"}, {"value": "negative"}]}]},
        "default_overlap": 1, "review_mode": "all"}, headers=owner.headers)
    assert created.status_code == 201, created.text
    project_id = created.json()["id"]
    imported = client.post(f"/api/v1/projects/{project_id}/imports", params={"filename": "items.jsonl"},
                           content=b'{"external_id": "a", "data": {"text": "x"}}\n', headers=owner.headers)
    assert imported.status_code == 202, imported.text
    ctx.runner.run_until_idle()
    _use_quality(client, owner, project_id, rating_tolerance=0)
    annotator, reviewer = member_of(owner, Role.annotator), member_of(owner, Role.reviewer)
    claimed = _next(client, annotator, project_id)
    assert claimed.status_code == 200, claimed.text
    _answer(client, annotator, claimed.json(), "positive")
    ctx.runner.run_until_idle()
    before = len(_refresh_jobs(factory, project_id))
    review = client.post(f"/api/v1/projects/{project_id}/review/next", headers=reviewer.headers)
    assert review.status_code == 200, review.text
    annotation_id = review.json()["lease"]["annotation_id"]
    decided = client.post(f"/api/v1/annotations/{annotation_id}/review",
                          json={"decision": "reject", "comment": "not positive"}, headers=reviewer.headers)
    assert decided.status_code in (200, 201), decided.text
    assert len(_refresh_jobs(factory, project_id)) == before + 1
    ctx.runner.run_until_idle()
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Job).where(
            Job.project_id == project_id, Job.state != "succeeded")) == 0


def test_the_annotator_whose_answer_queued_a_refresh_cannot_read_it(client, ctx, owner, member_of, factory):
    project_id, items = make_project(client, ctx, owner, items=2)
    _gold(client, owner, project_id, items[:1], 1.0)
    ctx.runner.run_until_idle()
    annotator = member_of(owner, Role.annotator)
    _answer(client, annotator, _next(client, annotator, project_id).json())
    (job,) = _refresh_jobs(factory, project_id, "queued")
    assert job.created_by_id == owner.user_id
    assert client.get(f"/api/v1/jobs/{job.id}", headers=annotator.headers).status_code == 404
    assert client.get(f"/api/v1/jobs/{job.id}", headers=owner.headers).status_code == 200


def test_a_refresh_that_never_ran_does_not_block_the_next(client, ctx, owner, member_of, factory):
    project_id, items = make_project(client, ctx, owner, items=2)
    _use_quality(client, owner, project_id, rating_tolerance=1)
    (stuck,) = _refresh_jobs(factory, project_id, "queued")
    with transaction(factory) as session:  # e.g. given up after too many crashed attempts
        session.execute(update(Job).where(Job.id == stuck.id).values(state="failed"))
    submit(client, member_of(owner, Role.annotator), items[0]["id"], {"sentiment": "positive"})
    (queued,) = _refresh_jobs(factory, project_id, "queued")
    assert queued.id != stuck.id


def test_project_wide_work_waits_until_it_is_due(client, ctx, owner, member_of, factory, monkeypatch):
    monkeypatch.setattr(refresh_job, "DUE_MIN", dt.timedelta(hours=1))  # however slow this machine is today
    project_id, items = make_project(client, ctx, owner, items=4)
    _use_quality(client, owner, project_id, method="dawid_skene")
    people = [member_of(owner, Role.annotator) for _ in range(2)]
    for person in people:
        for item in items[:3]:
            submit(client, person, item["id"], {"sentiment": "positive"})
    first = refresh(client, ctx, owner, project_id)  # asked by a manager: everything now
    assert first["stats"]["report"] is True and first["stats"]["project_aggregates"] == 3
    submit(client, people[0], items[3]["id"], {"sentiment": "negative"})
    (automatic,) = _refresh_jobs(factory, project_id, "queued")
    ctx.runner.run_until_idle()
    stats = client.get(f"/api/v1/jobs/{automatic.id}", headers=owner.headers).json()["stats"]
    # Neither the report nor a Dawid-Skene pass is due: the new item gets its majority vote, the others keep theirs.
    assert "report" not in stats and "project_aggregates" not in stats
    latest = {(a["item_id"], a["question"]): a for a in
              client.get(f"/api/v1/projects/{project_id}/aggregates", headers=owner.headers).json()["items"]}
    assert latest[(items[3]["id"], "sentiment")]["method"] == "majority"
    assert latest[(items[0]["id"], "sentiment")]["method"] == "dawid_skene"
    report = client.get(f"/api/v1/projects/{project_id}/quality/report", headers=owner.headers).json()["report"]
    assert report["annotations"] == 6
    again = refresh(client, ctx, owner, project_id)
    assert again["stats"]["report"] is True and again["stats"]["project_aggregates"] == 4
