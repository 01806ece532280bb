"""Bundle queries: every row of a project's tables, in id order, and writing them back into another instance."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from itertools import chain
from types import SimpleNamespace
from typing import Any

import orjson
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy import JSON, Table, Text, cast, func, insert, select, text
from sqlalchemy.orm import Session

from labelvault.accounts.models import Membership, Organization, User
from labelvault.annotations.models import Annotation, AnnotationRevision, Review
from labelvault.assignments.models import Skip
from labelvault.crypto.content import project_keys, seal_json, sealed_attributes
from labelvault.db.base import UtcDateTime
from labelvault.db.scope import scoped
from labelvault.items.models import Item, ItemDeletion
from labelvault.predictions.models import Prediction
from labelvault.projects.models import Project, ProjectSchema
from labelvault.quality.models import (
    AnnotationScore,
    ExamAttempt,
    ExamItem,
    GoldAnswer,
    GoldExposure,
    ItemAggregate,
    QualityReport,
    QualitySettings,
    Suspension,
)
from labelvault.workforce.models import RoutingRule

# In the order they are restored (each refers only to rows before it). Quality control's tables travel as they
# are stored (settings, gold answers, exam items and attempts, scores, aggregates, suspensions, the last report),
# so a restored project needs no refresh to show the same results.
PROJECT_MODELS: tuple[Any, ...] = (Project, ProjectSchema, RoutingRule, Item, ItemDeletion, Annotation,
                                   AnnotationRevision, Review, Prediction, Skip, QualitySettings, GoldAnswer,
                                   GoldExposure, ExamItem, ExamAttempt, AnnotationScore, ItemAggregate, Suspension,
                                   QualityReport)
# Columns naming a person, per table: those people travel with the bundle (e-mail and name, never a password).
PERSON_COLUMNS = {"projects": ("created_by_id",), "project_schemas": ("created_by_id",),
                  "item_deletions": ("deleted_by_id",), "annotations": ("author_id",),
                  "annotation_revisions": ("author_id",), "reviews": ("reviewer_id",), "skips": ("user_id",),
                  "gold_answers": ("created_by_id",), "gold_exposures": ("user_id",),
                  "qualification_items": ("created_by_id",), "qualification_attempts": ("user_id",),
                  "annotation_scores": ("author_id",), "quality_suspensions": ("user_id", "reinstated_by_id")}


# Content stored sealed: table -> (model, its (sealed column, the plaintext's name in a bundle) pairs). A bundle
# holds the plaintext (it is restored into an instance with other keys); its own encryption is the bundle's seal.
SEALED: dict[str, tuple[Any, tuple[tuple[str, str], ...]]] = {
    "items": (Item, (("sealed_data", "data"),)), "annotations": (Annotation, (("sealed_answers", "answers"),)),
    "annotation_revisions": (AnnotationRevision, (("sealed_answers", "answers"),)),
    "reviews": (Review, (("sealed_answers", "answers"),)),
    "predictions": (Prediction, (("sealed_answers", "answers"),)),
    "gold_answers": (GoldAnswer, (("sealed_answers", "answers"),)),
    "qualification_items": (ExamItem, (("sealed_data", "data"), ("sealed_answers", "answers"))),
    "qualification_attempts": (ExamAttempt, (("sealed_answers", "answers"),)),
    "item_aggregates": (ItemAggregate, (("sealed_value", "value"),))}


def table_of(model: Any) -> Table:
    table: Table = model.__table__
    return table


def json_columns(table: Table) -> set[str]:
    """Columns whose bundle values are JSON (the plaintext of sealed content among them)."""
    sealed = SEALED.get(str(table.name))
    return {str(c.name) for c in table.columns if isinstance(c.type, JSON)} | {
        plain for _, plain in (sealed[1] if sealed else ())}


def _field_of(model: Any, column: str) -> Callable[[dict[str, Any]], tuple[str, str]]:
    (attribute,) = [a for _, a in sealed_attributes(model) if a.column == column]
    return lambda row: attribute.field_of(SimpleNamespace(**row))


def time_columns(table: Table) -> set[str]:
    return {str(c.name) for c in table.columns if isinstance(c.type, UtcDateTime)}


def _iso_text(column: Any) -> Any:
    """SQLite's stored time ("2024-05-01 12:00:00.250000", maybe with "+00:00") as ISO 8601 UTC text
    ("2024-05-01T12:00:00.250000Z"), made by SQLite (NULL stays NULL)."""
    return func.replace(func.replace(cast(column, Text), "+00:00", ""), " ", "T").concat("Z")


def scan_order(table: Table) -> list[Any]:
    """The order rows are read in: that of an index on the project's rows (a full index, leading with
    project_id) followed by the primary key, so that the database walks the index instead of sorting the
    project's rows first (a sort holds them all); the primary key alone where no such index exists."""
    key = list(table.primary_key.columns)
    for index in sorted(table.indexes, key=lambda i: (len(i.columns), str(i.name))):
        columns = list(index.columns)
        partial = any(index.dialect_options[d].get("where") is not None for d in ("sqlite", "postgresql"))
        if columns and columns[0].name == "project_id" and not partial:
            return columns[1:] + [c for c in key if c not in columns]
    return key


@contextmanager
def sorts_on_disk(session: Session) -> Iterator[None]:
    """SQLite: sorts (the ordered scans of tables without an index in id order) spill to temporary files for
    the duration, instead of growing in memory with the project (the connections keep temporary data in
    memory otherwise); the setting is put back before the connection returns to the pool."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    if sqlite:
        session.execute(text("PRAGMA temp_store = FILE"))
    try:
        yield
    finally:
        if sqlite:
            session.execute(text("PRAGMA temp_store = MEMORY"))


def project_rows(session: Session, model: Any, organization_id: str, project_id: str,
                 batch: int = 5000) -> Iterator[list[dict[str, Any]]]:
    """Rows of `model` belonging to the project, as column dicts, in pages by id. JSON columns come as their
    stored text (nothing is parsed); times as ISO 8601 text (SQLite) or aware datetimes (PostgreSQL)."""
    table = table_of(model)
    sqlite = session.get_bind().dialect.name == "sqlite"
    as_text = json_columns(table) | (time_columns(table) if sqlite else set())
    names = [str(c.name) for c in table.columns]
    iso = time_columns(table) if sqlite else set()
    columns = [_iso_text(c).label(str(c.name)) if c.name in iso
               else cast(c, Text).label(str(c.name)) if c.name in as_text else c for c in table.columns]
    # One ordered scan read in pages (a server-side cursor on PostgreSQL): paging by `id > last` would sort
    # the project's rows again for every page, as no index leads with (project_id, id) on most tables.
    sealed = SEALED.get(str(table.name))
    keys = project_keys(session, organization_id, project_id, preload=True) if sealed else None
    stmt = scoped(select(*columns), model, organization_id).order_by(*scan_order(table))
    if model is Project:
        stmt = stmt.where(Project.id == project_id)
    elif model is GoldExposure:
        # Rows of the project's items (the table names no project).
        stmt = stmt.where(GoldExposure.item_id.in_(select(Item.id).where(Item.project_id == project_id)))
    else:
        stmt = stmt.where(model.project_id == project_id)
    result = session.execute(stmt, execution_options={"yield_per": batch})
    for page in result.partitions():
        rows = [dict(zip(names, r, strict=True)) for r in page]
        if sealed and keys is not None:
            for column, plain in sealed[1]:
                field_of = _field_of(model, column)
                for row in rows:
                    value = row.pop(column)
                    row[plain] = None if value is None else keys.open(*field_of(row), value)
        yield rows


def organization(session: Session, organization_id: str) -> Organization | None:
    # unscoped: the organization row itself (its name travels with the bundle; a restore looks for it).
    return session.get(Organization, organization_id)


def people(session: Session, organization_id: str, user_ids: list[str]) -> list[dict[str, Any]]:
    """id, email, name of these users, with their role, vendor and skills in the organization (role None if
    they have left)."""
    # unscoped: users are not owned by an organization; these are the authors of its project's rows.
    stmt = (select(User.id, User.email, User.name, Membership.role, Membership.vendor_id, Membership.skills)
            .outerjoin(Membership, (Membership.user_id == User.id) & (Membership.organization_id == organization_id))
            .where(User.id.in_(user_ids)).order_by(User.id))
    return [{"id": i, "email": e, "name": n, "role": None if r is None else str(r.value), "vendor_id": v,
             "skills": list(s or [])}
            for i, e, n, r, v, s in session.execute(stmt).all()]


def project_exists(session: Session, project_id: str) -> bool:
    # unscoped: a restore must not reuse a project id that any organization of this instance holds.
    return session.execute(select(Project.id).where(Project.id == project_id)).first() is not None


def users_by_email(session: Session, emails: list[str]) -> dict[str, str]:
    # unscoped: people are matched across the instance by e-mail when a bundle is restored.
    return {e: i for i, e in session.execute(select(User.id, User.email).where(User.email.in_(emails))).all()}


def users_by_id(session: Session, ids: list[str]) -> set[str]:
    # unscoped: as above, by id.
    return set(session.scalars(select(User.id).where(User.id.in_(ids))).all())


def member_ids(session: Session, organization_id: str) -> set[str]:
    stmt = scoped(select(Membership.user_id), Membership, organization_id)
    return set(session.scalars(stmt).all())


def _sqlite_time(value: str | None) -> str | None:
    """ISO 8601 UTC text as SQLite stores a time: "2024-05-01 12:00:00.250000" (six fraction digits)."""
    if value is None:
        return None
    if len(value) == 27 and value[10] == "T" and value[26] == "Z":  # the bundle's own form: no other work
        return f"{value[:10]} {value[11:26]}"
    text = value.removesuffix("Z").removesuffix("+00:00").replace("T", " ")
    return text if len(text) == 26 else (text + ".000000" if len(text) == 19 else text.ljust(26, "0"))


def _json_text(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def insert_rows(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """Insert rows of column values as a bundle holds them (see `insert_batches`)."""
    insert_batches(session, model, [rows])


def insert_batches(session: Session, model: Any, batches: Iterable[list[dict[str, Any]]]) -> int:
    """Insert batches of rows of column values as a bundle holds them: JSON columns as values, times as ISO
    8601 text, sealed content as plaintext (sealed here with this instance's keys). Returns the row count.

    They go to the driver as it takes them (SQLAlchemy's per-row parameter handling would cost more than
    the insert). On PostgreSQL, one COPY per table for every batch, which parses JSON and times itself, its
    data handed to the connection by a writer thread: the server checks keys and builds indexes for one batch
    while this process reads and seals the next (a COPY per batch would wait for the server at each batch's
    end). On SQLite, an executemany per batch with times in SQLAlchemy's stored form."""
    table = table_of(model)
    names = [str(c.name) for c in table.columns]
    postgresql = session.get_bind().dialect.name == "postgresql"
    as_json, times = json_columns(table), set() if postgresql else time_columns(table)
    # One converter per column that needs one; the others go to the driver as the bundle holds them.
    special = [(i, _json_text if n in as_json else _sqlite_time) for i, n in enumerate(names)
               if n in as_json or n in times]
    batches = iter(batches)
    first = next((batch for batch in batches if batch), None)
    if first is None:
        return 0
    sealed = SEALED.get(str(table.name))
    # Every row of a bundle's table is of one project: its keys are looked up (or made) once, before the COPY
    # holds the connection.
    keys = project_keys(session, first[0]["organization_id"], first[0]["project_id"]) if sealed else None
    if keys is not None:
        keys.ready_to_seal()
    fields = [(column, plain, _field_of(model, column)) for column, plain in sealed[1]] if sealed else []

    def values(batch: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        for column, plain, field_of in fields:
            assert keys is not None
            for row in batch:
                given = row.pop(plain, None)
                row[column] = None if given is None else seal_json(keys, *field_of(row), given)
        lines = []
        for row in batch:
            line = [row.get(n) for n in names]
            for index, convert in special:
                line[index] = convert(line[index])
            lines.append(tuple(line))
        return lines

    count = 0
    if postgresql:
        dbapi = session.connection().connection.dbapi_connection
        assert dbapi is not None
        quoted = ", ".join(f'"{n}"' for n in names)
        with dbapi.cursor() as cursor, cursor.copy(f"COPY {table.name} ({quoted}) FROM STDIN",  # type: ignore[attr-defined]
                                                   writer=QueuedLibpqWriter(cursor)) as copy:
            for batch in chain([first], batches):
                write = copy.write_row
                for line in values(batch):
                    write(line)
                count += len(batch)
        return count
    connection = session.connection()
    compiled = insert(table).compile(dialect=connection.dialect, column_keys=names)
    assert compiled.positional and list(compiled.positiontup or ()) == names
    for batch in chain([first], batches):
        if batch:
            connection.exec_driver_sql(str(compiled), values(batch))
            count += len(batch)
    return count
