"""Prediction rules: checking a model's pre-labels against the schema, storing and reading them.

Predictions are a model's answers in the schema's answer format, checked like a draft (every part
given must be valid; none is required). They never count as annotations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from labelvault.annotations.answers import check_answers
from labelvault.errors import InvalidInput
from labelvault.items.models import Item
from labelvault.jobs import service as jobs
from labelvault.jobs.models import Job
from labelvault.kit.clock import utcnow
from labelvault.kit.ids import new_id
from labelvault.predictions import repository as repo
from labelvault.predictions.models import Prediction
from labelvault.projects.label_schema import LabelSchema
from labelvault.projects.models import Project
from labelvault.security.policy import Principal

IMPORT_JOB = "predictions_import"
FORMATS = ("jsonl", "json")
MAX_NAME = 200
MAX_VERSION = 100


class PredictionProblem(Exception):
    """What is wrong with one prediction and where, e.g. `predictions[1].answers.sentiment`."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(slots=True)
class PredictionInput:
    model_name: str
    model_version: str
    answers: dict[str, Any]
    score: float | None


def _text(raw: dict[str, Any], key: str, limit: int, where: str) -> str:
    value = raw.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and key == "model_version":
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise PredictionProblem(f"{where}{key}", "is required (a non-empty string)")
    if len(value) > limit:
        raise PredictionProblem(f"{where}{key}", f"is longer than {limit} characters")
    return value


def parse_prediction(raw: Any, schema: LabelSchema, data: dict[str, Any], where: str = "") -> PredictionInput:
    """One prediction `{model_name, model_version, answers, score?}` checked against the schema and the item."""
    if not isinstance(raw, dict):
        raise PredictionProblem(where.rstrip(".") or "(line)", "must be an object {model_name, model_version, "
                                "answers, score}")
    name = _text(raw, "model_name", MAX_NAME, where)
    version = _text(raw, "model_version", MAX_VERSION, where)
    answers = raw.get("answers")
    if not isinstance(answers, dict):
        raise PredictionProblem(f"{where}answers", "must be an object keyed by question name")
    score = raw.get("score")
    if score is not None and (isinstance(score, bool) or not isinstance(score, int | float)
                              or not math.isfinite(score)):
        raise PredictionProblem(f"{where}score", "must be a finite number")
    try:
        check_answers(schema, answers, data, complete=False)
    except InvalidInput as exc:
        first = (exc.details or {}).get("problems", [{"field": "", "reason": exc.message}])[0]
        raise PredictionProblem(f"{where}answers.{first['field']}", first["reason"]) from None
    return PredictionInput(name, version, answers, None if score is None else float(score))


def parse_predictions(raw: Any, schema: LabelSchema, data: dict[str, Any],
                      where: str = "predictions") -> list[PredictionInput]:
    """The `predictions` list of an item line."""
    if not isinstance(raw, list):
        raise PredictionProblem(where, "must be a list of {model_name, model_version, answers, score}")
    parsed = [parse_prediction(p, schema, data, f"{where}[{i}].") for i, p in enumerate(raw)]
    seen: set[tuple[str, str]] = set()
    for index, p in enumerate(parsed):
        if (p.model_name, p.model_version) in seen:
            raise PredictionProblem(f"{where}[{index}]", f"repeats model {p.model_name!r} version "
                                    f"{p.model_version!r}")
        seen.add((p.model_name, p.model_version))
    return parsed


def prediction_row(organization_id: str, project_id: str, item_id: str, p: PredictionInput) -> dict[str, Any]:
    return {"id": new_id(), "organization_id": organization_id, "project_id": project_id, "item_id": item_id,
            "model_name": p.model_name, "model_version": p.model_version, "answers": p.answers,
            "score": p.score, "created_at": utcnow()}


def store_predictions(session: Session, rows: list[dict[str, Any]]) -> None:
    """Store rows made by `prediction_row`; the same item, model and version replaces what was there."""
    repo.replace_predictions(session, rows)
    session.flush()


def item_predictions(session: Session, principal: Principal, item: Item) -> list[Prediction]:
    return list(repo.predictions_of_item(session, principal.organization_id, item.id))


def prediction_rows_of_items(session: Session, organization_id: str, project_id: str,
                             item_ids: list[str]) -> list[dict[str, Any]]:
    """For jobs (exports) of the organization: the predictions of these items as dicts (`item_id`,
    `model_name`, `model_version`, `answers`, `score`) by item, model, version."""
    return repo.prediction_rows_of_items(session, organization_id, project_id, item_ids)


def start_import(
    session: Session, principal: Principal, project: Project, *, job_id: str, blob_key: str, size: int,
    fmt: str, all_or_nothing: bool, filename: str,
) -> Job:
    """Queue an import of predictions for existing items (matched by external_id)."""
    if fmt not in FORMATS:
        raise InvalidInput(f"format must be one of {list(FORMATS)}.", details={"field": "format"})
    params: dict[str, Any] = {"blob": blob_key, "format": fmt, "all_or_nothing": all_or_nothing,
                              "filename": filename, "project_id": project.id}
    return jobs.create_job(session, principal, IMPORT_JOB, params, project_id=project.id, total=size,
                           job_id=job_id)
