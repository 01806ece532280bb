"""Quality control: gold answers, per-project settings, cached scores, aggregates and reports."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from labelvault.crypto.content import Sealed, answers_field, exam_data_field
from labelvault.db.base import Base, JsonDoc, UtcDateTime, created_column, id_column


class AggregationMethod:
    majority = "majority"
    weighted = "weighted"  # votes weighted by each annotator's gold accuracy
    dawid_skene = "dawid_skene"

    all = (majority, weighted, dawid_skene)


class QualitySettings(Base):
    """A project's quality rules; a project without a row uses the defaults of the schema `QualitySettingsIn`."""

    __tablename__ = "quality_settings"

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    method: Mapped[str] = mapped_column(String(16), nullable=False, default=AggregationMethod.majority)
    # Ratings and rubric scores within this distance of the gold answer count as right.
    rating_tolerance: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    box_iou_threshold: Mapped[float] = mapped_column(Float, nullable=False, default=0.5)
    gold_threshold: Mapped[float] = mapped_column(Float, nullable=False, default=0.8)
    confidence_threshold: Mapped[float] = mapped_column(Float, nullable=False, default=0.7)
    max_overlap: Mapped[int] = mapped_column(Integer, nullable=False, default=5)
    # Adaptive overlap: one more annotation for completed items below `confidence_threshold` (up to
    # `max_overlap`); open items whose every aggregate reaches `early_stop_confidence` close early.
    adaptive_overlap: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    early_stop_confidence: Mapped[float] = mapped_column(Float, nullable=False, default=1.0)
    # Automatic suspension: an annotator whose mean score over their last `gold_window` gold items (at least
    # `gold_min_items` of them) is below `gold_threshold` gets no more items until a manager reinstates them.
    auto_suspend: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    gold_window: Mapped[int] = mapped_column(Integer, nullable=False, default=10)
    gold_min_items: Mapped[int] = mapped_column(Integer, nullable=False, default=3)
    # Qualification: no items until the person passes the exam (mean score >= threshold) within the attempts.
    qualification_required: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    qualification_threshold: Mapped[float] = mapped_column(Float, nullable=False, default=0.8)
    qualification_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=2)
    # Gold items in the queue: the share of claims (0..1) that first look for a gold item the person has not seen.
    gold_rate: Mapped[float] = mapped_column(Float, nullable=False, default=0.0, server_default="0")
    # Submitted annotations changed up to this moment are reflected in the cached scores and aggregates.
    refreshed_through: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    updated_at: Mapped[dt.datetime] = created_column()


class GoldAnswer(Base):
    """The known answers of a gold item. Kept apart from the item, so no item payload can reveal it."""

    __tablename__ = "gold_answers"
    __table_args__ = (
        UniqueConstraint("item_id"),
        Index("ix_gold_answers_project", "project_id", "item_id"),
        # The order gold items are handed out in: ids grow with creation time, so a gold item added later comes
        # after every person's place in the walk (GoldCursor) and nobody misses it.
        Index("ix_gold_answers_project_order", "project_id", "id"),
    )

    id: Mapped[str] = id_column()
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), nullable=False)
    # Stored only sealed (crypto/content.py); `answers` is the plaintext.
    sealed_answers: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    answers = Sealed("sealed_answers", lambda row: (row.item_id, answers_field("gold", row.id)))
    created_by_id: Mapped[str] = mapped_column(ForeignKey("users.id"), nullable=False)
    created_at: Mapped[dt.datetime] = created_column()
    updated_at: Mapped[dt.datetime] = created_column()


class GoldExposure(Base):
    """A gold item someone held and gave back (released, skipped or expired): they are not offered it again.
    Submitted gold answers need no row: the annotation itself keeps the item from its author."""

    __tablename__ = "gold_exposures"

    item_id: Mapped[str] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    created_at: Mapped[dt.datetime] = created_column()


class GoldCursor(Base):
    """How far one person has walked a project's gold items (in id order): the gold claim starts after it, so
    its cost does not grow with the gold items they have met already."""

    __tablename__ = "gold_cursors"

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    # The id of the last gold answer (not item) this person met.
    after_id: Mapped[str] = mapped_column(String(36), nullable=False)


class PendingRefresh(Base):
    """The one queued refresh job of a project: new annotations join it instead of queueing another."""

    __tablename__ = "quality_pending_refreshes"

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    # Written before its job, in one statement that also says whether a refresh is pending already.
    job_id: Mapped[str] = mapped_column(String(36), nullable=False)
    requested_at: Mapped[dt.datetime] = created_column()


class ScoreKind:
    gold = "gold"  # against a gold item's known answers
    consensus = "consensus"  # against the item's aggregate


class AnnotationScore(Base):
    """How well one annotation matches gold or the consensus (0..1), with a score per question."""

    __tablename__ = "annotation_scores"
    __table_args__ = (
        UniqueConstraint("annotation_id", "kind"),
        Index("ix_annotation_scores_project_author", "project_id", "author_id", "kind"),
    )

    id: Mapped[str] = id_column()
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False)
    annotation_id: Mapped[str] = mapped_column(ForeignKey("annotations.id", ondelete="CASCADE"), nullable=False)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), nullable=False)
    author_id: Mapped[str] = mapped_column(ForeignKey("users.id"), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    score: Mapped[float] = mapped_column(Float, nullable=False)
    questions: Mapped[dict[str, Any]] = mapped_column(JsonDoc, nullable=False)
    submitted_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), nullable=False)
    scored_at: Mapped[dt.datetime] = created_column()


class ItemAggregate(Base):
    """The aggregated answer of one question for one item, with its confidence (0..1)."""

    __tablename__ = "item_aggregates"
    __table_args__ = (
        UniqueConstraint("item_id", "question"),
        Index("ix_item_aggregates_project", "project_id", "item_id"),
    )

    id: Mapped[str] = id_column()
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), nullable=False)
    question: Mapped[str] = mapped_column(String(64), nullable=False)
    # {"value": answer}, stored only sealed (crypto/content.py); `document` is the plaintext.
    sealed_value: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    document = Sealed("sealed_value", lambda row: (row.item_id, answers_field("aggregate", row.id)))
    confidence: Mapped[float] = mapped_column(Float, nullable=False)
    method: Mapped[str] = mapped_column(String(16), nullable=False)
    annotations: Mapped[int] = mapped_column(Integer, nullable=False)
    computed_at: Mapped[dt.datetime] = created_column()

    @property
    def value(self) -> Any:
        document: dict[str, Any] = self.document
        return document.get("value")


class QualityReport(Base):
    """The last computed report of a project (agreement and scorecards), kept until the next refresh."""

    __tablename__ = "quality_reports"

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    job_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    report: Mapped[dict[str, Any]] = mapped_column(JsonDoc, nullable=False)
    computed_at: Mapped[dt.datetime] = created_column()


class Suspension(Base):
    """An annotator stopped from receiving a project's items for low gold accuracy, and the reinstatement."""

    __tablename__ = "quality_suspensions"
    __table_args__ = (Index("ix_quality_suspensions_project_user", "project_id", "user_id", "reinstated_at"),)

    id: Mapped[str] = id_column()
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), nullable=False)
    gold_accuracy: Mapped[float] = mapped_column(Float, nullable=False)
    gold_items: Mapped[int] = mapped_column(Integer, nullable=False)
    threshold: Mapped[float] = mapped_column(Float, nullable=False)
    job_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    suspended_at: Mapped[dt.datetime] = created_column()
    reinstated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    reinstated_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class ExamItem(Base):
    """A question of a project's qualification exam: item data with known answers, kept out of the queue."""

    __tablename__ = "qualification_items"
    __table_args__ = (Index("ix_qualification_items_project", "project_id", "id"),)

    id: Mapped[str] = id_column()
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False)
    # Stored only sealed (crypto/content.py), bound to this row (it is its own item); `data` and `answers` are
    # the plaintexts.
    sealed_data: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    sealed_answers: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    data = Sealed("sealed_data", lambda row: (row.id, exam_data_field(row.id)))
    answers = Sealed("sealed_answers", lambda row: (row.id, answers_field("exam", row.id)))
    created_by_id: Mapped[str] = mapped_column(ForeignKey("users.id"), nullable=False)
    created_at: Mapped[dt.datetime] = created_column()


class ExamAttempt(Base):
    """One person's attempt at a project's qualification exam: answers, score and the verdict."""

    __tablename__ = "qualification_attempts"
    __table_args__ = (Index("ix_qualification_attempts_project_user", "project_id", "user_id", "passed"),)

    id: Mapped[str] = id_column()
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), nullable=False)
    # The person's answers by exam item, stored only sealed (crypto/content.py); `answers` is the plaintext.
    sealed_answers: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    answers = Sealed("sealed_answers", lambda row: (row.id, answers_field("attempt", row.id)))
    scores: Mapped[dict[str, Any]] = mapped_column(JsonDoc, nullable=False)
    score: Mapped[float] = mapped_column(Float, nullable=False)
    threshold: Mapped[float] = mapped_column(Float, nullable=False)
    passed: Mapped[bool] = mapped_column(Boolean, nullable=False)
    created_at: Mapped[dt.datetime] = created_column()
