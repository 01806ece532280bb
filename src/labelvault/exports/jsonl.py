"""Full-fidelity JSONL export: one line per item with its annotations (and revisions on request).

Lines are assembled from the stored JSON text, so a million annotations stream without being
parsed and re-serialized. Items, annotations and revisions are read as three streams ordered by item
id in one snapshot and merged here; memory stays constant (one batch of each at a time).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import orjson
from sqlalchemy.orm import Session, sessionmaker

from labelvault.annotations.models import AnnotationStatus
from labelvault.errors import InvalidInput
from labelvault.exports import repository as repo
from labelvault.items.models import ItemState

BATCH = 2000  # items per chunk sent; about 4 MB of JSONL


@dataclass
class ExportFilter:
    states: list[str] | None = None
    include_drafts: bool = False
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    revisions: bool = False
    only_annotated: bool = False
    counters: dict[str, int] = field(default_factory=lambda: {"items": 0, "annotations": 0})

    def check(self) -> None:
        for state in self.states or []:
            if state not in ItemState.all:
                raise InvalidInput(f"state must be among {list(ItemState.all)}, got {state!r}.",
                                   details={"field": "state"})
        if self.since and self.until and self.since >= self.until:
            raise InvalidInput("since must be earlier than until.", details={"field": "since"})


def _sqlite_time(value: str | None) -> str:
    """SQLite's stored text ("2024-05-01 12:00:00.250000") as an ISO 8601 UTC JSON string."""
    if value is None:
        return "null"
    text = value.replace(" ", "T")
    if text.endswith("+00:00"):
        text = text[:-6]
    return f'"{text}Z"'


def _postgresql_time(value: str | None) -> str:
    """PostgreSQL's UTC text ("2024-05-01 12:00:00.25", trailing zeros dropped) as ISO 8601 JSON, with
    six fraction digits unless there is no fraction (as Python's isoformat writes it)."""
    if value is None:
        return "null"
    text = value.replace(" ", "T")
    if len(text) != 19:
        text = text.ljust(26, "0")
    return f'"{text}Z"'


def _s(value: str) -> str:
    return orjson.dumps(value).decode()


class _QuotedEmails(dict[str, str]):
    """author id -> e-mail as a JSON string; authors who left the organization are looked up once."""

    def __init__(self, factory: sessionmaker[Session], members: dict[str, str]) -> None:
        super().__init__((uid, _s(email)) for uid, email in members.items())
        self.factory = factory

    def __missing__(self, user_id: str) -> str:
        # Its own short session: the export's connection belongs to the reader thread.
        with self.factory() as session:
            quoted = _s(repo.author_email(session, user_id) or "")
        self[user_id] = quoted
        return quoted


class SnapshotChanged(RuntimeError):
    """The streams disagreed (they are read in one snapshot, so this is a bug, never a silent loss)."""


class _ReadAhead:
    """Batches of a stream, each fetched while the one before is being formatted.

    Every stream of an export shares one reader thread, so the database connection is only ever used by one
    thread at a time; while the database works (and the driver waits without the GIL) lines get formatted.
    """

    def __init__(self, reader: ThreadPoolExecutor, batches: Iterator[Sequence[Any]]) -> None:
        self.reader = reader
        self.batches = batches
        self.pending: Future[Sequence[Any] | None] = reader.submit(next, batches, None)

    def __iter__(self) -> Iterator[Sequence[Any]]:
        while (batch := self.pending.result()) is not None:
            self.pending = self.reader.submit(next, self.batches, None)
            yield batch


def _flat(batches: _ReadAhead) -> Iterator[Any]:
    return chain.from_iterable(batches)


def stream_jsonl(
    factory: sessionmaker[Session], organization_id: str, project_id: str, filters: ExportFilter
) -> Iterator[bytes]:
    """Yield the export in chunks of whole lines."""
    statuses = [AnnotationStatus.submitted] + ([AnnotationStatus.draft] if filters.include_drafts else [])
    narrow = filters.only_annotated or filters.since is not None or filters.until is not None
    with factory() as session, ThreadPoolExecutor(1, thread_name_prefix="export-reader") as reader:
        repo.begin_snapshot(session)
        iso: Callable[[str | None], str] = (
            _postgresql_time if session.get_bind().dialect.name == "postgresql" else _sqlite_time
        )
        emails = _QuotedEmails(factory, repo.member_emails(session, organization_id))
        items = _ReadAhead(reader, repo.item_rows(session, organization_id, project_id, states=filters.states,
                                                  batch=BATCH))
        anns = _flat(_ReadAhead(reader, repo.annotation_rows(
            session, organization_id, project_id, statuses=statuses, states=filters.states, since=filters.since,
            until=filters.until, batch=BATCH * 3)))
        revs = _flat(_ReadAhead(reader, repo.revision_rows(
            session, organization_id, project_id, states=filters.states, batch=BATCH,
        ))) if filters.revisions else iter(())
        a = next(anns, None)
        r = next(revs, None)
        for page in items:
            out: list[str] = []
            n_annotations = 0
            for it in page:
                item_id = it[0]
                revisions: dict[str, list[str]] = {}
                while r is not None and r[0] == item_id:
                    revisions.setdefault(r[1], []).append(
                        f'{{"number":{r[2]},"schema_version":{r[3]},"status":"{r[4]}","answers":{r[5]},'
                        f'"time_spent_ms":{r[6]},"made_at":{iso(r[7])},"superseded_at":{iso(r[8])}}}'
                    )
                    r = next(revs, None)
                parts: list[str] = []
                while a is not None and a[0] == item_id:
                    text = (
                        f'{{"id":"{a[1]}","author_id":"{a[2]}","author":{emails[a[2]]},'
                        f'"schema_version":{a[3]},"status":"{a[4]}","answers":{a[5]},"time_spent_ms":{a[6]},'
                        f'"created_at":{iso(a[7])},"updated_at":{iso(a[8])},"submitted_at":{iso(a[9])}'
                    )
                    if filters.revisions:
                        text += ',"revisions":[' + ",".join(revisions.get(a[1], ())) + "]"
                    parts.append(text + "}")
                    a = next(anns, None)
                if narrow and not parts:
                    continue
                n_annotations += len(parts)
                overlap = "null" if it[4] is None else it[4]
                out.append(
                    f'{{"id":"{item_id}","external_id":{_s(it[1])},"data":{it[2]},"metadata":{it[3]},'
                    f'"overlap":{overlap},"priority":{it[5]},"state":"{it[6]}","created_at":{iso(it[7])},'
                    f'"annotations":[{",".join(parts)}]}}\n'
                )
            filters.counters["items"] += len(out)
            filters.counters["annotations"] += n_annotations
            if out:
                yield "".join(out).encode()
        if a is not None or r is not None:
            raise SnapshotChanged("annotations or revisions of items outside the export were read")
