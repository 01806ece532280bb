"""Items (units of data to label) and the record of deleted ones."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from labelvault.crypto.content import ITEM_DATA, Sealed
from labelvault.db.base import Base, JsonDoc, UtcDateTime, created_column, id_column


class ItemState:
    new = "new"
    in_progress = "in_progress"
    completed = "completed"
    in_review = "in_review"
    accepted = "accepted"
    rejected = "rejected"
    disputed = "disputed"  # annotators disagree beyond the project's agreement rule (quality control)

    all = (new, in_progress, completed, in_review, accepted, rejected, disputed)


def random_rank() -> int:
    """A queue rank: uniform over the non-negative 32-bit integers (not a secret, so not from `secrets`)."""
    return random.getrandbits(31)


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("project_id", "external_id"),
        Index("ix_items_project_id_id", "project_id", "id"),
        Index("ix_items_project_state", "project_id", "state", "priority", "id"),
        # The queues: only items still open for annotation, per pool, in the order they are handed out.
        Index("ix_items_queue", "project_id", "pool", text("priority DESC"), "id",
              sqlite_where=text("state IN ('new', 'in_progress')"),
              postgresql_where=text("state IN ('new', 'in_progress')")),
        # The item browser's "highest priority, then newest first" order (read backwards), any state. Not the
        # queue's order, so that the next-item query never takes it instead of a queue index.
        Index("ix_items_browse_priority", "project_id", "priority", "id"),
        # The same queue in random order within a priority (projects with queue_order "random").
        Index("ix_items_queue_random", "project_id", "pool", text("priority DESC"), "queue_rank", "id",
              sqlite_where=text("state IN ('new', 'in_progress')"),
              postgresql_where=text("state IN ('new', 'in_progress')")),
    )

    id: Mapped[str] = id_column()
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False)
    external_id: Mapped[str] = mapped_column(String(256), nullable=False)
    # The item's data, stored only sealed (crypto/content.py); `data` is its plaintext.
    sealed_data: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    data = Sealed("sealed_data", lambda item: (item.id, ITEM_DATA))
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JsonDoc, nullable=False, default=dict)
    overlap: Mapped[int | None] = mapped_column(Integer, nullable=True)
    priority: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default=ItemState.new)
    annotation_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # Leases held on the item (live or expired but not yet reclaimed); with annotation_count it fills the overlap.
    leased: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    # Who may receive the item, set by the project's routing rules: "" for the organization's own people,
    # else a team's or vendor's id, followed by "/skill" when the rule asks for a skill.
    pool: Mapped[str] = mapped_column(String(110), nullable=False, default="", server_default="")
    import_job_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    # Drawn at random when the item is created: its place within its priority when the project hands out
    # items in random order.
    queue_rank: Mapped[int] = mapped_column(Integer, nullable=False, default=random_rank,
                                            server_default="0")
    created_at: Mapped[dt.datetime] = created_column()
    updated_at: Mapped[dt.datetime] = created_column()


class ItemDeletion(Base):
    """Who deleted which item and when; the item and its annotations are gone."""

    __tablename__ = "item_deletions"

    id: Mapped[str] = id_column()
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False)
    item_id: Mapped[str] = mapped_column(String(36), nullable=False)
    external_id: Mapped[str] = mapped_column(String(256), nullable=False)
    annotation_count: Mapped[int] = mapped_column(Integer, nullable=False)
    deleted_by_id: Mapped[str] = mapped_column(ForeignKey("users.id"), nullable=False)
    deleted_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), nullable=False)


class ItemStateCount(Base):
    """Items per state per project, kept by database triggers on `items` (see migrations 0003 and 0004), so that
    counts are a lookup of a few rows, never a count over millions. PostgreSQL spreads updates over
    shards (one per database connection) to avoid one hot row under concurrent writes."""

    __tablename__ = "item_state_counts"

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), primary_key=True)
    shard: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    n: Mapped[int] = mapped_column(Integer, nullable=False)
