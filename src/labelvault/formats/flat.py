"""Flat rows: one per annotation (an item without one gets one row), for tables (CSV, Parquet, HF JSONL).

Columns: item_id, external_id, state, one per data field (`data.<name>`), metadata, annotation_id, author,
status, submitted_at, one per question (`answer.<name>`), and predictions when asked for. An export of
aggregated labels has one row per item (author "aggregate") and, after the answers, the confidence of each
question's aggregate (`confidence.<name>`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import chain
from typing import Any

from labelvault.formats.base import Record, Report
from labelvault.projects.label_schema import LabelSchema

ITEM_COLUMNS = ("item_id", "external_id", "state")
ANNOTATION_COLUMNS = ("annotation_id", "author", "status", "submitted_at")


def columns(schema: LabelSchema, with_predictions: bool, aggregated: bool = False) -> list[str]:
    return ([*ITEM_COLUMNS] + [f"data.{f.name}" for f in schema.fields] + ["metadata", *ANNOTATION_COLUMNS]
            + [f"answer.{q.name}" for q in schema.questions]
            + ([f"confidence.{q.name}" for q in schema.questions] if aggregated else [])
            + (["predictions"] if with_predictions else []))


def peek_aggregated(records: Iterable[Record]) -> tuple[bool, Iterator[Record]]:
    """Whether the records hold aggregated labels (the first one tells), and the records all the same."""
    it = iter(records)
    first = next(it, None)
    if first is None:
        return False, iter(())
    return "aggregates" in first, chain([first], it)


def rows(records: Iterable[Record], schema: LabelSchema, report: Report,
         with_predictions: bool, aggregated: bool = False) -> Iterator[dict[str, Any]]:
    for record in records:
        report.count("items")
        head: dict[str, Any] = {"item_id": record.get("id"), "external_id": record.get("external_id"),
                                "state": record.get("state")}
        head.update({f"data.{f.name}": record["data"].get(f.name) for f in schema.fields})
        head["metadata"] = record.get("metadata") or {}
        for annotation in record.get("annotations") or [None]:
            row = dict(head)
            if annotation is None:
                row.update(dict.fromkeys(ANNOTATION_COLUMNS))
                row.update({f"answer.{q.name}": None for q in schema.questions})
            else:
                report.count("annotations")
                row.update({k: annotation.get(k if k != "annotation_id" else "id") for k in ANNOTATION_COLUMNS})
                row.update({f"answer.{q.name}": annotation["answers"].get(q.name) for q in schema.questions})
            if aggregated:
                confidence = (annotation or {}).get("confidence") or {}
                row.update({f"confidence.{q.name}": confidence.get(q.name) for q in schema.questions})
            if with_predictions:
                row["predictions"] = record.get("predictions") or []
            yield row


def records(table: Iterable[dict[str, Any]], schema: LabelSchema) -> Iterator[Record]:
    """Rows back into records: consecutive rows of one item make one record."""
    current: Record | None = None
    for row in table:
        if current is None or current["id"] != row["item_id"]:
            if current is not None:
                yield current
            current = {"id": row["item_id"], "external_id": row["external_id"], "state": row["state"],
                       "data": {f.name: row.get(f"data.{f.name}") for f in schema.fields},
                       "metadata": row.get("metadata") or {}, "annotations": []}
            if "predictions" in row:
                current["predictions"] = row["predictions"] or []
        if row.get("annotation_id"):
            answers = {q.name: row.get(f"answer.{q.name}") for q in schema.questions}
            current["annotations"].append({
                "id": row["annotation_id"], "author": row.get("author"), "status": row.get("status"),
                "submitted_at": row.get("submitted_at"),
                "answers": {k: v for k, v in answers.items() if v is not None}})
    if current is not None:
        yield current
