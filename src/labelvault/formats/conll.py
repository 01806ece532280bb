"""CoNLL-2003 NER: `-DOCSTART- -X- -X- O` before each item, then one `token -X- -X- TAG` line per token (BIO
tags from the spans question), a blank line after each item. The text is split at whitespace."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import IO

from labelvault.formats.base import Format, FormatProblem, Record, Report, first_submitted, the_question
from labelvault.formats.tokens import bio_tags, spans_from_tags
from labelvault.projects.label_schema import LabelSchema

DOCSTART = b"-DOCSTART- -X- -X- O\n\n"


def write(records: Iterable[Record], schema: LabelSchema, out: IO[bytes], report: Report) -> None:
    q = the_question(schema, "spans")
    for record in records:
        report.count("items")
        text = record["data"].get(q.field)
        if not isinstance(text, str) or not text.strip():
            continue
        annotation = first_submitted(record, "conll", report)
        if annotation is not None:
            report.count("annotations")
        spans = [] if annotation is None else annotation["answers"].get(q.name) or []
        lines = [f"{token} -X- -X- {tag}\n" for token, tag in bio_tags(text, spans, report, "conll")]
        out.write(DOCSTART + "".join(lines).encode() + b"\n")


def _documents(handle: IO[bytes]) -> Iterator[tuple[int, list[tuple[int, str]]]]:
    """(document number, [(line number, line)]) for each document between -DOCSTART- lines."""
    lines: list[tuple[int, str]] = []
    number = 0
    for line_number, raw in enumerate(handle, start=1):
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if line.startswith("-DOCSTART-"):
            if lines:
                yield number, lines
            number += 1
            lines = []
        elif line.strip():
            lines.append((line_number, line))
    if lines:
        yield number, lines


def read(handle: IO[bytes], schema: LabelSchema, report: Report) -> Iterator[Record]:
    q = the_question(schema, "spans")
    labels = {label.value for label in q.labels}
    for number, lines in _documents(handle):
        words, tags = [], []
        for line_number, line in lines:
            parts = line.split()
            if len(parts) < 2:
                raise FormatProblem(f"lines[{line_number}]", f"expected a token and a tag, got {len(parts)} values")
            words.append(parts[0])
            tags.append(parts[-1])
        text, spans = spans_from_tags(words, tags, f"documents[{number}].tokens")
        for span in spans:
            if span["label"] not in labels:
                raise FormatProblem(f"documents[{number}]", f"{span['label']!r} is not a label of {q.name!r}")
        yield {"id": f"doc-{number}", "external_id": f"doc-{number}", "data": {q.field: text},
               "annotations": [{"status": "submitted", "answers": {q.name: spans}}] if spans else []}


FORMAT = Format("conll", "conll", "text/plain", "CoNLL-2003 NER: token per line with BIO tags.", write, read,
                frozenset({"spans"}), unit="documents")
