"""HTTP shapes of jobs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    state: str
    project_id: str | None
    params: dict[str, Any]
    total: int
    done: int
    stats: dict[str, Any]
    error: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


class ProblemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    line: int
    field: str
    reason: str
