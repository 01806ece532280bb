"""HTTP shapes of the items domain."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from labelvault.crypto.schemas import OpensSealed


class ItemOut(OpensSealed):
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

    @classmethod
    def of(cls, item: Any, view: Any | None) -> ItemOut:
        """The item as shown to its reader: `view` (data and metadata a vendor may see) replaces the stored
        ones; None shows everything."""
        out = cls.model_validate(item)
        if view is not None:
            out.data, out.metadata = view.data, view.meta
        return out


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


class BulkIn(BaseModel):
    action: Literal["requeue", "set_overlap", "delete"] = Field(
        description="requeue: return the items to the queue now, whoever holds them; set_overlap: give them "
                    "`overlap` (raised ones go back to the queue, no annotation is deleted); delete: delete them "
                    "with their annotations (needs `confirm`).")
    # Ids are UUIDs; a NUL byte cannot even be compared on PostgreSQL (fuzzing found the server error).
    item_ids: list[Annotated[str, StringConstraints(max_length=64, pattern=r"^[^\x00]*$")]] = Field(
        min_length=1, max_length=1000)
    overlap: int | None = Field(default=None, ge=1, le=100)
    confirm: bool = False


class BulkOut(BaseModel):
    action: str
    done: list[str] = Field(description="The items the action was applied to.")
    not_found: list[str] = Field(description="Ids that are not items of this project.")
    leases_released: int = 0
