"""Hugging Face datasets: the flat rows (one per annotation) as JSONL or as Parquet.

Parquet columns are typed per question (spans and boxes as lists of structs, ratings as integers, ...);
answers and data without a fixed shape (rubrics, chat evaluations, JSON fields) are JSON strings.
Both load with `datasets.load_dataset("json" | "parquet", data_files=...)`.

Parquet is written from records (`write_parquet`) or, where the export's options allow, from column pages
(`write_parquet_pages`): the same table, with the typed JSON values of a page (data fields, answers) parsed by
Arrow's JSON reader in one pass instead of one Python object at a time. Compression is zstd at level 1: a
little more CPU than snappy (about 0.03 s per 100,000 annotations) for files about a third smaller
(docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO, Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from labelvault.formats import flat
from labelvault.formats.base import ColumnPage, Format, FormatProblem, Record, Report
from labelvault.projects.label_schema import FieldKind, LabelSchema

ROW_GROUP = 5000
COMPRESSION = {"compression": "zstd", "compression_level": 1}
JSON_BLOCK = 1 << 22  # bytes of JSON text per block of Arrow's reader (at least the longest value)
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
    aggregated, records = flat.peek_aggregated(records)
    for row in flat.rows(records, schema, report, with_predictions=True, aggregated=aggregated):
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


def arrow_schema(schema: LabelSchema, aggregated: bool = False) -> tuple[pa.Schema, set[str]]:
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
    if aggregated:
        fields += [(f"confidence.{q.name}", pa.float64()) for q in schema.questions]
    fields.append(("predictions", pa.string()))
    return pa.schema(fields), as_json


def _number(value: Any) -> Any:
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _boxes(value: Any) -> Any:
    if not isinstance(value, list):
        return value
    return [{k: _number(v) for k, v in box.items()} for box in value]


def _as_json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


class _Columns:
    """One row group's values, column by column (a list per column; no dict per row), turned into Arrow arrays
    by pyarrow's C++ converters."""

    def __init__(self, schema: LabelSchema, aggregated: bool) -> None:
        self.fields = [f.name for f in schema.fields]
        self.questions = [q.name for q in schema.questions]
        self.names = flat.columns(schema, with_predictions=True, aggregated=aggregated)
        self.aggregated = aggregated
        self.clear()

    def clear(self) -> None:
        self.values: dict[str, list[Any]] = {name: [] for name in self.names}
        v = self.values
        self.item_lists = [v[name] for name in flat.ITEM_COLUMNS]
        self.field_lists = [(name, v[f"data.{name}"]) for name in self.fields]
        self.annotation_lists = [v[name] for name in flat.ANNOTATION_COLUMNS]
        self.answer_lists = [(name, v[f"answer.{name}"]) for name in self.questions]
        self.confidence_lists = [(name, v[f"confidence.{name}"]) for name in self.questions] if self.aggregated \
            else []
        self.size = 0
        self.items = 0
        self.annotations = 0

    def add(self, record: Record) -> None:
        """The record's rows: one per annotation, or one with empty answers for an item without any."""
        annotations = record.get("annotations") or [None]
        n = len(annotations)
        data = record["data"]
        for values, value in zip(self.item_lists, (record.get("id"), record.get("external_id"), record.get("state")),
                                 strict=True):
            values.extend([value] * n)
        for name, values in self.field_lists:
            values.extend([data.get(name)] * n)
        self.values["metadata"].extend([_as_json(record.get("metadata") or {})] * n)
        self.values["predictions"].extend([_as_json(record.get("predictions") or [])] * n)
        ids, authors, statuses, times = self.annotation_lists
        for annotation in annotations:
            if annotation is None:
                ids.append(None)
                authors.append(None)
                statuses.append(None)
                times.append(None)
                answers: dict[str, Any] = {}
                confidence: dict[str, Any] = {}
            else:
                self.annotations += 1
                ids.append(annotation.get("id"))
                authors.append(annotation.get("author"))
                statuses.append(annotation.get("status"))
                times.append(annotation.get("submitted_at"))
                answers = annotation["answers"]
                confidence = annotation.get("confidence") or {}
            for name, values in self.answer_lists:
                values.append(answers.get(name))
            for name, values in self.confidence_lists:
                values.append(confidence.get(name))
        self.size += n
        self.items += 1


def write_parquet(records: Iterable[Record], schema: LabelSchema, out: IO[bytes], report: Report) -> None:
    aggregated, records = flat.peek_aggregated(records)
    table_schema, as_json = arrow_schema(schema, aggregated)
    box_columns = {f"answer.{q.name}" for q in schema.questions if q.type == "boxes"}
    number_columns = {f"data.{f.name}" for f in schema.fields if f.kind is FieldKind.number}
    as_json -= {"metadata", "predictions"}  # made JSON as the rows are added
    columns = _Columns(schema, aggregated)

    def flush(writer: pq.ParquetWriter) -> None:
        report.count("items", columns.items)
        report.count("annotations", columns.annotations)
        arrays = []
        for field in table_schema:
            values = columns.values[field.name]
            if field.name in as_json:
                values = [_as_json(value) for value in values]
            elif field.name in box_columns:
                values = [_boxes(value) for value in values]
            elif field.name in number_columns:
                values = [_number(value) for value in values]
            arrays.append(pa.array(values, type=field.type))
        writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=table_schema))
        columns.clear()

    with pq.ParquetWriter(out, table_schema, **COMPRESSION) as writer:
        for record in records:
            columns.add(record)
            if columns.size >= ROW_GROUP:
                flush(writer)
        if columns.size:
            flush(writer)


def _joined(texts: list[bytes]) -> tuple[bytes, int] | None:
    """JSON texts one per line for Arrow's reader, with the block size that holds the longest; None when a text
    spans lines (Arrow's reader would split it)."""
    blob = b"\n".join(texts)
    if blob.count(b"\n") != len(texts) - 1:
        return None
    return blob, max(JSON_BLOCK, max(map(len, texts), default=0) + 1)


def _parsed_by_arrow(joined: tuple[bytes, int] | None, count: int, fields: list[tuple[str, pa.DataType]]
                     ) -> dict[str, pa.Array] | None:
    """The typed fields of `count` JSON objects read by Arrow's JSON reader; None where it cannot read them as
    these types (a value of another type, a text that is not one object on one line)."""
    if not count or not fields:
        return {name: pa.array([None] * count, kind) for name, kind in fields}
    if joined is None:
        return None
    blob, block = joined
    options = pa_json.ParseOptions(explicit_schema=pa.schema(fields), unexpected_field_behavior="ignore")
    try:
        table = pa_json.read_json(pa.BufferReader(blob), read_options=pa_json.ReadOptions(block_size=block),
                                  parse_options=options)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    if table.num_rows != count:
        return None
    return {name: table.column(name).combine_chunks() for name, _ in fields}


@dataclass
class _Prepared:
    """What a page needs of Python (orjson, lists into Arrow): made where the page is read."""

    page: ColumnPage
    metadata: pa.Array
    data: tuple[bytes, int] | None
    answers: tuple[bytes, int] | None
    data_as_json: dict[str, pa.Array]
    answers_as_json: dict[str, pa.Array]


class _PageColumns:
    """How a schema's columns are made from a page: typed data fields and answers by Arrow's JSON reader (by
    Python's, value by value as records are, when Arrow's refuses a page), JSON-string ones by orjson.

    `prepare` does the part that holds Python's GIL, `batch` the rest (Arrow's own work, which lets it go), so
    that the two can run on two threads."""

    def __init__(self, schema: LabelSchema) -> None:
        self.table_schema, as_json = arrow_schema(schema)
        self.data_typed = [(f.name, FIELD_TYPES[f.kind]) for f in schema.fields if f.kind in FIELD_TYPES]
        self.data_json = [f.name for f in schema.fields if f.kind not in FIELD_TYPES]
        self.answer_typed = [(q.name, ANSWER_TYPES[q.type]) for q in schema.questions if q.type in ANSWER_TYPES]
        self.answer_json = [q.name for q in schema.questions if q.type not in ANSWER_TYPES]
        self.convert = {**{f.name: _number for f in schema.fields if f.kind is FieldKind.number},
                        **{q.name: _boxes for q in schema.questions if q.type == "boxes"}}

    @staticmethod
    def _as_json(texts: list[bytes], names: list[str], prefix: str) -> dict[str, pa.Array]:
        if not names:
            return {}
        objects = [orjson.loads(t) for t in texts]
        return {prefix + name: pa.array([_as_sorted_json(o.get(name)) for o in objects], pa.string())
                for name in names}

    def _typed(self, texts: list[bytes], joined: tuple[bytes, int] | None, fields: list[tuple[str, pa.DataType]],
               prefix: str) -> dict[str, pa.Array]:
        found = _parsed_by_arrow(joined, len(texts), fields)
        if found is None:
            objects = [orjson.loads(t) for t in texts]
            found = {}
            for name, kind in fields:
                convert = self.convert.get(name)
                values = [o.get(name) for o in objects]
                found[name] = pa.array([convert(v) for v in values] if convert else values, kind)
        return {prefix + name: array for name, array in found.items()}

    def prepare(self, page: ColumnPage) -> _Prepared:
        metadata = [_as_sorted_json((None if m is None else orjson.loads(m)) or {}) for m in page.metadata]
        return _Prepared(
            page, pa.array(metadata, pa.string()),
            _joined(page.data) if self.data_typed else None, _joined(page.answers) if self.answer_typed else None,
            self._as_json(page.data, self.data_json, "data."), self._as_json(page.answers, self.answer_json, "answer."))

    def batch(self, prepared: _Prepared) -> pa.RecordBatch:
        """The page's rows: one per annotation, or one with empty answers for an item without any."""
        page = prepared.page
        item_take, annotation_take = _layout(page)
        by_item = {"item_id": page.item_ids, "external_id": page.external_ids, "state": page.states,
                   "metadata": prepared.metadata, **self._typed(page.data, prepared.data, self.data_typed, "data."),
                   **prepared.data_as_json}
        by_annotation = {"annotation_id": page.annotation_ids, "author": page.authors, "status": page.statuses,
                         "submitted_at": page.submitted_at,
                         **self._typed(page.answers, prepared.answers, self.answer_typed, "answer."),
                         **prepared.answers_as_json}
        size = len(item_take)
        arrays = []
        for field in self.table_schema:
            if field.name in by_item:
                array = by_item[field.name].take(item_take)
            elif field.name in by_annotation:
                array = by_annotation[field.name]
                array = array if annotation_take is None else array.take(annotation_take)
            else:  # predictions: asked for only through records
                array = pa.repeat(pa.scalar("[]", pa.string()), size)
            arrays.append(array.cast(field.type) if array.type != field.type else array)
        return pa.RecordBatch.from_arrays(arrays, schema=self.table_schema)


def _as_sorted_json(value: Any) -> str | None:
    # As records give it: keys sorted (exports/records.py makes every record's keys sorted).
    return None if value is None else orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _layout(page: ColumnPage) -> tuple[pa.Array, pa.Array | None]:
    """Which item and which annotation (None: no annotation) each row of the page shows."""
    parents = page.parents.to_numpy()
    counts = np.bincount(parents, minlength=len(page.item_ids))
    if counts.all():
        return page.parents, None  # every item has annotations: one row each, in order
    rows = np.maximum(counts, 1)
    first_row = np.cumsum(rows) - rows
    first_annotation = np.cumsum(counts) - counts
    annotations = np.arange(len(parents))
    annotation_take = np.full(int(rows.sum()), -1, dtype=np.int64)
    annotation_take[first_row[parents] + annotations - first_annotation[parents]] = annotations
    item_take = np.repeat(np.arange(len(counts)), rows)
    return pa.array(item_take), pa.array(annotation_take, mask=annotation_take < 0)


def write_parquet_pages(pages: Iterable[ColumnPage], schema: LabelSchema, out: IO[bytes], report: Report) -> None:
    """The table `write_parquet` makes from records (without aggregates or predictions), from column pages."""
    columns = _PageColumns(schema)
    # Dictionary encoding only where values repeat (it costs a hash per value and is dropped on unique ones).
    repeated = [*flat.ITEM_COLUMNS, "author", "status", "predictions",
                *(f"answer.{q.name}" for q in schema.questions if q.type in ("single_choice", "rating"))]
    # Arrow's part of a page (parsing, taking rows, compressing: work without the GIL) runs on a thread of its
    # own while the next page is read: at most two pages are held.
    with pq.ParquetWriter(out, columns.table_schema, use_dictionary=repeated, **COMPRESSION) as writer, \
            ThreadPoolExecutor(1, thread_name_prefix="parquet-writer") as pool:
        written: Future[None] | None = None
        for page in pages:
            report.count("items", len(page.item_ids))
            report.count("annotations", len(page.answers))
            if written is not None:
                written.result()
            prepared = columns.prepare(page)
            written = pool.submit(lambda p: writer.write_batch(columns.batch(p)), prepared)
        if written is not None:
            written.result()


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
                    read_parquet, write_pages=write_parquet_pages)
