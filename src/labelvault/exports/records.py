"""Export records: the native JSONL export's items, parsed, narrowed by the export's options, with the
items' predictions when asked for. Constant memory: one chunk of items at a time.

With `aggregated`, an item carries quality control's aggregates (`aggregates`: question -> value, confidence,
method, number of annotations; a gold item's known answers instead, with confidence 1 and method "gold")
and, in place of its annotations, one annotation by the author "aggregate"
whose answers are the aggregated values (so every format writes it as it writes a person's). Gold items (whose
known answers quality control holds) are left out when `include_gold` is false. Both are read through the
quality service: the gold item ids once (a small set), the aggregates merged in item order, page by page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.orm import Session, sessionmaker

from labelvault.errors import InvalidInput
from labelvault.exports.jsonl import ExportFilter, stream_jsonl
from labelvault.formats.image_size import image_size
from labelvault.items.models import ItemState
from labelvault.predictions import service as predictions
from labelvault.projects import service as projects
from labelvault.quality import service as quality
from labelvault.storage import BlobStore, safe_key


@dataclass
class ExportOptions:
    states: list[str] | None = None
    only_accepted: bool = False
    split: str | None = None  # the item's metadata.split
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    include_drafts: bool = False
    only_annotated: bool = False
    predictions: bool = False
    aggregated: bool = False  # quality control's aggregates in place of the annotations
    include_gold: bool = True

    def export_filter(self) -> ExportFilter:
        states = [ItemState.accepted] if self.only_accepted else self.states
        return ExportFilter(states=states, include_drafts=self.include_drafts, since=self.since, until=self.until,
                            only_annotated=self.only_annotated)

    def by_pages(self) -> bool:
        """Whether the export can be read as column pages (`exports/pages.py`): nothing in these options needs a
        parsed record."""
        return not self.aggregated and not self.predictions and self.split is None

    def to_params(self) -> dict[str, Any]:
        return {"states": self.states, "only_accepted": self.only_accepted, "split": self.split,
                "since": self.since.isoformat() if self.since else None,
                "until": self.until.isoformat() if self.until else None, "include_drafts": self.include_drafts,
                "only_annotated": self.only_annotated, "predictions": self.predictions,
                "aggregated": self.aggregated, "include_gold": self.include_gold}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> ExportOptions:
        def moment(value: str | None) -> dt.datetime | None:
            return dt.datetime.fromisoformat(value) if value else None

        return cls(states=params.get("states"), only_accepted=bool(params.get("only_accepted")),
                   split=params.get("split"), since=moment(params.get("since")), until=moment(params.get("until")),
                   include_drafts=bool(params.get("include_drafts")),
                   only_annotated=bool(params.get("only_annotated")), predictions=bool(params.get("predictions")),
                   aggregated=bool(params.get("aggregated")), include_gold=bool(params.get("include_gold", True)))


GOLD_PAGE = 5000
AGGREGATE_PAGE = 10_000
AGGREGATE_AUTHOR = "aggregate"
LINES_PER_CHUNK = 2000
TIMES = ("created_at", "updated_at", "submitted_at")


def _time(value: Any) -> Any:
    # Six fraction digits whichever database stored the time (PostgreSQL leaves out a zero fraction).
    if isinstance(value, str) and len(value) == 20 and value.endswith("Z"):
        return value[:-1] + ".000000Z"
    return value


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def _canonical(line: bytes) -> dict[str, Any]:
    """The record as any database gives it: JSON keys sorted (PostgreSQL's jsonb orders them its own way), times
    with six fraction digits. Exports from a restored copy of a project are then the same, byte for byte."""
    record: dict[str, Any] = orjson.loads(orjson.dumps(orjson.loads(line), option=orjson.OPT_SORT_KEYS))
    record["created_at"] = _time(record["created_at"])
    for annotation in record["annotations"]:
        for key in TIMES:
            annotation[key] = _time(annotation[key])
    return record


def _add_image_sizes(records: list[dict[str, Any]], image_fields: list[str], media: BlobStore,
                     prefix: str) -> None:
    for record in records:
        sizes: dict[str, list[int]] = {}
        for name in image_fields:
            path = record["data"].get(name)
            if not isinstance(path, str):
                continue
            try:
                with media.open_read(f"{prefix}/{safe_key(path)}") as handle:
                    size = image_size(handle)
            except (OSError, InvalidInput):
                size = None
            if size is not None:
                sizes[name] = list(size)
        record["image_sizes"] = sizes


def export_records(factory: sessionmaker[Session], organization_id: str, project_id: str,
                   options: ExportOptions, *, image_fields: list[str] | None = None,
                   media: BlobStore | None = None) -> Iterator[dict[str, Any]]:
    """Yield each exported item as a dict (`id`, `external_id`, `data`, `metadata`, `state`, `annotations`,
    and `predictions` when asked for)."""
    filters = options.export_filter()
    filters.check()
    if options.aggregated:
        # Which items have annotations is the aggregates' business here, not the annotations'.
        filters.only_annotated = False
    gold = gold_answers(factory, organization_id, project_id) if options.aggregated or not options.include_gold \
        else {}
    aggregates = _Aggregates(factory, organization_id, project_id) if options.aggregated else None
    for chunk in stream_jsonl(factory, organization_id, project_id, filters):
        records = [_canonical(line) for line in chunk.splitlines()]
        if gold and not options.include_gold:
            records = [r for r in records if r["id"] not in gold]
        if aggregates is not None:
            records = [_aggregated(r, _with_gold(aggregates.of(r["id"]), gold.get(r["id"]))) for r in records]
            if options.only_annotated:
                records = [r for r in records if r["aggregates"]]
        if options.split is not None:
            records = [r for r in records if (r.get("metadata") or {}).get("split") == options.split]
        if options.predictions and records:
            by_item: dict[str, list[dict[str, Any]]] = {}
            with factory() as session:
                for p in predictions.prediction_rows_of_items(session, organization_id, project_id,
                                                              [r["id"] for r in records]):
                    by_item.setdefault(p.pop("item_id"), []).append(p)
            for record in records:
                found = sorted(by_item.get(record["id"], []), key=lambda p: (p["model_name"], p["model_version"]))
                record["predictions"] = _sorted(found)
        if image_fields and media is not None:
            _add_image_sizes(records, image_fields, media, f"{organization_id}/{project_id}")
        yield from records


def gold_answers(factory: sessionmaker[Session], organization_id: str, project_id: str) -> dict[str, dict[str, Any]]:
    """The known answers of the project's gold items by item id (quality control holds them); gold items are
    a small part of any project."""
    found: dict[str, dict[str, Any]] = {}
    after: str | None = None
    with factory() as session:
        project = projects.project_for_job(session, organization_id, project_id, "export")
        while page := quality.gold_page(session, project, after, GOLD_PAGE):
            found.update((g.item_id, dict(g.answers)) for g in page)
            after = page[-1].item_id
    return found


def gold_item_ids(factory: sessionmaker[Session], organization_id: str, project_id: str) -> set[str]:
    return set(gold_answers(factory, organization_id, project_id))


class _Aggregates:
    """The project's aggregates in (item, question) order, read a page at a time and handed out per item as
    the export's items (in the same order) come by: constant memory."""

    def __init__(self, factory: sessionmaker[Session], organization_id: str, project_id: str) -> None:
        self.factory, self.organization_id, self.project_id = factory, organization_id, project_id
        self.page: list[dict[str, Any]] = []
        self.at = 0
        self.after: tuple[str, str] | None = None
        self.done = False

    def _fill(self) -> bool:
        if self.done:
            return False
        with self.factory() as session:
            project = projects.project_for_job(session, self.organization_id, self.project_id, "export")
            self.page = quality.aggregate_rows_page(session, project, self.after, AGGREGATE_PAGE)
            for row in self.page:  # keys sorted, as in the annotations
                row["value"] = _sorted(row["value"])
        self.at = 0
        if len(self.page) < AGGREGATE_PAGE:
            self.done = True
        if self.page:
            last = self.page[-1]
            self.after = (last["item_id"], last["question"])
        return bool(self.page)

    def of(self, item_id: str) -> dict[str, dict[str, Any]]:
        """The item's aggregates by question; those of items before it (left out of the export) are passed."""
        found: dict[str, dict[str, Any]] = {}
        while True:
            if self.at >= len(self.page) and not self._fill():
                return found
            row = self.page[self.at]
            if row["item_id"] > item_id:
                return found
            if row["item_id"] == item_id:
                found[row["question"]] = {k: row[k] for k in ("value", "confidence", "method", "annotations")}
            self.at += 1


def _with_gold(aggregates: dict[str, dict[str, Any]], known: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """A gold item's label is its known answer (confidence 1, method "gold") where one is known."""
    for question, value in (known or {}).items():
        counted = aggregates.get(question, {}).get("annotations")
        aggregates[question] = {"value": _sorted(value), "confidence": 1.0, "method": "gold", "annotations": counted}
    return aggregates


def _aggregated(record: dict[str, Any], aggregates: dict[str, dict[str, Any]]) -> dict[str, Any]:
    record["aggregates"] = _sorted(aggregates)
    record["annotations"] = [{
        "id": None, "author_id": None, "author": AGGREGATE_AUTHOR, "schema_version": None, "status": "submitted",
        "answers": {q: a["value"] for q, a in sorted(aggregates.items())},
        "confidence": {q: a["confidence"] for q, a in sorted(aggregates.items())},
        "time_spent_ms": 0, "created_at": None, "updated_at": None, "submitted_at": None,
    }] if aggregates else []
    return record


def aggregated_jsonl(factory: sessionmaker[Session], organization_id: str, project_id: str, filters: ExportFilter,
                     include_gold: bool) -> Iterator[bytes]:
    """The native JSONL export with quality control's aggregates in place of the annotations: each line is the
    item (id, external_id, data, metadata, overlap, priority, state, created_at) and `aggregates`."""
    options = ExportOptions(states=filters.states, since=filters.since, until=filters.until,
                            include_drafts=filters.include_drafts, only_annotated=filters.only_annotated,
                            aggregated=True, include_gold=include_gold)
    lines: list[bytes] = []
    for record in export_records(factory, organization_id, project_id, options):
        del record["annotations"]
        filters.counters["items"] += 1
        lines.append(orjson.dumps(record) + b"\n")
        if len(lines) >= LINES_PER_CHUNK:
            yield b"".join(lines)
            lines = []
    if lines:
        yield b"".join(lines)
