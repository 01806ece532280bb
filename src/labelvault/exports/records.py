"""Export records: the native JSONL export's items, parsed, narrowed by the export's options, with the
items' predictions when asked for. Constant memory: one chunk of items at a time."""

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

    def export_filter(self) -> ExportFilter:
        states = [ItemState.accepted] if self.only_accepted else self.states
        return ExportFilter(states=states, include_drafts=self.include_drafts, since=self.since, until=self.until,
                            only_annotated=self.only_annotated)

    def to_params(self) -> dict[str, Any]:
        return {"states": self.states, "only_accepted": self.only_accepted, "split": self.split,
                "since": self.since.isoformat() if self.since else None,
                "until": self.until.isoformat() if self.until else None, "include_drafts": self.include_drafts,
                "only_annotated": self.only_annotated, "predictions": self.predictions}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> ExportOptions:
        def moment(value: str | None) -> dt.datetime | None:
            return dt.datetime.fromisoformat(value) if value else None

        return cls(states=params.get("states"), only_accepted=bool(params.get("only_accepted")),
                   split=params.get("split"), since=moment(params.get("since")), until=moment(params.get("until")),
                   include_drafts=bool(params.get("include_drafts")),
                   only_annotated=bool(params.get("only_annotated")), predictions=bool(params.get("predictions")))


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
    for chunk in stream_jsonl(factory, organization_id, project_id, filters):
        records = [_canonical(line) for line in chunk.splitlines()]
        if options.split is not None:
            records = [r for r in records if (r.get("metadata") or {}).get("split") == options.split]
        if options.predictions and records:
            by_item: dict[str, list[dict[str, Any]]] = {}
            with factory() as session:
                for p in predictions.predictions_of_items(session, organization_id, [r["id"] for r in records]):
                    by_item.setdefault(p.item_id, []).append({
                        "model_name": p.model_name, "model_version": p.model_version, "answers": p.answers,
                        "score": p.score})
            for record in records:
                found = sorted(by_item.get(record["id"], []), key=lambda p: (p["model_name"], p["model_version"]))
                record["predictions"] = _sorted(found)
        if image_fields and media is not None:
            _add_image_sizes(records, image_fields, media, f"{organization_id}/{project_id}")
        yield from records
