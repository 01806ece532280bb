"""Full-fidelity JSONL export: one line per item with its annotations (and revisions on request).

Lines are assembled from the stored JSON text, so a million annotations stream without being
parsed and re-serialized; memory stays constant (one page of items at a time).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy.orm import Session, sessionmaker

from labelvault.annotations.models import AnnotationStatus
from labelvault.errors import InvalidInput
from labelvault.exports import repository as repo
from labelvault.items.models import ItemState

PAGE = 5000


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


def _iso(value: Any) -> str:
    """Stored times as ISO 8601 UTC; SQLite hands back its text, PostgreSQL a datetime."""
    if value is None:
        return "null"
    if isinstance(value, str):
        text = value.replace(" ", "T")
        if text.endswith("+00:00"):
            text = text[:-6]
        return f'"{text}Z"'
    return f'"{value.astimezone(dt.UTC).replace(tzinfo=None).isoformat()}Z"'


def _s(value: str) -> str:
    return orjson.dumps(value).decode()


def stream_jsonl(
    factory: sessionmaker[Session], organization_id: str, project_id: str, filters: ExportFilter
) -> Iterator[bytes]:
    """Yield the export in chunks of whole lines."""
    statuses = [AnnotationStatus.submitted] + ([AnnotationStatus.draft] if filters.include_drafts else [])
    narrow = filters.only_annotated or filters.since is not None or filters.until is not None
    after: str | None = None
    with factory() as session:
        emails = repo.member_emails(session, organization_id)
        while True:
            items = repo.item_page(session, organization_id, project_id, after=after, limit=PAGE,
                                   states=filters.states)
            if not items:
                break
            first, last = items[0][0], items[-1][0]
            after = last
            by_item: dict[str, list[str]] = defaultdict(list)
            rows = repo.annotations_between(session, organization_id, project_id, first, last,
                                            statuses=statuses, since=filters.since, until=filters.until)
            revs: dict[str, list[str]] = defaultdict(list)
            if filters.revisions:
                for r in repo.revisions_between(session, organization_id, project_id, first, last):
                    revs[r[0]].append(
                        f'{{"number":{r[1]},"schema_version":{r[2]},"status":"{r[3]}","answers":{r[4]},'
                        f'"time_spent_ms":{r[5]},"made_at":{_iso(r[6])},"superseded_at":{_iso(r[7])}}}'
                    )
            missing = {a[2] for a in rows if a[2] not in emails}
            emails.update(repo.author_emails(session, list(missing)))
            for a in rows:
                text = (
                    f'{{"id":"{a[1]}","author_id":"{a[2]}","author":{_s(emails.get(a[2], ""))},'
                    f'"schema_version":{a[3]},"status":"{a[4]}","answers":{a[5]},"time_spent_ms":{a[6]},'
                    f'"created_at":{_iso(a[8])},"updated_at":{_iso(a[9])},"submitted_at":{_iso(a[10])}'
                )
                if filters.revisions:
                    text += ',"revisions":[' + ",".join(revs.get(a[1], ())) + "]"
                by_item[a[0]].append(text + "}")
            out: list[str] = []
            n_annotations = 0
            for it in items:
                anns = by_item.get(it[0])
                if narrow and not anns:
                    continue
                n_annotations += len(anns) if anns else 0
                overlap = "null" if it[4] is None else it[4]
                out.append(
                    f'{{"id":"{it[0]}","external_id":{_s(it[1])},"data":{it[2]},"metadata":{it[3]},'
                    f'"overlap":{overlap},"priority":{it[5]},"state":"{it[6]}","created_at":{_iso(it[7])},'
                    f'"annotations":[{",".join(anns) if anns else ""}]}}\n'
                )
            filters.counters["items"] += len(out)
            filters.counters["annotations"] += n_annotations
            if out:
                yield "".join(out).encode()
            if len(items) < PAGE:
                break
