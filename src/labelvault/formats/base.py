"""The format interface: every format is one module with a `FORMAT` (writer, reader, what it holds)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import pyarrow as pa

from labelvault.projects.label_schema import LabelSchema

Record = dict[str, Any]
MAX_NOTES = 1000


@dataclass
class Report:
    """What a writer or reader did: counts, and what the other side cannot express (each said once)."""

    counts: dict[str, int] = field(default_factory=lambda: {"items": 0, "annotations": 0})
    notes: list[str] = field(default_factory=list)
    problems: list[tuple[int, str, str]] = field(default_factory=list)  # (record number, path, reason)
    _said: set[str] = field(default_factory=set)

    def note(self, text: str) -> None:
        """Something that could not be expressed; said once however often it happens."""
        if text not in self._said and len(self.notes) < MAX_NOTES:
            self._said.add(text)
            self.notes.append(text)

    def problem(self, number: int, path: str, reason: str) -> None:
        if len(self.problems) < 100_000:
            self.problems.append((number, path, reason))

    def count(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n


@dataclass
class ColumnPage:
    """A page of an export as columns, for writers that build their output in bulk (no dict per row).

    The items, in export order, and their annotations grouped by item in the same order: `parents[i]` is the
    position of annotation i's item in the page. Text columns are Arrow string arrays (times as ISO 8601 UTC
    with six fraction digits, as in records); JSON values are their UTF-8 text as stored (`metadata` None
    where the item has none)."""

    item_ids: pa.Array
    external_ids: pa.Array
    states: pa.Array
    data: list[bytes]
    metadata: list[bytes | None]
    parents: pa.Array  # int64, non-decreasing
    annotation_ids: pa.Array
    authors: pa.Array  # e-mail
    statuses: pa.Array
    submitted_at: pa.Array
    answers: list[bytes]


Writer = Callable[[Iterable[Record], LabelSchema, IO[bytes], Report], None]
PageWriter = Callable[[Iterable[ColumnPage], LabelSchema, IO[bytes], Report], None]
Reader = Callable[[IO[bytes], LabelSchema, Report], Iterator[Record]]


class FormatProblem(ValueError):
    """A record of a foreign file that cannot be read: where (`annotations[12].bbox`) and why."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class Format:
    name: str
    extension: str
    media_type: str
    description: str
    write: Writer
    read: Reader | None = None
    question_types: frozenset[str] = frozenset()  # empty: any
    needs_image_size: bool = False  # records carry `image_sizes`: {field: [width, height]}
    unit: str = "records"  # what a record is called in the file's problem paths, e.g. tasks[3]
    # The same output from column pages, where the export's options allow them (`ExportOptions.by_pages`).
    write_pages: PageWriter | None = None

    def check_schema(self, schema: LabelSchema) -> str | None:
        """Why this format cannot express any question of the schema, or None."""
        if not self.question_types:
            return None
        if any(q.type in self.question_types for q in schema.questions):
            return None
        return (f"{self.name} needs a question of type {' or '.join(sorted(self.question_types))}; "
                "this project's schema has none")


def submitted(record: Record) -> list[dict[str, Any]]:
    """The record's submitted annotations (drafts are exported only where a format carries status)."""
    return [a for a in record.get("annotations", ()) if a.get("status", "submitted") == "submitted"]


def questions_of(schema: LabelSchema, *types: str) -> list[Any]:
    return [q for q in schema.questions if q.type in types]


def image_size_of(record: Record, field: str, report: Report) -> tuple[int, int] | None:
    """The pixel size of the record's image in `field`: from metadata width/height or the media file."""
    meta = record.get("metadata") or {}
    width, height = meta.get("width"), meta.get("height")
    if isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0:
        return width, height
    size = (record.get("image_sizes") or {}).get(field)
    if size:
        return int(size[0]), int(size[1])
    report.note(f"items whose image size is unknown (no metadata width/height, no readable {field} file) "
                "are left out")
    return None


def first_submitted(record: Record, fmt: str, report: Report) -> dict[str, Any] | None:
    """The one annotation a one-label-per-item format writes: the first submitted one."""
    done = submitted(record)
    if len(done) > 1:
        report.note(f"{fmt} holds one annotation per item; the first submitted one is written "
                    "(export csv, hf_jsonl or coco for every annotator's)")
    return done[0] if done else None


def the_question(schema: LabelSchema, qtype: str) -> Any:
    """The schema's first question of `qtype` (formats that hold one such question use it)."""
    found = questions_of(schema, qtype)
    return found[0] if found else None


def number_list(value: Any, count: int, path: str) -> list[float]:
    """`count` numbers, or FormatProblem such as `annotations[12].bbox: expected 4 numbers, got 3`."""
    if not isinstance(value, list) or not all(isinstance(v, int | float) and not isinstance(v, bool)
                                              for v in value):
        raise FormatProblem(path, f"expected a list of {count} numbers")
    if len(value) != count:
        raise FormatProblem(path, f"expected {count} numbers, got {len(value)}")
    return [float(v) for v in value]
