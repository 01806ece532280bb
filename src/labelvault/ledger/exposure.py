"""Exposure reports derived from the ledger: who saw an item, and everything a person or vendor saw."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field

import orjson
from sqlalchemy.orm import Session

from labelvault.errors import NotFound
from labelvault.items import service as items
from labelvault.ledger import repository as repo
from labelvault.ledger.models import EntryKind, LedgerEntry
from labelvault.security.policy import Principal

COLUMNS = ("item_id", "project_id", "actor_user_id", "actor_email", "vendor_id", "accesses", "fields", "kinds",
           "routes", "first_seen", "last_seen")
# A cell starting with one of these is a formula to spreadsheet programs.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class ExposureRow:
    item_id: str
    project_id: str
    actor_user_id: str
    actor_email: str
    vendor_id: str
    accesses: int = 0
    fields: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    routes: list[str] = field(default_factory=list)
    first_seen: str = ""
    last_seen: str = ""

    def add(self, entry: LedgerEntry, fields: Iterable[str]) -> None:
        moment = dt.datetime.fromtimestamp(entry.recorded_us / 1_000_000, dt.UTC).isoformat()
        self.accesses += 1
        self.fields = sorted(set(self.fields) | set(fields))
        self.kinds = sorted(set(self.kinds) | {entry.kind})
        self.routes = sorted(set(self.routes) | {entry.route})
        self.first_seen = min(self.first_seen or moment, moment)
        self.last_seen = max(self.last_seen, moment)


def _group(entries: Iterable[tuple[str, LedgerEntry]],
           key: Callable[[str, LedgerEntry], tuple[str, ...]]) -> list[ExposureRow]:
    rows: dict[tuple[str, ...], ExposureRow] = {}
    for item_id, entry in entries:
        row = rows.get(key(item_id, entry))
        if row is None:
            row = rows[key(item_id, entry)] = ExposureRow(item_id, entry.project_id or "", entry.actor_user_id or "",
                                                         entry.actor_email, entry.vendor_id or "")
        row.add(entry, orjson.loads(entry.fields))
    return list(rows.values())


def item_exposure(session: Session, principal: Principal, item_id: str) -> list[ExposureRow]:
    """Who saw the item: one row per person (with token or vendor), whole-project exports included."""
    try:
        item = items.get_item(session, principal, item_id)
        projects, since = [item.project_id], int(item.created_at.timestamp() * 1_000_000)
    except NotFound:  # deleted since: what the ledger still knows of it
        projects, since = repo.projects_naming_item(session, principal.organization_id, item_id), 0
        if not projects:
            raise
    found = []
    for entry in repo.entries_about_item(session, principal.organization_id, item_id, projects):
        named = item_id in orjson.loads(entry.item_ids)
        if named or (entry.kind == EntryKind.export and entry.recorded_us >= since):
            found.append((item_id, entry))
    return _group(found, lambda _, e: (e.actor_user_id or "", e.vendor_id or ""))


def actor_exposure(session: Session, principal: Principal, *, user_id: str | None = None,
                   vendor_id: str | None = None) -> list[ExposureRow]:
    """Everything a person (or a vendor's people) saw: one row per item, plus one per exported project
    (item "*"), with fields, counts and time range. Permission changes are not exposure and are left out."""
    found = []
    for entry in repo.entries_of_actor(session, principal.organization_id, user_id=user_id, vendor_id=vendor_id):
        if entry.kind == EntryKind.export:
            found.append(("*", entry))
        elif entry.kind == EntryKind.read:
            found.extend((item_id, entry) for item_id in orjson.loads(entry.item_ids))
    return _group(found, lambda item_id, e: (e.project_id or "", item_id, e.actor_user_id or ""))


def _cell(value: object) -> str:
    text = ";".join(value) if isinstance(value, list) else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def to_csv(rows: Sequence[ExposureRow]) -> str:
    """CSV with formula-looking cells neutralized (a leading quote), safe to open in a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in rows:
        values = asdict(row)
        writer.writerow([_cell(values[name]) for name in COLUMNS])
    return out.getvalue()


def to_jsonl(rows: Sequence[ExposureRow]) -> str:
    return "".join(orjson.dumps(asdict(row)).decode() + "\n" for row in rows)
