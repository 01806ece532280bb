"""Sealing the content of a database from before encryption at rest (migration 0013), and back (its downgrade).

Runs inside the migration's transaction with the instance's key-encryption keys (`LABELVAULT_KEY_DIR`, read
only when there is content to convert, so a fresh database needs no keys).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
from sqlalchemy import Connection, LargeBinary, Text, bindparam, cast, column, func, select, table, text, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from labelvault.crypto.content import CONTENT, ITEM_DATA, EnvelopeCipher, answers_field, revision_field
from labelvault.crypto.keys import LocalKeyProvider
from labelvault.crypto.service import Envelope

# table, plaintext column, sealed column, kind of row in the answers' field (None: item data)
TABLES = (("items", "data", "sealed_data", None), ("annotations", "answers", "sealed_answers", "annotation"),
          ("annotation_revisions", "answers", "sealed_answers", "revision"),
          ("reviews", "answers", "sealed_answers", "review"))
BATCH = 2000


def _session(connection: Connection) -> Session:
    from labelvault.config import Settings  # the server's own settings: the same key directory

    cipher = EnvelopeCipher(Envelope(LocalKeyProvider(Settings().resolved_key_dir)))
    return Session(bind=connection, info={CONTENT: cipher})


def _rows(connection: Connection, name: str, source: str, kind: str | None) -> Iterator[list[Any]]:
    item = "id" if kind is None else "item_id"
    extra = ("annotation_id", "number") if kind == "revision" else ()
    rows = table(name, column("id"), column("organization_id"), column("project_id"), column(item), column(source),
                 *(column(c) for c in extra))
    value: Any = rows.c[source]
    if connection.dialect.name == "postgresql" and source in ("data", "answers"):
        value = value.cast(Text)
    stmt = select(rows.c.id, rows.c.organization_id, rows.c.project_id, rows.c[item], value,
                  *(rows.c[c] for c in extra)).where(
        rows.c[source].is_not(None)).order_by(rows.c.id)
    after = ""
    while batch := connection.execute(stmt.where(rows.c.id > after).limit(BATCH)).all():
        after = batch[-1][0]
        yield [tuple(r) for r in batch]


def _field(kind: str | None, row: Any) -> str:
    if kind is None:
        return ITEM_DATA
    if kind == "revision":
        return revision_field(row[5], row[6])
    return answers_field(kind, row[0])


def _any(connection: Connection, sealed: bool) -> bool:
    """Whether any row has a value in the plaintext (or the sealed) column."""
    return any(connection.execute(select(func.count()).select_from(table(name, column(name_of)))
                                  .where(column(name_of).is_not(None))).scalar()
               for name, plain, sealed_column, _ in TABLES
               for name_of in [sealed_column if sealed else plain])


def seal_existing(connection: Connection) -> None:
    """Seal every row's plaintext into its sealed column."""
    if not _any(connection, sealed=False):
        return
    if connection.dialect.name == "sqlite":
        connection.execute(text("PRAGMA secure_delete = ON"))  # the dropped plaintext's pages are zeroed
    session = _session(connection)
    for name, plain, sealed, kind in TABLES:
        target = table(name, column("id"), column(sealed, LargeBinary))
        write = update(target).where(target.c.id == bindparam("b_id")).values({sealed: bindparam("b_sealed")})
        for batch in _rows(connection, name, plain, kind):
            values = []
            for row in batch:
                row_id, organization_id, project_id, item_id, value = row[:5]
                raw = value if isinstance(value, bytes | str) else orjson.dumps(value)
                plaintext = raw.encode() if isinstance(raw, str) else raw
                keys = session.info[CONTENT].project(session, organization_id, project_id)
                values.append({"b_id": row_id, "b_sealed": keys.seal(item_id, _field(kind, row), plaintext)})
            connection.execute(write, values)
    session.flush()


def open_existing(connection: Connection) -> None:
    """Write every sealed column's plaintext back into the plaintext column (downgrade)."""
    if not _any(connection, sealed=True):
        return
    session = _session(connection)
    for name, plain, sealed, kind in TABLES:
        target = table(name, column("id"), column(plain))
        given: Any = bindparam("b_plain", type_=Text)
        if connection.dialect.name == "postgresql":
            given = cast(given, JSONB)
        write = update(target).where(target.c.id == bindparam("b_id")).values({plain: given})
        for batch in _rows(connection, name, sealed, kind):
            values = []
            for row in batch:
                row_id, organization_id, project_id, item_id, value = row[:5]
                keys = session.info[CONTENT].project(session, organization_id, project_id)
                values.append({"b_id": row_id, "b_plain": keys.open(item_id, _field(kind, row), value).decode()})
            connection.execute(write, values)
