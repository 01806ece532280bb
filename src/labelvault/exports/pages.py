"""Export pages: the export's items and annotations as columns (`ColumnPage`), for the formats that write
columns in bulk (Hugging Face Parquet). The same rows as the native JSONL export, read the same way (one
snapshot, keyset streams ordered by item, content opened by the repository), but never made into a line or a
dict: each page's values go to Arrow as lists, and times are made ISO 8601 by Arrow's compute functions.

Options that need a parsed record (aggregated labels, predictions, a split from the metadata) are written
from records instead (`ExportOptions.by_pages`)."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sequence
from itertools import compress
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.orm import Session, sessionmaker

from labelvault.annotations.models import AnnotationStatus
from labelvault.exports import repository as repo
from labelvault.exports.jsonl import AheadReader, ExportFilter, SnapshotChanged
from labelvault.exports.records import ExportOptions, gold_item_ids
from labelvault.formats.base import ColumnPage

PAGE = 5000  # items per page; about 15,000 rows of the flat table


class _Emails(dict[bytes, str]):
    """author id -> e-mail; authors who have left the organization are looked up once."""

    def __init__(self, factory: sessionmaker[Session], members: dict[str, str]) -> None:
        super().__init__((uid.encode(), email) for uid, email in members.items())
        self.factory = factory

    def __missing__(self, user_id: bytes) -> str:
        # Its own short session: the export's connection belongs to the reader thread.
        with self.factory() as session:
            email = repo.author_email(session, user_id.decode()) or ""
        self[user_id] = email
        return email


def _text(values: Sequence[bytes | None]) -> pa.Array:
    return pa.array(values, pa.binary()).cast(pa.string())


def iso_times(values: Sequence[bytes | None], postgresql: bool) -> pa.Array:
    """Stored times as the records carry them: "2024-05-01T12:00:00.250000Z". SQLite's text ("2024-05-01
    12:00:00.250000", maybe with "+00:00") and PostgreSQL's ("2024-05-01 12:00:00.25", trailing zeros of the
    fraction dropped) as `jsonl._sqlite_time` / `_postgresql_time` and then `records._time` make them."""
    text = pc.replace_substring(_text(values), "+00:00", "")
    text = pc.if_else(pc.equal(pc.utf8_length(text), 19), pc.binary_join_element_wise(text, ".000000", ""), text)
    if postgresql:
        text = pc.utf8_rpad(text, width=26, padding="0")
    return pc.binary_join_element_wise(pc.utf8_replace_slice(text, start=10, stop=11, replacement="T"), "Z", "")


def _page(items: Sequence[Any], annotations: Sequence[Any], emails: _Emails, narrow: bool,
          postgresql: bool) -> ColumnPage | None:
    if not items:
        return None
    ids, external_ids, data, metadata, _, _, states, _ = (list(c) for c in zip(*items, strict=True))
    columns = list(zip(*annotations, strict=True)) if annotations else [()] * 10
    a_items, a_ids, a_authors, _, a_statuses, answers, _, _, _, submitted = columns
    item_ids = pa.array(ids, pa.binary())
    parents = pc.index_in(pa.array(a_items, pa.binary()), value_set=item_ids)
    if parents.null_count:
        raise SnapshotChanged("annotations of items outside the export's page were read")
    positions = parents.to_numpy().astype(np.int64)
    if narrow:
        # Only items with annotations (as in the native export when it is narrowed).
        keep = np.bincount(positions, minlength=len(ids)) > 0
        if not keep.all():
            positions = (np.cumsum(keep) - 1)[positions]
            ids, external_ids, data, metadata, states = (
                list(compress(c, keep)) for c in (ids, external_ids, data, metadata, states))
            if not ids:
                return None
            item_ids = pa.array(ids, pa.binary())
    return ColumnPage(
        item_ids=item_ids.cast(pa.string()), external_ids=_text(external_ids), states=_text(states), data=data,
        metadata=metadata, parents=pa.array(positions, pa.int64()), annotation_ids=_text(a_ids),
        authors=pa.array(list(map(emails.__getitem__, a_authors)), pa.string()), statuses=_text(a_statuses),
        submitted_at=iso_times(submitted, postgresql), answers=list(answers))


def stream_pages(
    factory: sessionmaker[Session], organization_id: str, project_id: str, filters: ExportFilter,
    leave_out: set[str] | None = None, page: int = PAGE,
) -> Iterator[ColumnPage]:
    """The export (as `stream_jsonl` writes it, without revisions) in pages of columns; items whose id is in
    `leave_out` are not written."""
    skip = {i.encode() for i in leave_out or ()}
    statuses = [AnnotationStatus.submitted] + ([AnnotationStatus.draft] if filters.include_drafts else [])
    narrow = filters.only_annotated or filters.since is not None or filters.until is not None
    with factory() as session, AheadReader(ahead=repo.is_postgresql(session)) as reader:
        repo.begin_snapshot(session)
        postgresql = repo.is_postgresql(session)
        emails = _Emails(factory, repo.member_emails(session, organization_id))
        items = reader.ahead(repo.item_rows(session, organization_id, project_id, states=filters.states,
                                            batch=page))
        anns = reader.ahead(repo.annotation_rows(
            session, organization_id, project_id, statuses=statuses, states=filters.states, since=filters.since,
            until=filters.until, batch=page * 3))
        waiting: list[Any] = []
        more = True
        for rows in items:
            ids = {row[0] for row in rows}
            while more and (not waiting or waiting[-1][0] in ids):
                batch = next(anns, None)
                if batch is None:
                    more = False
                else:
                    waiting.extend(batch)
            # The page's annotations come first (both streams are in item order): those of later items wait.
            cut = bisect_left(waiting, True, key=lambda row: row[0] not in ids)
            mine, waiting = waiting[:cut], waiting[cut:]
            if skip:
                rows = [row for row in rows if row[0] not in skip]
                mine = [row for row in mine if row[0] not in skip]
            built = _page(rows, mine, emails, narrow, postgresql)
            if built is not None:
                filters.counters["items"] += len(built.item_ids)
                filters.counters["annotations"] += len(built.answers)
                yield built
        if waiting or (more and next(anns, None) is not None):
            raise SnapshotChanged("annotations of items outside the export were read")


def export_pages(factory: sessionmaker[Session], organization_id: str, project_id: str,
                 options: ExportOptions) -> Iterator[ColumnPage]:
    """The export's pages for options that `ExportOptions.by_pages` accepts."""
    if not options.by_pages():
        raise ValueError("these export options need records (aggregated labels, predictions or a split)")
    filters = options.export_filter()
    filters.check()
    leave_out = None if options.include_gold else gold_item_ids(factory, organization_id, project_id)
    return stream_pages(factory, organization_id, project_id, filters, leave_out)
