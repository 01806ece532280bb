"""HTTP shapes of work distribution."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from labelvault.items.schemas import ItemOut


class LeaseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    item_id: str
    project_id: str
    kind: str
    annotation_id: str | None
    created_at: dt.datetime
    expires_at: dt.datetime


class NextOut(BaseModel):
    lease: LeaseOut
    item: ItemOut


class SkipIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class SkipOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    item_id: str
    reason: str
    created_at: dt.datetime


class AnnotatorStatus(BaseModel):
    user_id: str
    email: str
    submitted: int
    drafts: int
    skipped: int
    leased: int


class ProjectStatusOut(BaseModel):
    project_id: str
    items: dict[str, int]
    annotators: list[AnnotatorStatus]
