"""Annotations (one person's answers for one item), their revisions, and idempotency records."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from labelvault.crypto.content import Sealed, answers_field, revision_field
from labelvault.db.base import Base, UtcDateTime, created_column, id_column


class AnnotationStatus:
    draft = "draft"
    submitted = "submitted"

    all = (draft, submitted)


class Annotation(Base):
    __tablename__ = "annotations"
    __table_args__ = (
        UniqueConstraint("item_id", "author_id"),
        Index("ix_annotations_project_item", "project_id", "item_id"),
        Index("ix_annotations_author", "author_id", "project_id"),
        Index("ix_annotations_review_queue", "project_id", "id",
              sqlite_where=text("review_status = 'pending'"), postgresql_where=text("review_status = 'pending'")),
        # A vendor's own review queue (its internal QA before the owner's review).
        Index("ix_annotations_vendor_review_queue", "project_id", "vendor_id", "id",
              sqlite_where=text("review_status = 'vendor_review'"),
              postgresql_where=text("review_status = 'vendor_review'")),
    )

    id: Mapped[str] = id_column()
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), nullable=False)
    author_id: Mapped[str] = mapped_column(ForeignKey("users.id"), nullable=False)
    # The vendor the author worked for when writing it; None for the organization's own people.
    vendor_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    schema_version: Mapped[int] = mapped_column(Integer, nullable=False)
    # Stored only sealed (crypto/content.py); `answers` is the plaintext.
    sealed_answers: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    answers = Sealed("sealed_answers", lambda row: (row.item_id, answers_field("annotation", row.id)))
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    time_spent_ms: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    revision_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # None: not chosen for review; pending, accepted, rejected (back with the author) or fixed.
    review_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    review_comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = created_column()
    updated_at: Mapped[dt.datetime] = created_column()
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class AnnotationRevision(Base):
    """An earlier version of an annotation, written when the annotation is changed."""

    __tablename__ = "annotation_revisions"
    __table_args__ = (
        Index("ix_annotation_revisions_annotation", "annotation_id", "number"),
        Index("ix_annotation_revisions_project_item", "project_id", "item_id"),
    )

    id: Mapped[str] = id_column()
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False)
    annotation_id: Mapped[str] = mapped_column(
        ForeignKey("annotations.id", ondelete="CASCADE"), nullable=False
    )
    item_id: Mapped[str] = mapped_column(String(36), nullable=False)
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    author_id: Mapped[str] = mapped_column(ForeignKey("users.id"), nullable=False)
    schema_version: Mapped[int] = mapped_column(Integer, nullable=False)
    # Stored only sealed (crypto/content.py); `answers` is the plaintext.
    sealed_answers: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    answers = Sealed("sealed_answers",
                     lambda row: (row.item_id, revision_field(row.annotation_id, row.number)))
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    time_spent_ms: Mapped[int] = mapped_column(Integer, nullable=False)
    made_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), nullable=False)
    superseded_at: Mapped[dt.datetime] = created_column()


class IdempotencyRecord(Base):
    """A write that a client may retry: the same key from the same user answers with the same result."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    key: Mapped[str] = mapped_column(String(200), nullable=False)
    scope: Mapped[str] = mapped_column(String(64), nullable=False)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    resource_id: Mapped[str] = mapped_column(String(36), nullable=False)
    created_at: Mapped[dt.datetime] = created_column()


class ReviewStatus:
    """Where a submitted annotation stands in review. A vendor's people's work may first wait for the vendor's
    own reviewers (`vendor_review`), then for the owner's (`pending`)."""

    vendor_review = "vendor_review"
    pending = "pending"
    accepted = "accepted"
    rejected = "rejected"
    fixed = "fixed"

    waiting = (vendor_review, pending)


class ReviewDecision:
    accept = "accept"
    reject = "reject"
    fix = "fix"

    all = (accept, reject, fix)


class Review(Base):
    """A reviewer's decision on an annotation, with who and when; `answers` holds a fix."""

    __tablename__ = "reviews"
    __table_args__ = (Index("ix_reviews_annotation", "annotation_id"), Index("ix_reviews_project", "project_id", "id"))

    id: Mapped[str] = id_column()
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), nullable=False)
    annotation_id: Mapped[str] = mapped_column(ForeignKey("annotations.id", ondelete="CASCADE"), nullable=False)
    reviewer_id: Mapped[str] = mapped_column(ForeignKey("users.id"), nullable=False)
    decision: Mapped[str] = mapped_column(String(16), nullable=False)
    comment: Mapped[str] = mapped_column(Text, nullable=False, default="")
    sealed_answers: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # a fix, sealed
    answers = Sealed("sealed_answers", lambda row: (row.item_id, answers_field("review", row.id)))
    created_at: Mapped[dt.datetime] = created_column()
