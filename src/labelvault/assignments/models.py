"""Leases (time-limited claims of an item by one person) and skips."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from labelvault.db.base import Base, UtcDateTime, created_column, id_column


class LeaseKind:
    annotate = "annotate"
    review = "review"


class Lease(Base):
    __tablename__ = "leases"
    __table_args__ = (
        # One lease per person, project and kind: asking for the next item again returns the same lease.
        UniqueConstraint("project_id", "user_id", "kind"),
        Index("ix_leases_expiry", "project_id", "kind", "expires_at"),
        Index("ix_leases_item", "item_id"),
    )

    id: Mapped[str] = id_column()
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), nullable=False)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    annotation_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[dt.datetime] = created_column()
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), nullable=False)


class Skip(Base):
    __tablename__ = "skips"
    __table_args__ = (UniqueConstraint("item_id", "user_id"), Index("ix_skips_project_user", "project_id", "user_id"))

    id: Mapped[str] = id_column()
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), nullable=False)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[dt.datetime] = created_column()
