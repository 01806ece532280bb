"""HTTP shapes of format exports."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class ExportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: str = Field(description="A format name from GET /export-formats.")
    states: list[str] | None = Field(default=None, description="Only items in these states.")
    only_accepted: bool = Field(default=False, description="Only items accepted in review.")
    split: str | None = Field(default=None, description="Only items whose metadata.split is this value.")
    since: dt.datetime | None = Field(default=None, description="Only annotations updated at or after.")
    until: dt.datetime | None = Field(default=None, description="Only annotations updated before.")
    include_drafts: bool = False
    only_annotated: bool = Field(default=False, description="Leave out items without matching annotations.")
    predictions: bool = Field(default=False, description="Include the items' predictions where the format can.")
    aggregated: bool = Field(default=False, description="Quality control's aggregated label per item and question "
                             "(with its confidence) in place of the annotations.")
    include_gold: bool = Field(default=True, description="Include gold items (those with known answers).")


class FormatOut(BaseModel):
    name: str
    extension: str
    media_type: str
    description: str
    importable: bool
