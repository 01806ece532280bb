"""Every ledger query. The chain spans all organizations (one sequence per instance), so sealing and
verifying read it whole; exposure reads are scoped to the organization."""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator, Sequence
from typing import Any, cast

import orjson
import psycopg
from sqlalchemy import Engine, Table, bindparam, func, insert, or_, select, text, update
from sqlalchemy.orm import Session

from labelvault.db.direct import Direct
from labelvault.db.scope import scoped
from labelvault.ledger.chain import HASHED_COLUMNS
from labelvault.ledger.models import EntryKind, LedgerCheckpoint, LedgerEntry

_HASHED = [getattr(LedgerEntry, name) for name in HASHED_COLUMNS]
STREAM_ROWS = 20_000
# Rows per chunk of the verification stream: small enough to stay in the CPU caches while they are hashed.
CHAIN_CHUNK = 5_000
# The columns an appended entry gives (the sealer sets position and entry_hash later).
ENTRY_COLUMNS = HASHED_COLUMNS[1:]
COPY_ROWS = 100
SEAL_CHUNK = 1_000
_ENTRIES = cast(Table, LedgerEntry.__table__)
_INSERT_ENTRY = insert(_ENTRIES)
_INSERT_ONE_ENTRY = Direct(insert(_ENTRIES), ENTRY_COLUMNS)
_COPY_ENTRIES = f"COPY ledger_entries ({', '.join(ENTRY_COLUMNS)}) FROM STDIN"
_SET_SEAL = (update(_ENTRIES).where(_ENTRIES.c.id == bindparam("b_id"))
             .values(position=bindparam("b_position"), entry_hash=bindparam("b_hash")))
_SET_SEALS = text("UPDATE ledger_entries SET position = s.position, entry_hash = s.entry_hash "
                  "FROM unnest(CAST(:ids AS VARCHAR[]), CAST(:positions AS BIGINT[]), CAST(:hashes AS VARCHAR[])) "
                  "AS s(id, position, entry_hash) WHERE ledger_entries.id = s.id")


def insert_rows(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Entries given as rows of every column of ENTRY_COLUMNS, in one statement through the Core table (no
    ORM bulk machinery: one entry is appended on every next-item request): one INSERT, an executemany for a
    few rows, and on PostgreSQL from COPY_ROWS rows on a COPY (one round trip for the batch, not one statement
    per row)."""
    if len(rows) == 1:  # deferred: sent with the transaction's next statement or its COMMIT
        _INSERT_ONE_ENTRY.later(session, rows[0])
    elif len(rows) >= COPY_ROWS and session.get_bind().dialect.name == "postgresql":
        driver = session.connection().connection.driver_connection
        assert driver is not None
        with driver.cursor() as cursor, cursor.copy(_COPY_ENTRIES) as copy:
            write = copy.write_row
            for row in rows:
                write([row[name] for name in ENTRY_COLUMNS])
    else:
        session.execute(_INSERT_ENTRY, list(rows))


def chain_head(session: Session) -> tuple[int, str] | None:
    # unscoped: the chain is one sequence across organizations
    row = session.execute(select(LedgerEntry.position, LedgerEntry.entry_hash)
                          .where(LedgerEntry.position.is_not(None))
                          .order_by(LedgerEntry.position.desc()).limit(1)).first()
    return (int(row[0] or 0), str(row[1])) if row else None


def unsealed(session: Session, limit: int) -> list[Any]:
    """Entries not yet chained, oldest first: the hashed columns after position (the id first)."""
    # unscoped: the sealer chains every organization's entries
    statement = (select(*_HASHED[1:]).where(LedgerEntry.position.is_(None))
                 .order_by(LedgerEntry.recorded_us, LedgerEntry.id).limit(limit))
    return list(session.execute(statement).all())


def set_seals(session: Session, seals: Sequence[dict[str, Any]]) -> None:
    """Give each entry (`id`) its `position` and `entry_hash`: on PostgreSQL one UPDATE joined to the arrays
    of all three per SEAL_CHUNK entries, elsewhere an executemany UPDATE through the Core table.

    The chunk keeps the join small next to the table, so the planner finds each row by its key; a join of
    a large batch can cost the planner about as much as reading the whole table, which it would then do for
    every batch."""
    if session.get_bind().dialect.name == "postgresql":
        for first in range(0, len(seals), SEAL_CHUNK):
            chunk = seals[first:first + SEAL_CHUNK]
            session.execute(_SET_SEALS, {"ids": [s["id"] for s in chunk],
                                         "positions": [s["position"] for s in chunk],
                                         "hashes": [s["entry_hash"] for s in chunk]})
        return
    session.execute(_SET_SEAL, [{"b_id": s["id"], "b_position": s["position"], "b_hash": s["entry_hash"]}
                                for s in seals])


def unsealed_count(session: Session) -> int:
    # unscoped: a count over the whole chain for verification
    return int(session.scalar(select(func.count()).select_from(LedgerEntry)
                              .where(LedgerEntry.position.is_(None))) or 0)


def sealed_rows(session: Session, after: int = 0) -> Iterator[Sequence[Any]]:
    """Chained entries in chain order, in batches of plain rows: the hashed columns, then the stored hash.

    Read through the Core connection (a server-side cursor on PostgreSQL): verifying ten million entries
    must not build ten million ORM rows.
    """
    # unscoped: verification reads the whole chain
    statement = (select(*_HASHED, LedgerEntry.entry_hash).where(LedgerEntry.position > after)
                 .order_by(LedgerEntry.position))
    connection = session.connection().execution_options(stream_results=True, yield_per=STREAM_ROWS)
    yield from connection.execute(statement).partitions()


_COLUMNS_SQL = ", ".join(HASHED_COLUMNS)


def chain_size(session: Session) -> int:
    """The last chained position (0 for an empty chain)."""
    # unscoped: the chain is one sequence across organizations
    return int(session.scalar(select(func.max(LedgerEntry.position))) or 0)


def stored_hash_at(session: Session, position: int) -> str | None:
    # unscoped: the chain is one sequence across organizations
    return session.scalar(select(LedgerEntry.entry_hash).where(LedgerEntry.position == position))


def vacuum(engine: Engine) -> bool:
    """PostgreSQL: VACUUM the entries table on a connection of its own (VACUUM runs outside transactions),
    unless another process is vacuuming it already; False where there is nothing to do (SQLite frees a row's
    old version as it writes the new one)."""
    if engine.dialect.name != "postgresql":
        return False
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM (SKIP_LOCKED, ANALYZE) ledger_entries")
    return True


def export_snapshot(session: Session) -> str | None:
    """On PostgreSQL, the id of this transaction's snapshot, for other connections to read exactly what this one
    reads (`use_snapshot`); None on SQLite, where chained rows never change once written."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    return str(session.scalar(text("SELECT pg_export_snapshot()")))


def use_snapshot(session: Session, snapshot: str | None) -> None:
    """Start this session's transaction on a snapshot exported by another (see `export_snapshot`)."""
    if snapshot is None:
        return
    if not _SNAPSHOT_ID.fullmatch(snapshot):
        raise ValueError(f"not a snapshot id: {snapshot!r}")
    connection = session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    connection.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")


_SNAPSHOT_ID = re.compile(r"[0-9A-F]+-[0-9A-F]+(-[0-9]+)?")


def chain_canonical(session: Session, after: int = 0, upto: int | None = None, *,
                    chunk_rows: int = CHAIN_CHUNK) -> Generator[tuple[int, bytes, str | None], None, None]:
    """Chained entries in chain order as `(position, canonical JSON bytes, stored hash)`: the bytes the sealer
    hashed, read with the database driver's own cursor, so the ten-million-row walk of `ledger verify` builds
    no SQLAlchemy rows. Rows come one at a time and are dropped once used: a batch of rows held in a list
    costs more to build and free than the rows' hashing.

    SQLite renders each row itself (`json_array`, inside the step, no Python value per column). PostgreSQL
    sends the plain columns, which orjson renders exactly as the sealer does (rendering there costs the server
    more than it saves here), as one streamed result read `chunk_rows` at a time: the server reads and sends
    the next rows while this process hashes, with no round trip per batch as a server-side cursor's FETCH
    needs. Either database escapes strings as valid JSON; where SQLite's escaping of an odd character differs
    from orjson's, the hash does not match and verification falls back to the exact walk, so the fast form
    can only ever fail safe.

    Close the iterator when stopping early: on PostgreSQL that cancels the rest of the stream and rolls back
    to a savepoint taken before it, so the transaction stays usable (for the exact walk).

    `upto`, when given, ends the walk at that position (a slice of the chain for one of several workers)."""
    # unscoped: verification reads the whole chain
    where = f"position > {int(after)}" + ("" if upto is None else f" AND position <= {int(upto)}")
    connection = session.connection()
    driver = connection.connection.driver_connection
    assert driver is not None
    if connection.dialect.name == "sqlite":
        cursor = driver.cursor()
        statement = (f"SELECT position, CAST(json_array({_COLUMNS_SQL}) AS BLOB), entry_hash "  # noqa: S608
                     f"FROM ledger_entries WHERE {where} ORDER BY position")
        try:
            yield from cursor.execute(statement)
        finally:
            cursor.close()
        return
    statement = (f"SELECT {_COLUMNS_SQL}, entry_hash FROM ledger_entries "  # noqa: S608
                 f"WHERE {where} ORDER BY position")
    last = len(HASHED_COLUMNS)
    dumps = orjson.dumps
    # Chunks need libpq 17; an older one streams row by row (slower, same rows).
    size = chunk_rows if psycopg.pq.version() >= 170000 else 1
    driver.execute("SAVEPOINT ledger_chain_stream")
    # In the order of the unique index on position, never a sort of the whole table first (which the planner
    # may pick when it believes the table's order is far from the chain's): a sort would hold back the first
    # row, and the server's share of the work, until all ten million rows were read and sorted. The savepoint's
    # rollback below ends the setting with the stream.
    driver.execute("SET LOCAL enable_sort = off")
    cursor = driver.cursor()
    stream = cursor.stream(statement, size=size)
    try:
        for row in stream:
            yield row[0], dumps(row[:last]), row[last]
    finally:
        stream.close()  # when not exhausted: cancels the statement and reads what was already sent
        cursor.close()
        # Nothing was written since the savepoint. Rolling back to it restores enable_sort and, when the
        # stream stopped early, clears the cancelled statement, which fails the transaction up to here.
        driver.execute("ROLLBACK TO SAVEPOINT ledger_chain_stream")
        driver.execute("RELEASE SAVEPOINT ledger_chain_stream")


def sealed_hashes(session: Session, after: int, upto: int) -> Iterator[Sequence[str]]:
    """The stored hashes of positions after..upto in chain order, in batches."""
    # unscoped: checkpoints cover the whole chain
    statement = (select(LedgerEntry.entry_hash).where(LedgerEntry.position > after, LedgerEntry.position <= upto)
                 .order_by(LedgerEntry.position).execution_options(yield_per=STREAM_ROWS))
    yield from session.execute(statement).scalars().partitions()  # type: ignore[misc]


def last_checkpoint(session: Session) -> LedgerCheckpoint | None:
    # unscoped: checkpoints cover the whole chain
    return session.scalars(select(LedgerCheckpoint).order_by(LedgerCheckpoint.size.desc()).limit(1)).first()


def checkpoints(session: Session) -> list[LedgerCheckpoint]:
    # unscoped: checkpoints cover the whole chain
    return list(session.scalars(select(LedgerCheckpoint).order_by(LedgerCheckpoint.size)))


def add_checkpoint(session: Session, checkpoint: LedgerCheckpoint) -> None:
    session.add(checkpoint)


def entries_about_item(session: Session, organization_id: str, item_id: str,
                       project_ids: Sequence[str]) -> list[LedgerEntry]:
    """Entries naming the item, and whole-project exports of its project."""
    # The ids are UUIDs, so a substring match on the JSON list is exact; the caller re-checks it anyway.
    names_item = LedgerEntry.item_ids.contains(f'"{item_id}"')
    exported = (LedgerEntry.kind == EntryKind.export) & LedgerEntry.project_id.in_(project_ids)
    statement = scoped(select(LedgerEntry), LedgerEntry, organization_id).where(or_(names_item, exported))
    return list(session.scalars(statement.order_by(LedgerEntry.recorded_us)))


def entries_of_actor(session: Session, organization_id: str, *, user_id: str | None,
                     vendor_id: str | None) -> list[LedgerEntry]:
    statement = scoped(select(LedgerEntry), LedgerEntry, organization_id)
    if user_id is not None:
        statement = statement.where(LedgerEntry.actor_user_id == user_id)
    if vendor_id is not None:
        statement = statement.where(LedgerEntry.vendor_id == vendor_id)
    return list(session.scalars(statement.order_by(LedgerEntry.recorded_us)))


def projects_naming_item(session: Session, organization_id: str, item_id: str) -> list[str]:
    statement = scoped(select(LedgerEntry.project_id), LedgerEntry, organization_id).where(
        LedgerEntry.item_ids.contains(f'"{item_id}"'), LedgerEntry.project_id.is_not(None)).distinct()
    return [p for p in session.scalars(statement) if p]


def project_entries(session: Session, organization_id: str, project_id: str) -> Iterator[Sequence[Any]]:
    """The organization's entries naming the project, in chain order (unsealed ones last, as recorded), in
    batches of plain rows of every column (read only: a bundle carries them)."""
    columns = list(LedgerEntry.__table__.columns)
    statement = (scoped(select(*columns), LedgerEntry, organization_id)
                 .where(LedgerEntry.project_id == project_id)
                 .order_by(LedgerEntry.position.is_(None), LedgerEntry.position, LedgerEntry.recorded_us,
                           LedgerEntry.id))
    yield from session.execute(statement, execution_options={"yield_per": STREAM_ROWS}).partitions()
