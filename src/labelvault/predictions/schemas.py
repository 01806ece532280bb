"""HTTP shapes of predictions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import ConfigDict

from labelvault.crypto.schemas import OpensSealed


class PredictionOut(OpensSealed):
    model_config = ConfigDict(from_attributes=True, protected_namespaces=())

    id: str
    item_id: str
    model_name: str
    model_version: str
    answers: dict[str, Any]
    score: float | None
    created_at: dt.datetime
