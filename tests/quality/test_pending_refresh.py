"""The one pending quality refresh of a project: new submissions join it; one whose job died gives way."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import delete, update
from sqlalchemy.orm import Session, sessionmaker

from labelvault.jobs.models import Job, JobState
from labelvault.kit.clock import utcnow
from labelvault.kit.ids import new_id
from labelvault.quality import repository as repo
from labelvault.quality.models import PendingRefresh
from labelvault.testing import TEXT_SCHEMA, Actor, api_project


def _request(factory: sessionmaker[Session], owner: Actor, project_id: str) -> str | None:
    """Ask for a refresh as a submission does; the job id recorded when this request queued one, else None."""
    job_id = new_id()
    with factory.begin() as session:
        queued = repo.met_and_request_refresh(session, owner.organization_id, project_id, new_id(),
                                              owner.user_id, job_id, utcnow())
        if queued:
            session.add(Job(id=job_id, organization_id=owner.organization_id, project_id=project_id,
                            kind="quality_refresh", params={}, total=0, created_by_id=owner.user_id,
                            state=JobState.queued, checkpoint={}, stats={}))
    return job_id if queued else None


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
