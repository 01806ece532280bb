"""HTTP shapes of the annotations domain."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from labelvault.crypto.schemas import OpensSealed
from labelvault.items.schemas import ItemOut


class AnnotationIn(BaseModel):
    answers: dict[str, Any] = Field(description="Answers keyed by question name.")
    time_spent_ms: int = Field(default=0, ge=0)
    draft: bool = Field(default=False,
                        description="Save without submitting; required answers may be missing.")


class AnnotationOut(OpensSealed):
    model_config = ConfigDict(from_attributes=True)

    id: str
    item_id: str
    project_id: str
    author_id: str | None = Field(description="Hidden (null) from reviewers when the project reviews blind.")
    schema_version: int
    answers: dict[str, Any]
    status: str
    time_spent_ms: int
    revision_count: int
    review_status: str | None
    review_comment: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    submitted_at: dt.datetime | None


class RevisionOut(OpensSealed):
    model_config = ConfigDict(from_attributes=True)

    number: int
    author_id: str | None
    schema_version: int
    answers: dict[str, Any]
    status: str
    time_spent_ms: int
    made_at: dt.datetime
    superseded_at: dt.datetime


class ReviewIn(BaseModel):
    decision: str = Field(description="accept, reject (with a comment) or fix (with corrected answers).")
    comment: str = ""
    answers: dict[str, Any] | None = None


class ReviewOut(OpensSealed):
    model_config = ConfigDict(from_attributes=True)

    id: str
    annotation_id: str
    item_id: str
    reviewer_id: str
    decision: str
    comment: str
    answers: dict[str, Any] | None
    created_at: dt.datetime
    reviewer_name: str | None = Field(default=None, description="Filled where a page names people.")


class ReviewAnnotationOut(BaseModel):
    """An annotation as a reviewer sees it; `author_id` is hidden when the project reviews blind."""

    id: str
    author_id: str | None
    author_name: str | None = Field(default=None, description="Hidden (null) with the author's id.")
    schema_version: int
    answers: dict[str, Any]
    time_spent_ms: int
    revision_count: int
    submitted_at: dt.datetime | None


class AnnotationWithReviewsOut(AnnotationOut):
    author_name: str | None = Field(default=None, description="Hidden (null) with the author's id.")
    reviews: list[ReviewOut]


class ItemDetailOut(BaseModel):
    """An item as the item browser opens it: its data, every annotation and each one's reviews."""

    item: ItemOut
    annotations: list[AnnotationWithReviewsOut]
