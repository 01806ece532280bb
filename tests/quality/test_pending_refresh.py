"""The one pending quality refresh of a project: new submissions join it; one whose job died gives way."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import delete, update
from sqlalchemy.orm import Session, sessionmaker

from labelvault.jobs import service as jobs
from labelvault.jobs.models import Job, JobState
from labelvault.kit.ids import new_id
from labelvault.quality import repository as repo
from labelvault.quality.models import PendingRefresh
from labelvault.testing import TEXT_SCHEMA, Actor, api_project


def _request(factory: sessionmaker[Session], owner: Actor, project_id: str) -> str | None:
    """Ask for a refresh as a submission does; the id of the job queued by this request (its row written by
    the same statement), else None."""
    job = jobs.queued_row(owner.organization_id, "quality_refresh", {"project_id": project_id, "complete": False},
                          created_by_id=owner.user_id, project_id=project_id)
    with factory.begin() as session:
        repo.met_and_queue_refresh(session, owner.organization_id, project_id, new_id(), owner.user_id, job)
    with factory() as session:
        queued = session.get(Job, job["id"])
        assert queued is None or (queued.state, queued.kind, queued.created_by_id) == (
            JobState.queued, "quality_refresh", owner.user_id)
        return None if queued is None else queued.id


def test_a_dead_pending_refresh_gives_way_whatever_other_projects_have_pending(
        client: TestClient, ctx, factory: sessionmaker[Session], owner: Actor) -> None:  # type: ignore[no-untyped-def]
    first = api_project(client, owner, TEXT_SCHEMA, [], ctx.runner, name="first")
    second = api_project(client, owner, TEXT_SCHEMA, [], ctx.runner, name="second")
    for project_id in (first, second):  # both use quality control
        assert client.patch(f"/api/v1/projects/{project_id}/quality/settings", json={"gold_rate": 0.0},
                          headers=owner.headers).status_code in (200, 201)
    with factory.begin() as session:  # start with none pending (changing the settings may have asked for one)
        session.execute(delete(PendingRefresh))

    dead = _request(factory, owner, first)
    live = _request(factory, owner, second)
    assert dead is not None and live is not None
    assert _request(factory, owner, first) is None, "a second submission joins the pending refresh"

    with factory.begin() as session:  # the first project's job failed before its handler ran
        session.execute(update(Job).where(Job.id == dead).values(state=JobState.failed))
    again = _request(factory, owner, first)
    assert again is not None and again != dead, "a pending refresh whose job is gone gives way"
    with factory() as session:
        assert session.get(PendingRefresh, first).job_id == again  # type: ignore[union-attr]
        assert session.get(PendingRefresh, second).job_id == live  # type: ignore[union-attr]
