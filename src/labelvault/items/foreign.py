"""Item imports from other tools' formats (Label Studio, COCO, YOLO, VOC, CoNLL, spaCy, HF, CSV, TRL).

Each record of the file becomes an item line for the import job. Annotations made elsewhere have no author
here, so they come in as predictions (`model_name` "<format>-import", `model_version` the source's author or
annotation), beside the file's own predictions; people's annotations are only ever made in labelvault.
What the file holds that does not fit is reported with its path in the file (`tasks[3].annotations[0].
answers.sentiment`, `annotations[12].bbox`), and the rest of the record is kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from labelvault.formats.base import FormatProblem, Record, Report
from labelvault.formats.registry import FORMATS
from labelvault.items.readers import FORMATS as NATIVE_FORMATS
from labelvault.items.readers import Record as Line
from labelvault.predictions import service as predictions
from labelvault.projects.label_schema import LabelSchema

# labelvault's own CSV export is not read back as items: `csv` is the item CSV of docs/api.md.
FOREIGN_FORMATS = tuple(name for name, f in FORMATS.items() if f.read is not None and name not in NATIVE_FORMATS)


def _predictions(record: Record, fmt: str, schema: LabelSchema, where: str) -> tuple[list[Any], list[Any]]:
    """(predictions for the item line, problems) from the record's annotations and predictions."""
    given: list[tuple[str, dict[str, Any]]] = []
    for index, annotation in enumerate(record.get("annotations") or []):
        version = annotation.get("author") or annotation.get("id") or f"annotation-{index + 1}"
        given.append((f"{where}.annotations[{index}].", {"model_name": f"{fmt}-import", "model_version": str(version),
                                                         "answers": annotation.get("answers") or {}}))
    for index, prediction in enumerate(record.get("predictions") or []):
        given.append((f"{where}.predictions[{index}].", dict(prediction)))
    kept, problems, seen = [], [], set()
    for path, body in given:
        try:
            parsed = predictions.parse_prediction(body, schema, record.get("data") or {})
        except predictions.PredictionProblem as problem:
            problems.append((path + problem.field, problem.reason))
            continue
        key = (parsed.model_name, parsed.model_version)
        if key in seen:
            problems.append((path.rstrip("."), f"repeats {parsed.model_name} {parsed.model_version}; left out"))
            continue
        seen.add(key)
        kept.append({"model_name": parsed.model_name, "model_version": parsed.model_version,
                     "answers": parsed.answers, "score": parsed.score})
    return kept, problems


def foreign_records(handle: IO[bytes], fmt: str, schema: LabelSchema) -> Iterator[Line]:
    """Item lines (and problem lines) from a file in `fmt`; `line` is the record's number in the file."""
    found = FORMATS[fmt]
    if found.read is None:
        raise ValueError(fmt)
    report = Report()
    reported = 0
    number = 0
    try:
        for number, record in enumerate(found.read(handle, schema, report), start=1):
            where = f"{found.unit}[{number - 1}]"
            kept, problems = _predictions(record, fmt, schema, where)
            value: dict[str, Any] = {"external_id": record.get("external_id"), "data": record.get("data") or {},
                                     "metadata": record.get("metadata") or {}, "predictions": kept}
            for found_at, path, reason in report.problems[reported:]:
                yield Line(found_at, None, (path, reason), handle.tell())
            reported = len(report.problems)
            for path, reason in problems:
                yield Line(number, None, (path, reason), handle.tell())
            yield Line(number, value, None, handle.tell())
    except FormatProblem as problem:
        yield Line(number + 1, None, (problem.path, problem.reason), handle.tell())
    for found_at, path, reason in report.problems[reported:]:
        yield Line(found_at, None, (path, reason), handle.tell())
