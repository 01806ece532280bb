"""Teams (in-house groups) and vendors (outside workforces), their members, and a project's routing rules."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from labelvault.db.base import Base, JsonDoc, UtcDateTime, created_column, id_column


class WorkforceKind:
    team = "team"
    vendor = "vendor"

    all = (team, vendor)


class Workforce(Base):
    """A team of the organization's own people, or a vendor: an outside company whose people work here.

    A vendor's people are members of the organization whose membership names the vendor; they see only
    what the project's routing rules send to the vendor, and nothing of other vendors."""

    __tablename__ = "workforces"
    __table_args__ = (UniqueConstraint("organization_id", "kind", "name"),)

    id: Mapped[str] = id_column()
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[dt.datetime] = created_column()
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # A vendor's internal QA: the share (percent) of its people's submitted work that its own reviewers check
    # before the work goes on to the owner's review. 0: none.
    review_percent: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")


class TeamMember(Base):
    """An in-house member's place in a team (a person may be in several teams)."""

    __tablename__ = "team_members"

    team_id: Mapped[str] = mapped_column(ForeignKey("workforces.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    created_at: Mapped[dt.datetime] = created_column()


class RoutingRule(Base):
    """Which items of a project a team or vendor receives: the first rule (by position) an item matches
    decides its pool; an item that matches none stays with the organization's own people.

    `match` holds metadata conditions: {"metadata": {"key": value or [values]}, "tags": [any of], "split": s}.
    `skill`, when set, is needed by whoever receives the item."""

    __tablename__ = "routing_rules"
    __table_args__ = (Index("ix_routing_rules_project", "project_id", "position"),)

    id: Mapped[str] = id_column()
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    # None: the organization's own people (any team).
    workforce_id: Mapped[str | None] = mapped_column(
        ForeignKey("workforces.id", ondelete="CASCADE"), nullable=True, index=True
    )
    match: Mapped[dict[str, Any]] = mapped_column(JsonDoc, nullable=False, default=dict)
    skill: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[dt.datetime] = created_column()
