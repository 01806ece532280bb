"""Ledger rules: what an access entry holds, sealing entries into the chain, signing checkpoints."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from labelvault.kit.ids import new_id
from labelvault.ledger import repository as repo
from labelvault.ledger.chain import GENESIS, Frontier, entry_hash
from labelvault.ledger.models import LedgerCheckpoint
from labelvault.ledger.signing import Signer
from labelvault.security.policy import Principal

SEAL_BATCH = 5000
# Sealing updates each entry once, which on PostgreSQL leaves the entry's first version behind; the sealer
# vacuums the table when it has sealed VACUUM_SHARE of the chain (and at least VACUUM_MIN entries) since its
# last vacuum, so `ledger verify` reads a compact table whose rows need no visibility work (a 10M-entry chain
# sealed in one go verified in 46 to 79 s before, 19 s after, whatever the server's autovacuum settings).
VACUUM_MIN = 250_000
VACUUM_SHARE = 0.1


def now_us() -> int:
    return time.time_ns() // 1000


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


@dataclass(frozen=True)
class Access:
    """What was accessed, through which route."""

    kind: str
    route: str
    project_id: str | None = None
    item_ids: Sequence[str] = ()
    fields: Sequence[str] = ()
    detail: dict[str, Any] | None = None


# An entry to append: a row of ROW_COLUMNS (a plain dict, not an ORM object: entries are made on every access
# and only ever inserted).
EntryRow = dict[str, Any]
ROW_COLUMNS = ("id", "organization_id", "recorded_us", "kind", "actor_user_id", "actor_email", "token_id",
               "vendor_id", "route", "project_id", "item_ids", "fields", "detail")


def entry_for(principal: Principal | None, organization_id: str, access: Access, *,
              vendor_id: str | None = None, actor_user_id: str | None = None, actor_email: str = "") -> EntryRow:
    """A ledger entry for `access` by `principal` (or, before anyone is signed in, by the named user)."""
    return {
        "id": new_id(), "organization_id": organization_id, "recorded_us": now_us(), "kind": access.kind,
        "actor_user_id": principal.user_id if principal else actor_user_id,
        "actor_email": principal.email if principal else actor_email,
        "token_id": principal.token_id if principal else None,
        "vendor_id": vendor_id or (principal.vendor_id if principal else None), "route": access.route,
        "project_id": access.project_id, "item_ids": _json(list(access.item_ids)),
        "fields": _json(sorted(access.fields)), "detail": _json(access.detail or {}),
    }


def record(session: Session, entries: Sequence[EntryRow]) -> None:
    """Append entries in the caller's transaction: they commit (or not) with the access itself.

    One INSERT statement, not a unit-of-work flush: this runs on the next-item hot path."""
    append_many(session, entries)


def append_many(session: Session, rows: Sequence[EntryRow]) -> None:
    """Append entries (rows of ROW_COLUMNS) with one statement: the route's own entry, the group writer's
    batch, bulk loads."""
    if rows:
        repo.insert_rows(session, rows)


def project_entries(session: Session, organization_id: str, project_id: str) -> Iterator[list[dict[str, Any]]]:
    """The project's slice of the ledger (entries with its project id), in chain order, in batches of column
    dicts: what an exit bundle carries. Reading it changes nothing."""
    for rows in repo.project_entries(session, organization_id, project_id):
        yield [dict(row._mapping) for row in rows]


def seal(session: Session, limit: int = SEAL_BATCH) -> int:
    """Chain up to `limit` unsealed entries after the current head; returns how many were chained.

    Two sealers racing (two server processes) collide on the unique position: the loser's transaction fails
    and its entries are chained by the next round.
    """
    rows = repo.unsealed(session, limit)
    if not rows:
        return 0
    head = repo.chain_head(session)
    position, previous = (head[0], bytes.fromhex(head[1])) if head else (0, GENESIS)
    seals = []
    for row in rows:
        position += 1
        previous = entry_hash(previous, (position, *row))
        seals.append({"id": row[0], "position": position, "entry_hash": previous.hex()})
    repo.set_seals(session, seals)
    session.flush()
    return len(seals)


class VacuumCadence:
    """When a sealing process vacuums the chain's table: once it has sealed VACUUM_SHARE of the chain, and at
    least VACUUM_MIN entries, since its last vacuum (the server's sealer and the benchmark keep one each)."""

    def __init__(self) -> None:
        self.sealed_since = 0

    def sealed(self, session: Session, count: int) -> bool:
        """Count `count` entries just sealed; whether a vacuum is due (ask in the sealing transaction, vacuum
        after it ends)."""
        self.sealed_since += count
        return (count > 0 and self.sealed_since >= VACUUM_MIN
                and self.sealed_since >= VACUUM_SHARE * repo.chain_size(session))

    def vacuum(self, engine: Engine) -> bool:
        """Vacuum the chain's table and count from zero again; False where there is nothing to do (SQLite), and
        the count goes on."""
        if not repo.vacuum(engine):
            return False
        self.sealed_since = 0
        return True


def checkpoint(session: Session, signer: Signer, *, every: int, max_age_us: int,
               now: int | None = None) -> LedgerCheckpoint | None:
    """Sign the Merkle root of the whole chain when `every` entries or `max_age_us` passed since the last one."""
    now = now if now is not None else now_us()
    head = repo.chain_head(session)
    last = repo.last_checkpoint(session)
    size = head[0] if head else 0
    done = last.size if last else 0
    if size <= done or (size - done < every and last is not None and now - last.signed_us < max_age_us):
        return None
    frontier = Frontier.load(last.size, last.frontier) if last else Frontier()
    for hashes in repo.sealed_hashes(session, done, size):
        frontier.extend([bytes.fromhex(hashed) for hashed in hashes])
    root = frontier.root()
    made = LedgerCheckpoint(id=new_id(), size=size, root_hash=root.hex(), frontier=frontier.dump(),
                            signed_us=now, public_key=signer.public_hex,
                            signature=signer.sign(size, root, now).hex())
    repo.add_checkpoint(session, made)
    session.flush()
    return made
