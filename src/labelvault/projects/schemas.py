"""HTTP shapes of the projects domain."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ProjectIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    guidelines: str = Field(default="", description="Markdown shown to annotators.")
    default_overlap: int = Field(default=1, ge=1, le=100)
    lease_seconds: int = Field(default=1800, ge=30, le=7 * 24 * 3600, description="Lease time to live.")
    review_mode: Literal["none", "sample", "all"] = "none"
    review_sample_percent: int = Field(default=0, ge=0, le=100)
    blind_review: bool = Field(default=False, description="Hide authors from reviewers.")
    queue_order: Literal["import", "random"] = Field(
        default="import", description="Hand out items of one priority in import order or in random order.")
    label_schema: dict[str, Any] = Field(alias="schema", description="Fields and questions; see docs/api.md.")

    model_config = ConfigDict(populate_by_name=True)


class ProjectPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = None
    guidelines: str | None = None
    default_overlap: int | None = Field(default=None, ge=1, le=100)
    lease_seconds: int | None = Field(default=None, ge=30, le=7 * 24 * 3600)
    review_mode: Literal["none", "sample", "all"] | None = None
    review_sample_percent: int | None = Field(default=None, ge=0, le=100)
    blind_review: bool | None = None
    queue_order: Literal["import", "random"] | None = None


class ProjectOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    description: str
    guidelines: str
    default_overlap: int
    lease_seconds: int
    review_mode: str
    review_sample_percent: int
    blind_review: bool
    queue_order: str
    schema_version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class ProjectDetailOut(ProjectOut):
    label_schema: dict[str, Any] = Field(serialization_alias="schema")
    item_counts: dict[str, int]


class SchemaProblemOut(BaseModel):
    field: str = Field(description="Where in the schema, e.g. `questions.2.options.1.value`.")
    reason: str


class SchemaCheckOut(BaseModel):
    valid: bool
    problems: list[SchemaProblemOut]


class SchemaVersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    definition: dict[str, Any]
    created_at: dt.datetime
    created_by_id: str
