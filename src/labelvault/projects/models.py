"""Projects and their versioned label schemas."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from labelvault.db.base import Base, JsonDoc, UtcDateTime, created_column, id_column


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[str] = id_column()
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    guidelines: Mapped[str] = mapped_column(Text, nullable=False, default="")
    default_overlap: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    schema_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    lease_seconds: Mapped[int] = mapped_column(Integer, nullable=False, default=1800, server_default="1800")
    review_mode: Mapped[str] = mapped_column(String(16), nullable=False, default="none", server_default="none")
    review_sample_percent: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    # How items of one priority are handed out: "import" (import order) or "random".
    queue_order: Mapped[str] = mapped_column(String(16), nullable=False, default="import", server_default="import")
    # True once the project has routing rules: only then does a claim look beyond the organization's own pool.
    routed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    blind_review: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    created_by_id: Mapped[str] = mapped_column(ForeignKey("users.id"), nullable=False)
    created_at: Mapped[dt.datetime] = created_column()
    updated_at: Mapped[dt.datetime] = created_column()
    archived_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class ProjectSchema(Base):
    """One version of a project's label schema; never changed once written."""

    __tablename__ = "project_schemas"
    __table_args__ = (UniqueConstraint("project_id", "version"),)

    id: Mapped[str] = id_column()
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    definition: Mapped[dict[str, Any]] = mapped_column(JsonDoc, nullable=False)
    created_by_id: Mapped[str] = mapped_column(ForeignKey("users.id"), nullable=False)
    created_at: Mapped[dt.datetime] = created_column()
