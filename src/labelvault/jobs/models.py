"""Jobs: long work (imports, exports) claimed from the database by any worker, with progress."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from labelvault.db.base import Base, JsonDoc, UtcDateTime, created_column, id_column


class JobState:
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"

    finished = (succeeded, failed)


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_state", "state", "created_at"),)

    id: Mapped[str] = id_column()
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    project_id: Mapped[str | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), nullable=True
    )
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default=JobState.queued)
    params: Mapped[dict[str, Any]] = mapped_column(JsonDoc, nullable=False, default=dict)
    # Progress is committed in the same transaction as the work it counts.
    total: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    done: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    checkpoint: Mapped[dict[str, Any]] = mapped_column(JsonDoc, nullable=False, default=dict)
    stats: Mapped[dict[str, Any]] = mapped_column(JsonDoc, nullable=False, default=dict)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    worker: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_by_id: Mapped[str] = mapped_column(ForeignKey("users.id"), nullable=False)
    created_at: Mapped[dt.datetime] = created_column()
    started_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class ImportProblem(Base):
    """One rejected line of an import: where and why."""

    __tablename__ = "import_problems"
    __table_args__ = (Index("ix_import_problems_job_line", "job_id", "line"),)

    id: Mapped[str] = id_column()
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False)
    line: Mapped[int] = mapped_column(Integer, nullable=False)
    field: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    reason: Mapped[str] = mapped_column(Text, nullable=False)
