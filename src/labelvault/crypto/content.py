"""The one path of item and annotation content to and from storage: sealed on the way in, opened on the way out.

Item data, annotation answers (submitted and drafts), their revisions and review fixes, gold answers,
predictions, aggregates, and qualification exam items and attempts are stored only as ciphertexts (`sealed_*`
columns), each bound to its organization, project, item and row. ORM objects expose
the plaintext as a plain attribute (`Sealed`): opened when first read, sealed when the session flushes. Bulk
paths (import, export, bundle, quality reads) seal and open through `project_keys` directly.

The cipher is chosen by the app factory and travels with the session factory (`bind_cipher`); no setting
turns it off. `NoCipher` exists for benchmarks that compare against no encryption.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from types import SimpleNamespace
from typing import Any, Protocol, TypeVar, cast

import orjson
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, object_session, sessionmaker

from labelvault.crypto.service import HEADER, ContentDamaged, Envelope
from labelvault.kit.ids import new_id

CONTENT = "labelvault_content"
PLAIN = b"LV0"


class ProjectCipher(Protocol):
    def preload(self) -> None: ...
    def ready_to_seal(self) -> None: ...
    def open_rows(self, rows: Sequence[tuple[Any, ...]], column: int,
                  bound_to: Callable[[tuple[Any, ...]], bytes]) -> list[tuple[Any, ...]]: ...
    def seal(self, item_id: str, field: str, plaintext: bytes) -> bytes: ...
    def open(self, item_id: str, field: str, ciphertext: bytes) -> bytes: ...


class ContentCipher(Protocol):
    overhead: int  # bytes a sealed value has more than its plaintext

    def project(self, session: Session, organization_id: str, project_id: str) -> ProjectCipher: ...


class EnvelopeCipher:
    """Content sealed with the project's data keys (AES-256-GCM, wrapped by a key-encryption key)."""

    overhead = HEADER.size + 16  # header and GCM tag

    def __init__(self, envelope: Envelope) -> None:
        self.envelope = envelope

    def project(self, session: Session, organization_id: str, project_id: str) -> ProjectCipher:
        return self.envelope.project(session, organization_id, project_id)


class _PlainProject:
    def preload(self) -> None:
        pass

    def ready_to_seal(self) -> None:
        pass

    def seal(self, item_id: str, field: str, plaintext: bytes) -> bytes:
        return PLAIN + plaintext

    def open(self, item_id: str, field: str, ciphertext: bytes) -> bytes:
        if not ciphertext.startswith(PLAIN):
            raise ContentDamaged("This content was sealed with a key; this server runs without encryption.")
        return ciphertext[len(PLAIN):]

    def open_rows(self, rows: Sequence[tuple[Any, ...]], column: int,
                  bound_to: Callable[[tuple[Any, ...]], bytes]) -> list[tuple[Any, ...]]:
        return [(*row[:column], self.open("", "", bytes(row[column])), *row[column + 1:]) for row in rows]


class NoCipher:
    """Content stored as it is. Only for measuring what encryption costs: set through the app factory's context,
    never by a setting."""

    overhead = len(PLAIN)

    def project(self, session: Session, organization_id: str, project_id: str) -> ProjectCipher:
        return _PlainProject()


def bind_cipher(factory: sessionmaker[Session], cipher: ContentCipher) -> sessionmaker[Session]:
    """Sessions of `factory` seal and open content with `cipher`."""
    info = dict(factory.kw.get("info") or {})
    info[CONTENT] = cipher
    factory.configure(info=info)
    return factory


def cipher_of(session: Session) -> ContentCipher:
    found = session.info.get(CONTENT)
    if found is None:
        raise RuntimeError("This session has no content cipher: make its factory with bind_cipher().")
    return cast(ContentCipher, found)


def project_keys(session: Session, organization_id: str, project_id: str, *, preload: bool = False) -> ProjectCipher:
    """Seals and opens the project's content in this session (keys looked up once; with `preload`, all of them
    now, before a raw stream takes the connection)."""
    keys = cipher_of(session).project(session, organization_id, project_id)
    if preload:
        keys.preload()
    return keys


# What each sealed field is bound to besides organization, project and item: the row, for annotation content.
ITEM_DATA = "data"


def answers_field(kind: str, row_id: str) -> str:
    """The field name of the answers of an annotation or review row."""
    return f"{kind}:{row_id}:answers"


def exam_data_field(row_id: str) -> str:
    """The field name of a qualification exam item's data (an exam item is its own item: no row in `items`)."""
    return f"exam:{row_id}:data"


def media_field(path: str) -> str:
    return f"media:{path}"


def seal_json(keys: ProjectCipher, item_id: str, field: str, value: Any) -> bytes:
    return keys.seal(item_id, field, orjson.dumps(value))


def open_json(keys: ProjectCipher, item_id: str, field: str, sealed: bytes | None) -> Any:
    if sealed is None:
        raise ContentDamaged("This content is missing.")
    return orjson.loads(keys.open(item_id, field, sealed))


def revision_field(annotation_id: str, number: int) -> str:
    return f"revision:{annotation_id}:{number}:answers"


T = TypeVar("T")


class Sealed:
    """A JSON attribute of a model stored only sealed in `column`. Reading opens it (once per stored value);
    setting keeps the plaintext until the session flushes, which seals it (`_seal_on_flush`).

    `field_of(row)` names what the ciphertext is bound to besides organization and project: (item id, field)."""

    def __init__(self, column: str, field_of: Callable[[Any], tuple[str, str]]) -> None:
        self.column = column
        self.field_of = field_of

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = f"_opened_{name}"

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        opened = obj.__dict__.get(self.slot)
        if opened is not None and (opened[0] is _PENDING or opened[0] is obj.__dict__.get(self.column)):
            return opened[1]
        sealed = getattr(obj, self.column)
        if sealed is None:
            return None
        session = object_session(obj)
        if session is None:
            raise RuntimeError(f"{type(obj).__name__}.{self.column} is read outside a session.")
        item_id, field = self.field_of(obj)
        value = open_json(project_keys(session, obj.organization_id, obj.project_id), item_id, field, sealed)
        obj.__dict__[self.slot] = (sealed, value)
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.slot] = (_PENDING, value)
        setattr(obj, self.column, None)  # marks the row changed; the flush seals the value into it
        _pending(obj).add(self)

    def seal(self, session: Session, obj: Any) -> None:
        value = obj.__dict__[self.slot][1]
        if value is None:
            return
        if obj.id is None:
            obj.id = new_id()
        item_id, field = self.field_of(obj)
        sealed = seal_json(project_keys(session, obj.organization_id, obj.project_id), item_id, field, value)
        setattr(obj, self.column, sealed)
        obj.__dict__[self.slot] = (sealed, value)


def opened_rows(keys: ProjectCipher, batches: Generator[Sequence[tuple[Any, ...]], None, None], column: int,
                bound_to: Callable[[tuple[Any, ...]], bytes],
                ) -> Generator[Sequence[tuple[Any, ...]], None, None]:
    """Driver rows with the sealed value at `column` replaced by its plaintext (JSON text as bytes);
    `bound_to(row)` is `item id NUL field` as bytes."""
    try:
        for batch in batches:
            yield keys.open_rows(batch, column, bound_to)
    finally:
        batches.close()  # the stream's cursor closes with this one, inside its transaction


class _Pending:
    pass


_PENDING = _Pending()
_UNSEALED = "_labelvault_unsealed"


def _pending(obj: Any) -> set[Sealed]:
    found: set[Sealed] | None = obj.__dict__.get(_UNSEALED)
    if found is None:
        found = obj.__dict__[_UNSEALED] = set()
    return found


_SEALED_OF: dict[type, tuple[tuple[str, Sealed], ...]] = {}


def sealed_attributes(model: type) -> tuple[tuple[str, Sealed], ...]:
    """The model's sealed attributes (found once per class: output schemas ask on every answer)."""
    found = _SEALED_OF.get(model)
    if found is None:
        found = _SEALED_OF[model] = tuple((name, value) for klass in model.__mro__
                                          for name, value in vars(klass).items() if isinstance(value, Sealed))
    return found


def seal_rows(session: Session, model: type, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows for a bulk INSERT of `model`: each `Sealed` attribute's plaintext (under the attribute's name) is
    replaced by its ciphertext (under its column), an id given where there is none. The rows given stay as
    they are."""
    attributes = sealed_attributes(model)
    found: dict[tuple[str, str], ProjectCipher] = {}
    sealed_rows = []
    for given in rows:
        row = dict(given)
        row.setdefault("id", new_id())
        for name, attribute in attributes:
            if name in row:
                value = row.pop(name)
                scope = (row["organization_id"], row["project_id"])
                keys = found.get(scope)
                if keys is None:
                    keys = found[scope] = project_keys(session, *scope)
                row[attribute.column] = None if value is None else seal_json(
                    keys, *attribute.field_of(SimpleNamespace(**row)), value)
        sealed_rows.append(row)
    return sealed_rows


@event.listens_for(Session, "do_orm_execute")
def _seal_bulk_insert(state: ORMExecuteState) -> Any:
    """`session.execute(insert(Model), rows)` with plaintext under the attribute's name: sealed here as a flush
    would seal it (the repositories seal their bulk rows themselves, with `seal_rows`)."""
    if not state.is_insert or state.bind_mapper is None or not state.parameters:
        return None
    attributes = sealed_attributes(state.bind_mapper.class_)
    if not attributes:
        return None
    rows = state.parameters if isinstance(state.parameters, list) else [state.parameters]
    if not any(name in row for row in rows for name, _ in attributes):
        return None
    sealed_rows = seal_rows(state.session, state.bind_mapper.class_, cast(list[dict[str, Any]], rows))
    return state.invoke_statement(params=sealed_rows if isinstance(state.parameters, list) else sealed_rows[0])


@event.listens_for(Session, "before_flush")
def _seal_on_flush(session: Session, _context: Any, _instances: Any) -> None:
    for obj in (*session.new, *session.dirty):
        seal_pending(session, obj)


def open_sealed(session: Session, obj: T) -> T:
    """Open now every sealed attribute of a row read by a statement of its own (a plain object outside the
    session), so that it reads without a session afterwards; the object."""
    for attribute in _sealed_attributes(type(obj)):
        sealed = obj.__dict__.get(attribute.column)
        if sealed is not None:
            item_id, field = attribute.field_of(obj)
            keys = project_keys(session, obj.organization_id, obj.project_id)  # type: ignore[attr-defined]
            obj.__dict__[attribute.slot] = (sealed, open_json(keys, item_id, field, sealed))
    return obj


_SEALED_ATTRIBUTES: dict[type, tuple[Sealed, ...]] = {}


def _sealed_attributes(model: type) -> tuple[Sealed, ...]:
    found = _SEALED_ATTRIBUTES.get(model)
    if found is None:
        found = _SEALED_ATTRIBUTES[model] = tuple(
            value for klass in model.__mro__ for value in vars(klass).values() if isinstance(value, Sealed))
    return found


def seal_pending(session: Session, obj: Any) -> None:
    """Seal the values set on `obj` since it was last sealed: the flush does it for the session's objects; a
    row written by a statement of its own (not the unit of work) is sealed by this first."""
    unsealed: set[Sealed] | None = obj.__dict__.get(_UNSEALED)
    if unsealed:
        for attribute in unsealed:
            attribute.seal(session, obj)
        unsealed.clear()
