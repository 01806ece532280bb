"""Sealing the content of a database's rows from before they were stored sealed (migrations 0013 and 0015), and
back (their downgrades).

Runs inside the migration's transaction with the instance's key-encryption keys (`LABELVAULT_KEY_DIR`, read
only when there is content to convert, so a fresh database needs no keys).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Connection, LargeBinary, Text, bindparam, cast, column, func, select, table, text, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from labelvault.crypto.content import (
    CONTENT,
    ITEM_DATA,
    EnvelopeCipher,
    answers_field,
    exam_data_field,
    revision_field,
)
from labelvault.crypto.keys import LocalKeyProvider
from labelvault.crypto.service import Envelope


class SealedColumn(NamedTuple):
    """A plaintext column and the sealed column that replaces it. `field(row)` names what a value is bound to
    besides organization, project and `item` (a column of the row): the row is (id, organization, project,
    item, value, *extra)."""

    table: str
    plain: str
    sealed: str
    item: str
    field: Callable[[Sequence[Any]], str]
    extra: tuple[str, ...] = ()


def _answers(kind: str) -> Callable[[Sequence[Any]], str]:
    return lambda row: answers_field(kind, row[0])


# Migration 0013: item data and annotation answers (with drafts), revisions and review fixes.
TABLES = (SealedColumn("items", "data", "sealed_data", "id", lambda row: ITEM_DATA),
          SealedColumn("annotations", "answers", "sealed_answers", "item_id", _answers("annotation")),
          SealedColumn("annotation_revisions", "answers", "sealed_answers", "item_id",
                       lambda row: revision_field(row[5], row[6]), ("annotation_id", "number")),
          SealedColumn("reviews", "answers", "sealed_answers", "item_id", _answers("review")))
# Migration 0015: gold answers, predictions, aggregates, qualification exam items and attempts.
QUALITY_TABLES = (SealedColumn("gold_answers", "answers", "sealed_answers", "item_id", _answers("gold")),
                  SealedColumn("predictions", "answers", "sealed_answers", "item_id", _answers("prediction")),
                  SealedColumn("item_aggregates", "value", "sealed_value", "item_id", _answers("aggregate")),
                  SealedColumn("qualification_items", "data", "sealed_data", "id",
                               lambda row: exam_data_field(row[0])),
                  SealedColumn("qualification_items", "answers", "sealed_answers", "id", _answers("exam")),
                  SealedColumn("qualification_attempts", "answers", "sealed_answers", "id", _answers("attempt")))
BATCH = 2000


def _session(connection: Connection) -> Session:
    from labelvault.config import Settings  # the server's own settings: the same key directory

    cipher = EnvelopeCipher(Envelope(LocalKeyProvider(Settings().resolved_key_dir)))
    return Session(bind=connection, info={CONTENT: cipher})


def _rows(connection: Connection, spec: SealedColumn, sealed: bool) -> Iterator[list[Any]]:
    source = spec.sealed if sealed else spec.plain
    rows = table(spec.table, column("id"), column("organization_id"), column("project_id"),
                 *(column(c) for c in dict.fromkeys((spec.item, source, *spec.extra)) if c != "id"))
    value: Any = rows.c[source]
    if connection.dialect.name == "postgresql" and not sealed:
        value = value.cast(Text)  # JSON as its text
    stmt = select(rows.c.id, rows.c.organization_id, rows.c.project_id, rows.c[spec.item], value,
                  *(rows.c[c] for c in spec.extra)).where(
        rows.c[source].is_not(None)).order_by(rows.c.id)
    after = ""
    while batch := connection.execute(stmt.where(rows.c.id > after).limit(BATCH)).all():
        after = batch[-1][0]
        yield [tuple(r) for r in batch]


def _any(connection: Connection, tables: Sequence[SealedColumn], sealed: bool) -> bool:
    """Whether any row has a value in the plaintext (or the sealed) column."""
    return any(connection.execute(select(func.count()).select_from(table(spec.table, column(name_of)))
                                  .where(column(name_of).is_not(None))).scalar()
               for spec in tables
               for name_of in [spec.sealed if sealed else spec.plain])


def seal_existing(connection: Connection, tables: Sequence[SealedColumn] = TABLES) -> None:
    """Seal every row's plaintext into its sealed column."""
    if not _any(connection, tables, sealed=False):
        return
    if connection.dialect.name == "sqlite":
        connection.execute(text("PRAGMA secure_delete = ON"))  # the dropped plaintext's pages are zeroed
    session = _session(connection)
    for spec in tables:
        target = table(spec.table, column("id"), column(spec.sealed, LargeBinary))
        write = update(target).where(target.c.id == bindparam("b_id")).values({spec.sealed: bindparam("b_sealed")})
        for batch in _rows(connection, spec, sealed=False):
            values = []
            for row in batch:
                row_id, organization_id, project_id, item_id, value = row[:5]
                raw = value if isinstance(value, bytes | str) else orjson.dumps(value)
                plaintext = raw.encode() if isinstance(raw, str) else raw
                keys = session.info[CONTENT].project(session, organization_id, project_id)
                values.append({"b_id": row_id, "b_sealed": keys.seal(item_id, spec.field(row), plaintext)})
            connection.execute(write, values)
    session.flush()


def open_existing(connection: Connection, tables: Sequence[SealedColumn] = TABLES) -> None:
    """Write every sealed column's plaintext back into the plaintext column (downgrade)."""
    if not _any(connection, tables, sealed=True):
        return
    session = _session(connection)
    for spec in tables:
        target = table(spec.table, column("id"), column(spec.plain))
        given: Any = bindparam("b_plain", type_=Text)
        if connection.dialect.name == "postgresql":
            given = cast(given, JSONB)
        write = update(target).where(target.c.id == bindparam("b_id")).values({spec.plain: given})
        for batch in _rows(connection, spec, sealed=True):
            values = []
            for row in batch:
                row_id, organization_id, project_id, item_id, value = row[:5]
                keys = session.info[CONTENT].project(session, organization_id, project_id)
                values.append({"b_id": row_id,
                               "b_plain": keys.open(item_id, spec.field(row), bytes(value)).decode()})
            connection.execute(write, values)
