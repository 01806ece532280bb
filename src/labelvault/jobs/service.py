"""Job rules: creating jobs, reading their progress, claiming them for a worker."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from labelvault.errors import NotFound
from labelvault.jobs import repository as repo
from labelvault.jobs.models import ImportProblem, Job, JobState
from labelvault.kit.clock import utcnow
from labelvault.kit.ids import new_id
from labelvault.security.policy import Principal


def create_job(
    session: Session, principal: Principal, kind: str, params: dict[str, Any], *,
    project_id: str | None = None, total: int = 0, job_id: str | None = None,
) -> Job:
    job = Job(
        organization_id=principal.organization_id, project_id=project_id, kind=kind, params=params,
        total=total, created_by_id=principal.user_id, state=JobState.queued, checkpoint={}, stats={},
    )
    if job_id is not None:
        job.id = job_id
    session.add(job)
    session.flush()
    return job


def queued_row(organization_id: str, kind: str, params: dict[str, Any], *, created_by_id: str,
               project_id: str | None = None, job_id: str | None = None) -> dict[str, Any]:
    """Every column of a new queued job, as `create_job` makes it: for a statement that writes the job itself
    (when a condition of its own holds, see `quality.repository.met_and_queue_refresh`)."""
    return {"id": job_id or new_id(), "organization_id": organization_id, "project_id": project_id, "kind": kind,
            "state": JobState.queued, "params": params, "total": 0, "done": 0, "checkpoint": {}, "stats": {},
            "error": None, "attempts": 0, "worker": None, "created_by_id": created_by_id, "created_at": utcnow(),
            "started_at": None, "heartbeat_at": None, "finished_at": None}


def get_job(session: Session, principal: Principal, job_id: str) -> Job:
    job = repo.job(session, principal.organization_id, job_id)
    if job is None or (job.created_by_id != principal.user_id and principal.role.value == "annotator"):
        raise NotFound("job")
    return job


def problems(session: Session, job: Job, after: tuple[int, str] | None, limit: int) -> list[ImportProblem]:
    """A page of the job's rejected lines, after the (line, id) of the previous page's last one."""
    return list(repo.problems_page(session, job.organization_id, job.id, after, limit))


def claim_next(session: Session, worker: str, stale_seconds: int) -> Job | None:
    """Claim the oldest queued job, or a running one whose worker went silent."""
    now = utcnow()
    stale_before = now - dt.timedelta(seconds=stale_seconds)
    for job_id in repo.claimable_job_ids(session, stale_before):
        if repo.try_claim(session, job_id, worker, now, stale_before):
            session.flush()
            job = repo.job_by_id(session, job_id)
            if job is not None:
                session.refresh(job)
            return job
    return None


def finish(session: Session, job: Job, worker: str, *, error: str | None = None) -> None:
    now = utcnow()
    values: dict[str, Any] = {
        "state": JobState.failed if error else JobState.succeeded, "finished_at": now, "heartbeat_at": now,
        "error": error,
    }
    repo.record_progress(session, job.id, worker, values)


def progress(session: Session, job_id: str, worker: str, values: dict[str, Any]) -> bool:
    values = {**values, "heartbeat_at": utcnow()}
    return repo.record_progress(session, job_id, worker, values)


def add_problems(session: Session, rows: list[dict[str, Any]]) -> None:
    repo.add_problems(session, rows)


def load_job(session: Session, job_id: str) -> Job | None:
    return repo.job_by_id(session, job_id)
