"""HTTP shapes of quality control."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from labelvault.crypto.schemas import OpensSealed


class QualitySettingsPatch(BaseModel):
    method: Literal["majority", "weighted", "dawid_skene"] | None = Field(
        default=None, description="How single-choice answers are aggregated.")
    rating_tolerance: int | None = Field(default=None, ge=0, le=100,
                                         description="Scale points a rating may be off the gold answer.")
    box_iou_threshold: float | None = Field(default=None, gt=0, le=1, description="IoU from which boxes match.")
    gold_threshold: float | None = Field(default=None, ge=0, le=1, description="Gold accuracy an annotator must keep.")
    confidence_threshold: float | None = Field(default=None, ge=0, le=1,
                                               description="Aggregates below it count as low confidence.")
    max_overlap: int | None = Field(default=None, ge=1, le=100, description="Adaptive overlap stops here.")
    adaptive_overlap: bool | None = Field(default=None, description="Raise overlap on low confidence, stop early "
                                                                    "on clear consensus (at each refresh).")
    early_stop_confidence: float | None = Field(default=None, gt=0, le=1,
                                                description="Aggregate confidence that closes an item early.")
    auto_suspend: bool | None = Field(default=None, description="Suspend annotators below gold_threshold.")
    gold_window: int | None = Field(default=None, ge=1, le=1000, description="Gold answers in the rolling mean.")
    gold_min_items: int | None = Field(default=None, ge=1, le=1000,
                                       description="Gold answers needed before anyone is suspended.")
    qualification_required: bool | None = Field(default=None, description="No work before passing the exam.")
    qualification_threshold: float | None = Field(default=None, ge=0, le=1, description="Exam score to pass.")
    qualification_attempts: int | None = Field(default=None, ge=1, le=100, description="Attempts per person.")
    gold_rate: float | None = Field(default=None, ge=0, le=1,
                                    description="Share of claims that hand out a gold item the person has not seen.")


class QualitySettingsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    project_id: str
    method: str
    rating_tolerance: int
    box_iou_threshold: float
    gold_threshold: float
    confidence_threshold: float
    max_overlap: int
    adaptive_overlap: bool
    early_stop_confidence: float
    auto_suspend: bool
    gold_window: int
    gold_min_items: int
    qualification_required: bool
    qualification_threshold: float
    qualification_attempts: int
    gold_rate: float
    refreshed_through: dt.datetime | None


class GoldIn(BaseModel):
    answers: dict[str, Any] = Field(description="Known answers, in the format of an annotation's answers.")


class GoldOut(OpensSealed):
    model_config = ConfigDict(from_attributes=True)

    item_id: str
    project_id: str
    answers: dict[str, Any]
    created_by_id: str
    created_at: dt.datetime
    updated_at: dt.datetime


class AggregateOut(OpensSealed):
    model_config = ConfigDict(from_attributes=True)

    item_id: str
    question: str
    value: Any
    confidence: float
    method: str
    annotations: int
    computed_at: dt.datetime


class QualityReportOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    project_id: str
    job_id: str | None
    computed_at: dt.datetime
    report: dict[str, Any]


class SuspensionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    project_id: str
    user_id: str
    gold_accuracy: float
    gold_items: int
    threshold: float
    job_id: str | None
    suspended_at: dt.datetime
    reinstated_at: dt.datetime | None
    reinstated_by_id: str | None


class ExamItemIn(BaseModel):
    data: dict[str, Any] = Field(description="The item's fields, as in an import line's `data`.")
    answers: dict[str, Any] = Field(description="Known answers, in the format of an annotation's answers.")


class ExamItemOut(OpensSealed):
    model_config = ConfigDict(from_attributes=True)

    id: str
    data: dict[str, Any]
    answers: dict[str, Any]
    created_at: dt.datetime


class ExamQuestionOut(OpensSealed):
    """An exam question as the person taking the exam sees it: no answers."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    data: dict[str, Any]


class ExamOut(BaseModel):
    items: list[ExamQuestionOut]
    threshold: float
    attempts_left: int
    passed: bool


class ExamAnswersIn(BaseModel):
    answers: dict[str, dict[str, Any]] = Field(description="Answers per exam question id.")


class ExamAttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    project_id: str
    user_id: str
    score: float
    threshold: float
    passed: bool
    scores: dict[str, Any]
    created_at: dt.datetime
