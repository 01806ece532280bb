"""HTTP shapes of the items domain."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    project_id: str
    external_id: str
    data: dict[str, Any]
    metadata: dict[str, Any] = Field(validation_alias="meta")
    overlap: int | None
    priority: int
    state: str
    annotation_count: int
    created_at: dt.datetime
    updated_at: dt.datetime


class ItemDeletionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    item_id: str
    external_id: str
    annotation_count: int
    deleted_by_id: str
    deleted_at: dt.datetime


class MediaOut(BaseModel):
    path: str
    size: int
