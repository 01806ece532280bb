"""Hugging Face datasets: the flat rows (one per annotation) as JSONL or as Parquet.

Parquet columns are typed per question (spans and boxes as lists of structs, ratings as integers, ...);
answers and data without a fixed shape (rubrics, chat evaluations, JSON fields) are JSON strings.
Both load with `datasets.load_dataset("json" | "parquet", data_files=...)`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import IO, Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from labelvault.formats import flat
from labelvault.formats.base import Format, FormatProblem, Record, Report
from labelvault.projects.label_schema import FieldKind, LabelSchema

ROW_GROUP = 5000
_SPAN = pa.struct([("start", pa.int64()), ("end", pa.int64()), ("label", pa.string())])
_BOX = pa.struct([("x", pa.float64()), ("y", pa.float64()), ("width", pa.float64()), ("height", pa.float64()),
                  ("label", pa.string())])
_PAIRWISE = pa.struct([("choice", pa.string()), ("strength", pa.string()), ("reason", pa.string())])
ANSWER_TYPES: dict[str, pa.DataType] = {
    "single_choice": pa.string(), "free_text": pa.string(), "rating": pa.int64(),
    "multiple_choice": pa.list_(pa.string()), "ranking": pa.list_(pa.int64()), "spans": pa.list_(_SPAN),
    "boxes": pa.list_(_BOX), "pairwise": _PAIRWISE,
}
FIELD_TYPES: dict[FieldKind, pa.DataType] = {
    FieldKind.text: pa.string(), FieldKind.image: pa.string(), FieldKind.number: pa.float64(),
    FieldKind.chat: pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())])),
}


def write_jsonl(records: Iterable[Record], schema: LabelSchema, out: IO[bytes], report: Report) -> None:
    for row in flat.rows(records, schema, report, with_predictions=True):
        out.write(orjson.dumps(row) + b"\n")


def read_jsonl(handle: IO[bytes], schema: LabelSchema, report: Report) -> Iterator[Record]:
    def rows() -> Iterator[dict[str, Any]]:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise FormatProblem(f"lines[{number}]", f"is not valid JSON ({exc})") from None
            if not isinstance(row, dict) or "item_id" not in row:
                raise FormatProblem(f"lines[{number}]", "must be an object with item_id")
            yield row
    return flat.records(rows(), schema)


def arrow_schema(schema: LabelSchema) -> tuple[pa.Schema, set[str]]:
    """The table's Arrow schema and the columns written as JSON strings."""
    fields: list[tuple[str, pa.DataType]] = [(c, pa.string()) for c in flat.ITEM_COLUMNS]
    as_json = {"metadata", "predictions"}
    for f in schema.fields:
        kind = FIELD_TYPES.get(f.kind)
        fields.append((f"data.{f.name}", kind or pa.string()))
        if kind is None:
            as_json.add(f"data.{f.name}")
    fields.append(("metadata", pa.string()))
    fields += [(c, pa.string()) for c in flat.ANNOTATION_COLUMNS]
    for q in schema.questions:
        kind = ANSWER_TYPES.get(q.type)
        fields.append((f"answer.{q.name}", kind or pa.string()))
        if kind is None:
            as_json.add(f"answer.{q.name}")
    fields.append(("predictions", pa.string()))
    return pa.schema(fields), as_json


def _number(value: Any) -> Any:
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _boxes(value: Any) -> Any:
    if not isinstance(value, list):
        return value
    return [{k: _number(v) for k, v in box.items()} for box in value]


def write_parquet(records: Iterable[Record], schema: LabelSchema, out: IO[bytes], report: Report) -> None:
    table_schema, as_json = arrow_schema(schema)
    box_columns = {f"answer.{q.name}" for q in schema.questions if q.type == "boxes"}
    number_columns = {f"data.{f.name}" for f in schema.fields if f.kind is FieldKind.number}
    rows = flat.rows(records, schema, report, with_predictions=True)
    with pq.ParquetWriter(out, table_schema, compression="zstd") as writer:
        while chunk := list(islice(rows, ROW_GROUP)):
            for row in chunk:
                for column in as_json:
                    if row.get(column) is not None:
                        row[column] = orjson.dumps(row[column]).decode()
                for column in box_columns:
                    row[column] = _boxes(row[column])
                for column in number_columns:
                    row[column] = _number(row[column])
            writer.write_table(pa.Table.from_pylist(chunk, schema=table_schema))


def _without_nulls(value: Any) -> Any:
    return {k: v for k, v in value.items() if v is not None} if isinstance(value, dict) else value


def read_parquet(handle: IO[bytes], schema: LabelSchema, report: Report) -> Iterator[Record]:
    _, as_json = arrow_schema(schema)
    structs = {f"answer.{q.name}" for q in schema.questions if q.type == "pairwise"}

    def rows() -> Iterator[dict[str, Any]]:
        try:
            parquet = pq.ParquetFile(handle)
        except pa.ArrowInvalid as exc:
            raise FormatProblem("(file)", f"is not a Parquet file ({exc})") from None
        for batch in parquet.iter_batches(batch_size=ROW_GROUP):
            for row in batch.to_pylist():
                for column in as_json:
                    if row.get(column) is not None:
                        row[column] = orjson.loads(row[column])
                for column in structs:
                    row[column] = _without_nulls(row.get(column))
                yield row
    return flat.records(rows(), schema)


HF_JSONL = Format("hf_jsonl", "jsonl", "application/x-ndjson",
                  "Hugging Face datasets JSONL: one row per annotation.", write_jsonl, read_jsonl)
HF_PARQUET = Format("hf_parquet", "parquet", "application/vnd.apache.parquet",
                    "Hugging Face datasets Parquet: one row per annotation, typed columns.", write_parquet,
                    read_parquet)
