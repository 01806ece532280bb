"""spaCy: JSONL (`{"text", "spans": [{"start", "end", "label"}], "meta"}`, as spaCy's and Prodigy's tools read)
and DocBin (`.spacy`, for `spacy train`): every span in `doc.spans["sc"]`, the non-overlapping ones also as
`doc.ents`. DocBin uses a blank multi-language tokenizer (whitespace and punctuation); spans that do not
fall on its token boundaries are widened to whole tokens."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from typing import IO, Any

import orjson

from labelvault.formats.base import Format, FormatProblem, Record, Report, first_submitted, the_question
from labelvault.projects.label_schema import LabelSchema


def write_jsonl(records: Iterable[Record], schema: LabelSchema, out: IO[bytes], report: Report) -> None:
    q = the_question(schema, "spans")
    for record in records:
        report.count("items")
        text = record["data"].get(q.field)
        if not isinstance(text, str):
            continue
        annotation = first_submitted(record, "spacy_jsonl", report)
        if annotation is not None:
            report.count("annotations")
        spans = [] if annotation is None else annotation["answers"].get(q.name) or []
        out.write(orjson.dumps({
            "text": text, "spans": [{"start": s["start"], "end": s["end"], "label": s["label"]} for s in spans],
            "meta": {"item_id": record.get("id"), "external_id": record.get("external_id")}}) + b"\n")


def _spans(value: Any, where: str, length: int, labels: set[str]) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise FormatProblem(where, "expected a list of {start, end, label}")
    spans = []
    for index, span in enumerate(value):
        at = f"{where}[{index}]"
        if not isinstance(span, dict):
            raise FormatProblem(at, "expected an object {start, end, label}")
        start, end, label = span.get("start"), span.get("end"), span.get("label")
        if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start < end <= length:
            raise FormatProblem(at, f"expected integer offsets 0 <= start < end <= {length}")
        if label not in labels:
            raise FormatProblem(f"{at}.label", f"expected one of {sorted(labels)}, got {label!r}")
        spans.append({"start": start, "end": end, "label": label})
    return spans


def read_jsonl(handle: IO[bytes], schema: LabelSchema, report: Report) -> Iterator[Record]:
    q = the_question(schema, "spans")
    labels = {label.value for label in q.labels}
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError:
            raise FormatProblem(f"lines[{number}]", "is not valid JSON") from None
        if not isinstance(row, dict) or not isinstance(row.get("text"), str):
            raise FormatProblem(f"lines[{number}].text", "expected a string")
        spans = _spans(row.get("spans", row.get("ents", [])), f"lines[{number}].spans", len(row["text"]), labels)
        meta: dict[str, Any] = row["meta"] if isinstance(row.get("meta"), dict) else {}
        external_id = str(meta.get("external_id") or f"line-{number}")
        yield {"id": str(meta.get("item_id") or external_id), "external_id": external_id,
               "data": {q.field: row["text"]},
               "annotations": [{"status": "submitted", "answers": {q.name: spans}}] if spans else []}


def write_docbin(records: Iterable[Record], schema: LabelSchema, out: IO[bytes], report: Report) -> None:
    import spacy
    from spacy.tokens import DocBin
    from spacy.util import filter_spans

    q = the_question(schema, "spans")
    nlp = spacy.blank("xx")
    docs = DocBin(store_user_data=True)
    for record in records:
        report.count("items")
        text = record["data"].get(q.field)
        if not isinstance(text, str):
            continue
        annotation = first_submitted(record, "spacy_docbin", report)
        if annotation is not None:
            report.count("annotations")
        doc = nlp.make_doc(text)
        spans = []
        for span in [] if annotation is None else annotation["answers"].get(q.name) or []:
            made = doc.char_span(span["start"], span["end"], label=span["label"], alignment_mode="expand")
            if made is None:
                report.note("spacy_docbin: a span of only whitespace has no token and is left out")
                continue
            if (made.start_char, made.end_char) != (span["start"], span["end"]):
                report.note("spacy_docbin: spans that start or end inside a token are widened to whole tokens")
            spans.append(made)
        doc.spans["sc"] = spans
        kept = filter_spans(spans)
        if len(kept) < len(spans):
            report.note("spacy_docbin: overlapping spans are all in doc.spans['sc']; doc.ents holds the longest")
        doc.ents = kept
        doc.user_data["item_id"] = record.get("id")
        doc.user_data["external_id"] = record.get("external_id")
        docs.add(doc)
    out.write(docs.to_bytes())


# A DocBin is one zlib-compressed msgpack document: spaCy reads it whole, so its size is bounded, compressed
# and once inflated (checked first in a streaming pass that keeps nothing).
MAX_DOCBIN_BYTES = 64 * 2**20
MAX_DOCBIN_INFLATED = 512 * 2**20


def _check_inflated_size(content: bytes) -> None:
    inflate = zlib.decompressobj()
    size = 0
    at = 0
    try:
        while at < len(content) and not inflate.eof:
            size += len(inflate.decompress(content[at:at + 2**16], 2**20))
            at += 2**16
            while inflate.unconsumed_tail and size <= MAX_DOCBIN_INFLATED:
                size += len(inflate.decompress(inflate.unconsumed_tail, 2**20))
            if size > MAX_DOCBIN_INFLATED:
                raise FormatProblem("(file)", f"inflates to more than {MAX_DOCBIN_INFLATED // 2**20} MiB; it is "
                                              "refused (split it, or import spacy_jsonl)")
    except zlib.error:
        raise FormatProblem("(file)", "is not a spaCy DocBin (not zlib-compressed)") from None


def read_docbin(handle: IO[bytes], schema: LabelSchema, report: Report) -> Iterator[Record]:
    import spacy
    from spacy.tokens import DocBin

    q = the_question(schema, "spans")
    labels = {label.value for label in q.labels}
    nlp = spacy.blank("xx")
    content = handle.read(MAX_DOCBIN_BYTES + 1)
    if len(content) > MAX_DOCBIN_BYTES:
        raise FormatProblem("(file)", f"is larger than {MAX_DOCBIN_BYTES // 2**20} MiB: a spaCy DocBin is read whole "
                                      "(it cannot be streamed); split it, or import spacy_jsonl, which streams")
    _check_inflated_size(content)
    try:
        docs = DocBin().from_bytes(content)
    except Exception as exc:  # noqa: BLE001 - spaCy raises several kinds for a damaged file
        raise FormatProblem("(file)", f"is not a spaCy DocBin ({type(exc).__name__})") from None
    for number, doc in enumerate(docs.get_docs(nlp.vocab)):
        group = doc.spans.get("sc", doc.ents)
        spans = [{"start": s.start_char, "end": s.end_char, "label": s.label_} for s in group]
        for index, span in enumerate(spans):
            if span["label"] not in labels:
                raise FormatProblem(f"docs[{number}].spans[{index}].label", f"{span['label']!r} is not a label")
        external_id = str(doc.user_data.get("external_id") or f"doc-{number}")
        yield {"id": str(doc.user_data.get("item_id") or external_id), "external_id": external_id,
               "data": {q.field: doc.text},
               "annotations": [{"status": "submitted", "answers": {q.name: spans}}] if spans else []}


SPACY_JSONL = Format("spacy_jsonl", "jsonl", "application/x-ndjson", "spaCy JSONL: text with character spans.",
                     write_jsonl, read_jsonl, frozenset({"spans"}))
SPACY_DOCBIN = Format("spacy_docbin", "spacy", "application/octet-stream",
                      "spaCy DocBin (.spacy) for spacy train: spans and entities.", write_docbin, read_docbin,
                      frozenset({"spans"}))
