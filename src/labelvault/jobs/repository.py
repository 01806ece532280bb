"""Every query of the jobs domain."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.orm import Session

from labelvault.db.scope import scoped
from labelvault.jobs.models import ImportProblem, Job, JobState


def job(session: Session, organization_id: str, job_id: str) -> Job | None:
    return session.scalars(scoped(select(Job), Job, organization_id).where(Job.id == job_id)).first()


def claimable_job_ids(session: Session, stale_before: dt.datetime, limit: int = 5) -> Sequence[str]:
    # unscoped: the worker claims jobs of every organization; each job carries its own.
    stmt = (
        select(Job.id)
        .where(or_(Job.state == JobState.queued,
                   (Job.state == JobState.running) & (Job.heartbeat_at < stale_before)))
        .order_by(Job.created_at)
        .limit(limit)
    )
    return session.scalars(stmt).all()


def try_claim(session: Session, job_id: str, worker: str, now: dt.datetime, stale_before: dt.datetime) -> bool:
    """Take the job if it is still free; correct on both databases because the UPDATE re-checks."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id)
        .where(or_(Job.state == JobState.queued,
                   (Job.state == JobState.running) & (Job.heartbeat_at < stale_before)))
        .values(state=JobState.running, worker=worker, heartbeat_at=now, started_at=now,
                attempts=Job.attempts + 1)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def record_progress(session: Session, job_id: str, worker: str, values: dict[str, Any]) -> bool:
    """Update a running job's progress if this worker still owns it."""
    result = session.execute(
        update(Job).where(Job.id == job_id, Job.worker == worker, Job.state == JobState.running).values(**values)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def job_by_id(session: Session, job_id: str) -> Job | None:
    # unscoped: the worker reads back the job it has just claimed.
    return session.get(Job, job_id)


def add_problems(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(ImportProblem), rows)


def problems_page(
    session: Session, organization_id: str, job_id: str, after: tuple[int, str] | None, limit: int
) -> Sequence[ImportProblem]:
    """Problems in (line, id) order after `after`: several can share a line (e.g. a one-line JSON array)."""
    stmt = scoped(select(ImportProblem), ImportProblem, organization_id).where(ImportProblem.job_id == job_id)
    if after is not None:
        line, problem_id = after
        stmt = stmt.where(or_(ImportProblem.line > line,
                              and_(ImportProblem.line == line, ImportProblem.id > problem_id)))
    return session.scalars(stmt.order_by(ImportProblem.line, ImportProblem.id).limit(limit)).all()
