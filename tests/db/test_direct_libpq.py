"""On PostgreSQL, `Direct` statements go straight to libpq: prepared once per connection, BEGIN in the same round
trip as the transaction's first statement, errors raised as SQLAlchemy's, and nothing left half-done on the
connection."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from psycopg import pq
from sqlalchemy import event, insert, select, text
from sqlalchemy.exc import IntegrityError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from labelvault.db.direct import Direct
from labelvault.db.engine import build_engine, session_factory
from labelvault.kit.ids import new_id
from labelvault.ledger.models import LedgerEntry
from labelvault.ledger.repository import ENTRY_COLUMNS
from labelvault.testing import Actor


@pytest.fixture(autouse=True)
def _postgresql_only(engine) -> None:  # type: ignore[no-untyped-def]
    if engine.dialect.name != "postgresql":
        pytest.skip("libpq is PostgreSQL's")


def _entry(owner: Actor, route: str = "GET /x") -> dict[str, object]:
    return {"id": new_id(), "organization_id": owner.organization_id, "recorded_us": 1, "kind": "item_read",
            "actor_user_id": None, "actor_email": "", "token_id": None, "vendor_id": None, "route": route,
            "project_id": None, "item_ids": "[]", "fields": "[]", "detail": "{}"}


_INSERT = Direct(insert(LedgerEntry.__table__), ENTRY_COLUMNS)
_READ = Direct(select(LedgerEntry.route).where(LedgerEntry.id == text(":id").bindparams()))


def _driver(session: Session):  # type: ignore[no-untyped-def]
    return session.connection().connection.driver_connection


def _prepared(session: Session) -> set[str]:
    """Names of the ledger inserts prepared on the session's connection (other tests' statements among them)."""
    return set(session.execute(text(
        "SELECT name FROM pg_prepared_statements WHERE name LIKE 'lv_direct_%' "
        "AND statement LIKE 'INSERT INTO ledger_entries%'")).scalars())


def test_the_first_statement_begins_the_transaction(factory: sessionmaker[Session], owner: Actor) -> None:
    row = _entry(owner)
    with factory() as session:
        assert _INSERT.run(session, row) == 1
        assert _driver(session).pgconn.transaction_status == pq.TransactionStatus.INTRANS
        session.rollback()  # the insert was inside the transaction: gone
    with factory() as session:
        assert _READ.first(session, {"id": row["id"]}) is None


@pytest.fixture
def one_connection(database_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions that all use the same pooled connection, one after the other."""
    engine = build_engine(database_url, pool_size=1)
    yield session_factory(engine)
    engine.dispose()


def test_a_statement_is_prepared_once_per_connection_and_survives_rollbacks(
        one_connection: sessionmaker[Session], owner: Actor) -> None:
    rows = [_entry(owner, route=f"GET /{n}") for n in range(3)]
    with one_connection() as session:
        before = _prepared(session)
        session.rollback()
        for row in rows:
            _INSERT.run(session, row)
            for _ in range(8):  # a statement the driver would prepare itself, if it prepared any
                session.execute(text("SELECT count(*) FROM ledger_entries"))
            session.rollback()  # (psycopg deallocates every prepared statement at a rollback when it prepared one)
        _INSERT.run(session, rows[0])
        session.commit()
        assert len(_prepared(session) - before) <= 1  # prepared at its first run at most, and kept
        assert _READ.first(session, {"id": rows[0]["id"]}) == ("GET /0",)


def test_a_deallocated_statement_fails_once_then_is_prepared_again(
        one_connection: sessionmaker[Session], owner: Actor) -> None:
    first, second = _entry(owner), _entry(owner)
    with one_connection() as session:
        _INSERT.run(session, first)
        session.commit()
        session.execute(text("DEALLOCATE ALL"))
        session.commit()
        with pytest.raises(ProgrammingError, match="does not exist"):
            _INSERT.run(session, second)
        session.rollback()
        assert _INSERT.run(session, second) == 1
        session.commit()
        assert _READ.first(session, {"id": second["id"]}) is not None


def test_an_error_in_the_first_statement_is_sqlalchemys_and_the_connection_goes_on(
        factory: sessionmaker[Session], owner: Actor) -> None:
    row = _entry(owner)
    with factory() as session:
        _INSERT.run(session, row)
        session.commit()
        with pytest.raises(IntegrityError):  # BEGIN and the duplicate insert in one round trip
            _INSERT.run(session, row)
        assert _driver(session).pgconn.transaction_status == pq.TransactionStatus.INERROR
        assert _driver(session).pgconn.pipeline_status == pq.PipelineStatus.OFF
        session.rollback()
        assert _READ.first(session, {"id": row["id"]}) == ("GET /x",)


def test_statement_listeners_get_a_cursor(factory: sessionmaker[Session], engine, owner: Actor) -> None:  # type: ignore[no-untyped-def]
    cursors: list[object] = []

    def capture(_conn, cursor, _statement, _parameters, _context, _many):  # type: ignore[no-untyped-def]
        cursors.append(cursor)

    event.listen(engine, "before_cursor_execute", capture)
    try:
        with factory() as session:
            _INSERT.run(session, _entry(owner))
            session.rollback()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert cursors and all(cursor is not None for cursor in cursors)


def test_a_transaction_with_an_isolation_level_keeps_it_and_the_fast_path(
        one_connection: sessionmaker[Session], owner: Actor) -> None:
    """SQLAlchemy sets the isolation level on the connection for such a transaction (exports, the ledger's
    verification) and back to the server's default after it: Direct sends the BEGIN psycopg would send."""
    row = _entry(owner)
    with one_connection() as session:
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        _INSERT.run(session, row)
        level = session.execute(text("SHOW transaction_isolation")).scalar_one()
        session.commit()
        assert level == "repeatable read"
        assert _READ.first(session, {"id": row["id"]}) == ("GET /x",)  # the next transaction, on the default
        assert session.execute(text("SHOW transaction_isolation")).scalar_one() == "read committed"
        assert _prepared(session)  # the insert went through libpq, prepared on this connection


def _sends(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of statements in each Direct round trip from here on."""
    from labelvault.db import direct

    sent: list[int] = []
    original = direct._send

    def send(connection, state, sends, commit=False):  # type: ignore[no-untyped-def]
        sent.append(len(sends))
        return original(connection, state, sends, commit)

    monkeypatch.setattr(direct, "_send", send)
    return sent


def test_reads_sent_ahead_go_in_the_round_trip_of_the_first_one_asked_for(
        factory: sessionmaker[Session], owner: Actor, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [_entry(owner, route=f"GET /{n}") for n in range(2)]
    with factory() as session:
        for row in rows:
            _INSERT.run(session, row)
        session.commit()
    sent = _sends(monkeypatch)
    with factory() as session:
        _READ.ahead(session, {"id": rows[0]["id"]})
        _READ.ahead(session, {"id": rows[1]["id"]})
        assert sent == []  # nothing sent yet
        assert _READ.first(session, {"id": rows[1]["id"]}) == ("GET /1",)
        assert _READ.first(session, {"id": rows[0]["id"]}) == ("GET /0",)
        assert sent == [2]  # both in one round trip, each result taken by its own call
        assert _READ.first(session, {"id": rows[0]["id"]}) == ("GET /0",)  # a result serves once: read again
        assert sent == [2, 1]
        session.rollback()


def test_a_read_sent_ahead_sees_what_came_before_it_and_a_new_one_replaces_it(
        factory: sessionmaker[Session], owner: Actor, monkeypatch: pytest.MonkeyPatch) -> None:
    row = _entry(owner)
    with factory() as session:
        _READ.ahead(session, {"id": row["id"]})
        _INSERT.later(session, row)
        _READ.ahead(session, {"id": row["id"]})  # after the insert: this one serves
        assert _READ.first(session, {"id": row["id"]}) == ("GET /x",)
        session.rollback()


def test_reads_sent_ahead_end_with_their_transaction(
        one_connection: sessionmaker[Session], owner: Actor, monkeypatch: pytest.MonkeyPatch) -> None:
    row = _entry(owner)
    sent = _sends(monkeypatch)
    with one_connection() as session:
        _READ.ahead(session, {"id": row["id"]})
        assert _READ.first(session, {"id": "none"}) is None  # sends the read ahead too; its result waits
        assert sent == [2]
        session.rollback()
        _INSERT.run(session, row)  # the next transaction on the same connection
        assert _READ.first(session, {"id": row["id"]}) == ("GET /x",)  # read now, not the old (empty) result
        _READ.ahead(session, {"id": row["id"]})
        session.commit()  # a read sent ahead that nobody asked for is not sent with the COMMIT
        assert sent == [2, 1, 1]
        assert _driver(session).pgconn.transaction_status == pq.TransactionStatus.IDLE
