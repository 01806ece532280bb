"""Full-fidelity JSONL export: one line per item with its annotations (and revisions on request).

Lines are assembled from the stored JSON text, so a million annotations stream without being
parsed and re-serialized. Items, annotations and revisions are read as three streams ordered by item
id in one snapshot and merged here; memory stays constant (one batch of each at a time).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Generator, Iterator, Sequence
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


# Lines are built as bytes from the database's bytes (see repository): no decoding, no encoding.
ITEM = b'{"id":"%s","external_id":%s,"data":%s,"metadata":%s,"overlap":%s,"priority":%d,"state":"%s",' \
       b'"created_at":%s,"annotations":[%s]}\n'
ANNOTATION = b'{"id":"%s","author_id":"%s","author":%s,"schema_version":%d,"status":"%s","answers":%s,' \
             b'"time_spent_ms":%d,"created_at":%s,"updated_at":%s,"submitted_at":%s'
# Stored times nearly always read "2024-05-01 12:00:00.250000" (26 bytes); such times are written as date, "T",
# time and "Z" straight into the line: calling iso() for each was a third of the export's time.
PLAIN_ITEM = ITEM.replace(b'"created_at":%s', b'"created_at":"%sT%sZ"')
PLAIN_ANNOTATION = ANNOTATION.replace(b'"created_at":%s,"updated_at":%s,"submitted_at":%s',
                                      b'"created_at":"%sT%sZ","updated_at":"%sT%sZ","submitted_at":"%sT%sZ"') + b"}"
PLAIN = 26
REVISION = b'{"number":%d,"schema_version":%d,"status":"%s","answers":%s,"time_spent_ms":%d,"made_at":%s,' \
           b'"superseded_at":%s}'


def _sqlite_time(value: bytes | None) -> bytes:
    """SQLite's stored text ("2024-05-01 12:00:00.250000") as an ISO 8601 UTC JSON string."""
    if value is None:
        return b"null"
    text = value.replace(b" ", b"T")
    if text.endswith(b"+00:00"):
        text = text[:-6]
    return b'"%sZ"' % text


def _postgresql_time(value: bytes | None) -> bytes:
    """PostgreSQL's UTC text ("2024-05-01 12:00:00.25", trailing zeros dropped) as an ISO 8601 JSON string
    with six fraction digits unless the fraction is zero (as Python's isoformat writes a datetime)."""
    if value is None:
        return b"null"
    text = value.replace(b" ", b"T")
    if len(text) != 19:
        text = text.ljust(26, b"0")
    return b'"%sZ"' % text


def _quoted(value: bytes) -> bytes:
    return orjson.dumps(value.decode())


class _QuotedEmails(dict[bytes, bytes]):
    """author id -> e-mail as a JSON string; authors who have left the organization are looked up once."""

    def __init__(self, factory: sessionmaker[Session], members: dict[str, str]) -> None:
        super().__init__((uid.encode(), orjson.dumps(email)) for uid, email in members.items())
        self.factory = factory

    def __missing__(self, user_id: bytes) -> bytes:
        # Its own short session: the export's connection belongs to the reader thread.
        with self.factory() as session:
            quoted = orjson.dumps(repo.author_email(session, user_id.decode()) or "")
        self[user_id] = quoted
        return quoted


class SnapshotChanged(RuntimeError):
    """The streams disagreed (they are read in one snapshot, so this is a bug, never a silent loss)."""


class AheadReader:
    """Reads the export's streams, one batch ahead on a thread of its own when the database is another process.

    While PostgreSQL works on the next batch (and the driver waits without the GIL) the previous one gets
    formatted; one thread serves every stream, so the connection is only ever used by one thread at a time.
    SQLite works inside this process and its driver lets go of the GIL for every row: a reader thread would
    wait for the formatting thread at each row, so there the streams are read where they are formatted.
    """

    def __init__(self, ahead: bool) -> None:
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="export-reader") if ahead else None
        self.streams: list[Generator[Sequence[Any], None, None]] = []

    def ahead(self, batches: Generator[Sequence[Any], None, None]) -> Iterator[Sequence[Any]]:
        self.streams.append(batches)
        if self.pool is None:
            yield from batches
            return
        pending: Future[Sequence[Any] | None] = self.pool.submit(next, batches, None)
        while (batch := pending.result()) is not None:
            pending = self.pool.submit(next, batches, None)
            yield batch

    def rows(self, batches: Generator[Sequence[Any], None, None]) -> Iterator[Any]:
        return chain.from_iterable(self.ahead(batches))

    def __enter__(self) -> AheadReader:
        return self

    def __exit__(self, *_: object) -> None:
        # Also when the client went away mid-export: no fetch may still run, and every cursor is closed
        # inside the export's transaction, before its connection goes back to the pool.
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
        for batches in self.streams:
            batches.close()


def stream_jsonl(
    factory: sessionmaker[Session], organization_id: str, project_id: str, filters: ExportFilter,
    leave_out: set[str] | None = None,
) -> Iterator[bytes]:
    """Yield the export in chunks of whole lines; items whose id is in `leave_out` are not written."""
    skip = {i.encode() for i in leave_out or ()}
    statuses = [AnnotationStatus.submitted] + ([AnnotationStatus.draft] if filters.include_drafts else [])
    narrow = filters.only_annotated or filters.since is not None or filters.until is not None
    with factory() as session, AheadReader(ahead=repo.is_postgresql(session)) as reader:
        repo.begin_snapshot(session)
        iso = _postgresql_time if repo.is_postgresql(session) else _sqlite_time
        # Before the streams start: from then on the session's text arrives as bytes.
        emails = _QuotedEmails(factory, repo.member_emails(session, organization_id))
        items = reader.ahead(repo.item_rows(session, organization_id, project_id, states=filters.states,
                                            batch=BATCH))
        anns = reader.rows(repo.annotation_rows(
            session, organization_id, project_id, statuses=statuses, states=filters.states, since=filters.since,
            until=filters.until, batch=BATCH * 3))
        revs = reader.rows(repo.revision_rows(
            session, organization_id, project_id, states=filters.states, batch=BATCH,
        )) if filters.revisions else iter(())
        with_revisions = filters.revisions
        a = next(anns, None)
        r = next(revs, None)
        for page in items:
            out: list[bytes] = []
            n_annotations = 0
            for it in page:
                item_id = it[0]
                revisions: dict[bytes, list[bytes]] = {}
                while r is not None and r[0] == item_id:
                    revisions.setdefault(r[1], []).append(
                        REVISION % (r[2], r[3], r[4], r[5], r[6], iso(r[7]), iso(r[8])))
                    r = next(revs, None)
                parts: list[bytes] = []
                while a is not None and a[0] == item_id:
                    c, u, s = a[7], a[8], a[9]
                    if len(c) == PLAIN and len(u) == PLAIN and s is not None and len(s) == PLAIN and not with_revisions:
                        parts.append(PLAIN_ANNOTATION % (a[1], a[2], emails[a[2]], a[3], a[4], a[5], a[6],
                                                         c[:10], c[11:], u[:10], u[11:], s[:10], s[11:]))
                    else:
                        text = ANNOTATION % (a[1], a[2], emails[a[2]], a[3], a[4], a[5], a[6], iso(c), iso(u), iso(s))
                        if with_revisions:
                            text += b',"revisions":[%s]' % b",".join(revisions.get(a[1], ()))
                        parts.append(text + b"}")
                    a = next(anns, None)
                if (narrow and not parts) or (skip and item_id in skip):
                    continue
                n_annotations += len(parts)
                overlap = b"null" if it[4] is None else b"%d" % it[4]
                c = it[7]
                if len(c) == PLAIN:
                    out.append(PLAIN_ITEM % (item_id, _quoted(it[1]), it[2], it[3], overlap, it[5], it[6], c[:10],
                                             c[11:], b",".join(parts)))
                else:
                    out.append(ITEM % (item_id, _quoted(it[1]), it[2], it[3], overlap, it[5], it[6], iso(c),
                                       b",".join(parts)))
            filters.counters["items"] += len(out)
            filters.counters["annotations"] += n_annotations
            if out:
                yield b"".join(out)
        if a is not None or r is not None:
            raise SnapshotChanged("annotations or revisions of items outside the export were read")
