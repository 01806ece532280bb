"""CSV: the flat rows (one per annotation), answers and data as columns.

Cells that a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage return) are
written with a leading apostrophe, and so is a cell that starts with an apostrophe, so that reading the file
back gives exactly what was written. Values that are not text (for text fields and choice or free-text
answers) are written as JSON.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import IO, Any

import orjson

from labelvault.formats import flat
from labelvault.formats.base import Format, FormatProblem, Record, Report
from labelvault.formats.text_io import text_reader, text_writer
from labelvault.projects.label_schema import FieldKind, LabelSchema

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")
TEXT_QUESTIONS = ("single_choice", "free_text")


def neutralize(cell: str) -> str:
    return "'" + cell if cell.startswith(FORMULA_START) else cell


def restore(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_START) else cell


def _text_columns(schema: LabelSchema) -> set[str]:
    return ({*flat.ITEM_COLUMNS, *flat.ANNOTATION_COLUMNS}
            | {f"data.{f.name}" for f in schema.fields if f.kind in (FieldKind.text, FieldKind.image)}
            | {f"answer.{q.name}" for q in schema.questions if q.type in TEXT_QUESTIONS})


def _cell(value: Any, as_text: bool) -> str:
    if value is None:
        return ""
    if as_text and isinstance(value, str):
        return neutralize(value)
    return neutralize(orjson.dumps(value).decode())


def write(records: Iterable[Record], schema: LabelSchema, out: IO[bytes], report: Report) -> None:
    aggregated, records = flat.peek_aggregated(records)
    columns = flat.columns(schema, with_predictions=False, aggregated=aggregated)
    text_columns = _text_columns(schema)
    with text_writer(out) as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(columns)
        for row in flat.rows(records, schema, report, with_predictions=False, aggregated=aggregated):
            writer.writerow([_cell(row[c], c in text_columns) for c in columns])


def _value(cell: str, as_text: bool, where: str) -> Any:
    if cell == "":
        return None
    cell = restore(cell)
    if as_text:
        return cell
    try:
        return orjson.loads(cell)
    except orjson.JSONDecodeError:
        raise FormatProblem(where, "is not valid JSON") from None


def _rows(handle: IO[bytes], schema: LabelSchema) -> Iterator[dict[str, Any]]:
    columns = flat.columns(schema, with_predictions=False)
    text_columns = _text_columns(schema)
    with text_reader(handle) as text:
        reader = csv.reader(text)
        if next(reader, None) != columns:
            raise FormatProblem("header", f"expected the columns {columns}")
        for number, row in enumerate(reader, start=2):
            if len(row) != len(columns):
                raise FormatProblem(f"rows[{number}]", f"expected {len(columns)} cells, got {len(row)}")
            yield {c: _value(cell, c in text_columns, f"rows[{number}].{c}")
                   for c, cell in zip(columns, row, strict=True)}


def read(handle: IO[bytes], schema: LabelSchema, report: Report) -> Iterator[Record]:
    return flat.records(_rows(handle, schema), schema)


FORMAT = Format("csv", "csv", "text/csv", "One row per annotation; formula cells neutralized.", write, read)
