"""`Direct` statements answer exactly what SQLAlchemy's own execution answers, types converted the same way."""

from __future__ import annotations

import pytest
from sqlalchemy import JSON, Float, bindparam, cast, event, insert, literal, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError, InvalidRequestError
from sqlalchemy.orm import Session, sessionmaker

from labelvault.accounts.repository import _TOKEN_CREDENTIAL
from labelvault.db.base import UtcDateTime
from labelvault.db.direct import Direct, plain
from labelvault.db.engine import transaction
from labelvault.items.models import Item
from labelvault.kit.clock import utcnow
from labelvault.kit.hashing import token_digest
from labelvault.kit.ids import new_id
from labelvault.ledger.models import LedgerEntry
from labelvault.ledger.repository import ENTRY_COLUMNS
from labelvault.testing import Actor


def test_rows_are_converted_like_sqlalchemys(factory: sessionmaker[Session], owner: Actor) -> None:
    params = {"digest": token_digest(owner.token)}
    with transaction(factory) as session:
        expected = session.execute(_TOKEN_CREDENTIAL, params).one()
        got = Direct(_TOKEN_CREDENTIAL).first(session, params)
    assert got == tuple(expected)
    # booleans, strings and the role come back as the same Python values and types
    assert [type(v) for v in got] == [type(v) for v in expected]
    assert got[6] == owner.email and got[7] is False and got[8] is True


def test_numbers_and_literals(factory: sessionmaker[Session]) -> None:
    statement = select(cast(bindparam("x"), Float) * 2, literal("fixed"), bindparam("y"))
    with transaction(factory) as session:
        assert Direct(statement).rows(session, {"x": 1.25, "y": "given"}) == [(2.5, "fixed", "given")]


def test_an_insert_writes_the_given_columns(factory: sessionmaker[Session], owner: Actor) -> None:
    row = {"id": new_id(), "organization_id": owner.organization_id, "recorded_us": 42, "kind": "item_read",
           "actor_user_id": owner.user_id, "actor_email": owner.email, "token_id": None, "vendor_id": None,
           "route": "GET /x", "project_id": None, "item_ids": '["a","b"]', "fields": '["text"]', "detail": "{}"}
    statement = Direct(insert(LedgerEntry.__table__), ENTRY_COLUMNS)
    with transaction(factory) as session:
        assert statement.run(session, row) == 1
    with factory() as session:
        stored = session.get(LedgerEntry, row["id"])
        assert stored is not None
        assert {name: getattr(stored, name) for name in ENTRY_COLUMNS} == row
        assert stored.position is None  # a column the statement does not name is left alone
    with transaction(factory) as session, pytest.raises(InvalidRequestError, match="recorded_us"):
        statement.run(session, {k: v for k, v in row.items() if k != "recorded_us"} | {"id": new_id()})


def test_json_and_aware_datetimes_round_trip(factory: sessionmaker[Session]) -> None:
    when = utcnow().replace(microsecond=123456)
    statement = select(bindparam("when", type_=UtcDateTime()), bindparam("doc", type_=JSON()))
    with transaction(factory) as session:
        expected = tuple(session.execute(statement, {"when": when, "doc": {"a": [1, 2]}}).one())
        got = Direct(statement).first(session, {"when": when, "doc": {"a": [1, 2]}})
    assert got == expected == (when, {"a": [1, 2]})
    assert got[0].tzinfo is not None


def test_expanding_parameters_are_refused(factory: sessionmaker[Session]) -> None:
    statement = select(LedgerEntry.id).where(LedgerEntry.kind.in_(bindparam("kinds", expanding=True)))
    with transaction(factory) as session, pytest.raises(ValueError, match="expanding"):
        Direct(statement).rows(session, {"kinds": ["a"]})


def test_driver_errors_are_raised_as_sqlalchemys(factory: sessionmaker[Session], owner: Actor) -> None:
    """Callers catch SQLAlchemy's IntegrityError (a concurrent duplicate becomes a 409), whoever ran the statement."""
    row = {"id": new_id(), "organization_id": owner.organization_id, "recorded_us": 1, "kind": "item_read",
           "actor_user_id": None, "actor_email": "", "token_id": None, "vendor_id": None, "route": "GET /x",
           "project_id": None, "item_ids": "[]", "fields": "[]", "detail": "{}"}
    statement = Direct(insert(LedgerEntry.__table__), ENTRY_COLUMNS)
    with transaction(factory) as session:
        statement.run(session, row)
    with transaction(factory) as session, pytest.raises(IntegrityError):
        statement.run(session, row)


def test_an_insert_must_name_every_column_with_a_default(factory: sessionmaker[Session]) -> None:
    """A column left out whose default Python computes (ids, timestamps) would be written as NULL: refused."""
    partial = Direct(insert(LedgerEntry.__table__), [c for c in ENTRY_COLUMNS if c != "actor_email"])
    with transaction(factory) as session, pytest.raises(ValueError, match="actor_email"):
        partial.run(session, {})


def test_statement_events_fire(factory: sessionmaker[Session], engine) -> None:  # type: ignore[no-untyped-def]
    seen: list[str] = []

    def capture(_conn, _cursor, statement, _parameters, _context, _many):  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", capture)
    try:
        with transaction(factory) as session:
            Direct(select(literal("x"))).rows(session, {})
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert any(statement.startswith("SELECT") for statement in seen), seen


def test_plain_objects_take_the_attribute_of_each_column() -> None:
    """A full row in table order becomes the model's object; a column named unlike its attribute
    (items.metadata is Item.meta) lands on the attribute."""
    columns = [column.name for column in Item.__table__.columns]
    row = tuple({"metadata": {"source": "x"}, "id": "item-1"}.get(name, f"v-{name}") for name in columns)
    item = plain(Item, row)
    assert item.meta == {"source": "x"} and item.id == "item-1" and item.project_id == "v-project_id"


def test_plain_objects_are_outside_any_session_and_need_every_column() -> None:
    columns = [column.name for column in Item.__table__.columns]
    item = plain(Item, tuple(f"v-{name}" for name in columns))
    assert sa_inspect(item).transient
    item.priority = 3  # an ordinary object: attributes can be set as on any other
    assert item.priority == 3
    with pytest.raises(ValueError):
        plain(Item, tuple(f"v-{name}" for name in columns[:-1]))


class _Duplicate(Exception):
    pass


def _ledger_row(owner: Actor, route: str = "GET /later") -> dict[str, object]:
    return {"id": new_id(), "organization_id": owner.organization_id, "recorded_us": 1, "kind": "item_read",
            "actor_user_id": None, "actor_email": "", "token_id": None, "vendor_id": None, "route": route,
            "project_id": None, "item_ids": "[]", "fields": "[]", "detail": "{}"}


_LATER_INSERT = Direct(insert(LedgerEntry.__table__), ENTRY_COLUMNS)


def test_a_deferred_statement_comes_before_any_later_one(factory: sessionmaker[Session], owner: Actor) -> None:
    """Whatever runs next in the transaction sees it: a Direct statement, the ORM, a streamed read; then COMMIT."""
    rows = [_ledger_row(owner, f"GET /later/{n}") for n in range(3)]
    with transaction(factory) as session:
        _LATER_INSERT.later(session, rows[0])
        assert session.get(LedgerEntry, rows[0]["id"]) is not None  # the ORM's statement
        _LATER_INSERT.later(session, rows[1])
        streamed = session.execute(select(LedgerEntry.id).where(LedgerEntry.route.like("GET /later/%"))
                                   .execution_options(yield_per=1)).scalars().all()
        assert set(streamed) == {rows[0]["id"], rows[1]["id"]}
        _LATER_INSERT.later(session, rows[2])  # then only the COMMIT
    with factory() as session:
        assert {session.get(LedgerEntry, row["id"]) is not None for row in rows} == {True}


def test_a_deferred_statement_is_gone_with_a_rollback(factory: sessionmaker[Session], owner: Actor) -> None:
    row = _ledger_row(owner)
    with factory() as session:
        _LATER_INSERT.later(session, row)
        session.rollback()
        other = _ledger_row(owner)
        _LATER_INSERT.run(session, other)
        session.commit()
        assert session.get(LedgerEntry, row["id"]) is None and session.get(LedgerEntry, other["id"]) is not None


@pytest.mark.parametrize("then", ["commit", "statement"])
def test_a_deferred_duplicate_raises_its_conflict(factory: sessionmaker[Session], owner: Actor, then: str) -> None:
    row = _ledger_row(owner)
    with transaction(factory) as session:
        _LATER_INSERT.run(session, row)
    with factory() as session, pytest.raises(_Duplicate):
        _LATER_INSERT.later(session, row, _Duplicate("saved twice"))
        if then == "commit":
            session.commit()
        else:
            Direct(select(literal("x"))).rows(session, {})
    with factory() as session:  # nothing half-done is left on the connections
        assert Direct(select(literal("x"))).rows(session, {}) == [("x",)]


_ROUTE = Direct(select(LedgerEntry.route).where(LedgerEntry.id == bindparam("id")))


def test_a_read_sent_ahead_answers_as_the_read_itself(factory: sessionmaker[Session], owner: Actor) -> None:
    """Wherever it ran (PostgreSQL: with the next round trip; elsewhere: when asked for), the read answers what
    the transaction had written before it, and the ORM's statements in between come after it."""
    row, later = _ledger_row(owner, "GET /ahead"), _ledger_row(owner, "GET /ahead/later")
    with transaction(factory) as session:
        _LATER_INSERT.later(session, row)
        _ROUTE.ahead(session, {"id": row["id"]})
        _ROUTE.ahead(session, {"id": later["id"]})
        assert session.get(LedgerEntry, row["id"]) is not None  # the ORM's statement
        assert _ROUTE.first(session, {"id": row["id"]}) == ("GET /ahead",)
        _LATER_INSERT.run(session, later)
        if session.get_bind().dialect.name == "postgresql":
            assert _ROUTE.first(session, {"id": later["id"]}) is None  # read before the insert, as sent
        else:
            assert _ROUTE.first(session, {"id": later["id"]}) == ("GET /ahead/later",)  # read when asked for
        session.rollback()


def test_a_read_sent_ahead_is_forgotten_when_a_savepoint_is_rolled_back(
        factory: sessionmaker[Session], owner: Actor) -> None:
    row = _ledger_row(owner, "GET /savepoint")
    with factory() as session:
        nested = session.begin_nested()
        _LATER_INSERT.run(session, row)
        _ROUTE.ahead(session, {"id": row["id"]})
        session.execute(select(1))  # sends the read: it sees the insert
        nested.rollback()
        assert _ROUTE.first(session, {"id": row["id"]}) is None  # read again, after the rollback
        session.rollback()
