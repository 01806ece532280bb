"""Answers built by the route itself (on its worker thread) instead of by FastAPI's response validation."""

from __future__ import annotations

from pydantic import BaseModel
from starlette.responses import Response


def json_answer(model: BaseModel, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """The model as JSON, as FastAPI would write it for a `response_model` (by alias), without validating it a
    second time: it was made from the route's own types."""
    return Response(model.model_dump_json(by_alias=True), status_code=status_code, headers=headers,
                    media_type="application/json")
