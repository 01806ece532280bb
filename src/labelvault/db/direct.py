"""Core statements of the hot paths, run straight on the session's driver connection.

SQLAlchemy's execution of a Core statement (cache lookup, execution context, result set-up) costs several times
a short indexed statement itself: on the labeling loop, which runs a dozen such statements per annotation, it
was the largest share of the server's CPU. A `Direct` statement is compiled once per dialect; each call
converts its parameters and results by the columns' types exactly as SQLAlchemy does (the same bind and result
processors), runs it on the DBAPI cursor of the session's connection, inside the session's transaction, and
returns plain tuples.

Only for statements without expanding (IN-list) or literal-execute parameters, whose SQL is fixed at compile
time.

On PostgreSQL (psycopg) a statement goes straight to libpq: prepared once per connection, its parameters
dumped and its rows loaded by psycopg's own adapters, and the transaction's BEGIN sent in the same round trip
as its first statement (pipeline mode). psycopg's cursor spent more CPU on each short statement (query
conversion, prepared-statement bookkeeping, cursor set-up) than the network round trip itself. With statement
events listened to, the cursor runs it.
A statement whose outcome nobody reads may be deferred (`Direct.later`): it is then sent with the
transaction's next statement or its COMMIT, in the same round trip. A read whose parameters are known before
the reads it waits behind may be sent ahead (`Direct.ahead`): it goes with the next round trip, and the call
that asks for it afterwards, with the same parameters, takes its result without a round trip of its own.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import weakref
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import psycopg
from psycopg import generators, pq
from psycopg.adapt import PyFormat, Transformer
from sqlalchemy import Dialect, inspect
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

Processor = Callable[[Any], Any] | None
M = TypeVar("M")


@dataclass
class _Plan:
    sql: str
    compiled: SQLCompiler
    dialect: Dialect
    positions: tuple[str, ...] | None  # parameter names in order (positional paramstyles), else None
    bind: Mapping[str, Callable[[Any], Any]]
    results: tuple[Processor, ...] | None = None  # known from the first result's column types
    libpq: _LibpqStatement | None = None  # on psycopg: the SQL with $n placeholders and their names in order

    def result_processors(self, type_codes: Sequence[Any]) -> tuple[Processor, ...]:
        if self.results is None:  # (a numeric type's processor depends on the type the server sent)
            self.results = tuple(
                entry.type._cached_result_processor(self.dialect, code)
                for entry, code in zip(self.compiled._result_columns, type_codes, strict=True))
        return self.results

    def parameters(self, given: Mapping[str, Any]) -> Any:
        values = self.compiled.construct_params(given)  # the statement's own literals too
        for name, process in self.bind.items():
            values[name] = process(values[name])  # None too, as SQLAlchemy does (JSON's None is 'null')
        if self.positions is None:
            return values
        return tuple(values[name] for name in self.positions)

    def convert(self, rows: list[Any], type_codes: Sequence[Any]) -> list[tuple[Any, ...]]:
        processors = self.result_processors(type_codes)
        if not any(processors):
            return [tuple(row) for row in rows]
        return [tuple(value if value is None or process is None else process(value)
                      for value, process in zip(row, processors, strict=True)) for row in rows]


class Direct:
    """One Core statement, compiled once per dialect and run on the driver connection (see the module)."""

    def __init__(self, statement: ClauseElement, columns: Sequence[str] | None = None) -> None:
        """`columns`: for an INSERT of the table itself, the columns every call gives (no others are written)."""
        self.statement = statement
        self.columns = list(columns) if columns is not None else None
        self._plans: dict[int, tuple[Dialect, _Plan]] = {}

    def _plan(self, dialect: Dialect) -> _Plan:
        known = self._plans.get(id(dialect))
        if known is not None and known[0] is dialect:
            return known[1]
        compiled = self.statement.compile(dialect=dialect, column_keys=self.columns)
        assert isinstance(compiled, SQLCompiler)
        sql = compiled.string
        if "POSTCOMPILE" in sql:
            raise ValueError("A Direct statement takes no expanding or literal-execute parameters.")
        if compiled.insert_prefetch or compiled.update_prefetch:  # Python-side defaults Direct would not compute
            names = [column.key for column in (*compiled.insert_prefetch, *compiled.update_prefetch)]
            raise ValueError(f"A Direct statement must be given every column it writes; missing: {names}.")
        bind: dict[str, Callable[[Any], Any]] = {
            name: process for name, process in (compiled._bind_processors or {}).items()
            if callable(process)}  # (a sequence is a tuple-valued parameter's, which no Direct statement has)
        plan = _Plan(sql, compiled, dialect, tuple(compiled.positiontup) if compiled.positional and compiled.positiontup
                     else None, bind)
        if dialect.driver == "psycopg" and plan.positions is None:
            plan.libpq = _LibpqStatement.of(sql)
        self._plans[id(dialect)] = (dialect, plan)
        return plan

    def _run(self, session: Session, params: Mapping[str, Any], later: bool = False,
             conflict: Exception | None = None, ahead: bool = False) -> tuple[_Plan, _Outcome]:
        connection = session.connection()  # begins the session's transaction (and its events) if need be
        dialect = connection.dialect
        plan = self._plan(dialect)
        if ahead and plan.libpq is None:
            return plan, _Outcome([], None, 0)  # (run when asked for)
        statement, values = plan.sql, plan.parameters(params)
        fairy = connection.connection
        dbapi_connection = fairy.dbapi_connection
        assert dbapi_connection is not None
        cursor = None
        # The engine's statement events fire as for any statement (listeners, logging, counting in tests): such
        # a statement runs on a cursor, which the listeners are given.
        dispatch = connection.dispatch
        events = (connection._has_events or connection.engine._has_events) and bool(
            dispatch.before_cursor_execute or dispatch.after_cursor_execute)
        try:
            if plan.libpq is not None and not events and _libpq_ready(dbapi_connection):
                if later or ahead:
                    _defer(dbapi_connection, plan.libpq, values, conflict, ahead)
                    return plan, _Outcome([], None, 0)
                return plan, _libpq_execute(dbapi_connection, plan.libpq, values)
            if ahead:
                return plan, _Outcome([], None, 0)
            cursor = dbapi_connection.cursor()
            if events:
                for listener in dispatch.before_cursor_execute:
                    statement, values = listener(connection, cursor, statement, values, None, False)
            cursor.execute(statement, values)
            if events:
                dispatch.after_cursor_execute(connection, cursor, statement, values, None, False)
            return plan, _Outcome.of_cursor(cursor, plan.results is None)
        except Exception as exc:
            if not isinstance(exc, dialect.loaded_dbapi.Error):
                raise
            # As SQLAlchemy's own execution does: on a lost connection every connection of the pool opened
            # before it is replaced (the server restarted), and the driver's error is raised as SQLAlchemy's
            # (IntegrityError, OperationalError, ...), which callers catch.
            lost = dialect.is_disconnect(exc, dbapi_connection, cursor)
            if lost:
                connection.engine.pool._invalidate(fairy, exc)
                connection.invalidate(exc)
            error = DBAPIError.instance(statement, values, exc, dialect.loaded_dbapi.Error, dialect=dialect,
                                       connection_invalidated=lost)
            if conflict is not None and isinstance(error, IntegrityError):
                raise conflict from exc
            raise error from exc
        finally:
            if cursor is not None:
                cursor.close()

    def rows(self, session: Session, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Every row, converted by the columns' types."""
        plan, outcome = self._run(session, params)
        if outcome.type_codes is None:
            return []
        return plan.convert(outcome.rows, outcome.type_codes)

    def first(self, session: Session, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        rows = self.rows(session, params)
        return rows[0] if rows else None

    def run(self, session: Session, params: Mapping[str, Any]) -> int:
        """Run a statement that returns no rows; how many rows it changed."""
        return self._run(session, params)[1].rowcount

    def later(self, session: Session, params: Mapping[str, Any], conflict: Exception | None = None) -> None:
        """Run a statement whose outcome the caller does not read, in order with the transaction's other statements
        but not necessarily now: on PostgreSQL it is sent with the next statement or with the COMMIT, in the same
        round trip. An integrity error it meets (a duplicate) is raised as `conflict` when given, wherever it is
        met."""
        self._run(session, params, later=True, conflict=conflict)

    def ahead(self, session: Session, params: Mapping[str, Any]) -> None:
        """Send this read with the transaction's next round trip, in order with its other statements: the call of
        `rows` or `first` with the same parameters that follows takes its result instead of running it (once).
        For reads whose parameters are known before the reads they wait behind. A result nobody asks for is
        forgotten at the transaction's end; an error is raised by the round trip that meets it. On PostgreSQL
        through libpq only: elsewhere the read runs when asked for."""
        self._run(session, params, ahead=True)


@dataclass
class _Outcome:
    rows: list[Any]
    type_codes: Sequence[Any] | None  # None: the statement returns no rows; () once the plan knows its types
    rowcount: int

    @classmethod
    def of_cursor(cls, cursor: Any, types_wanted: bool) -> _Outcome:
        description = cursor.description  # (the driver builds it anew at each access)
        if not description:
            return cls([], None, int(cursor.rowcount))
        codes = [column[1] for column in description] if types_wanted else ()
        return cls(cursor.fetchall(), codes, int(cursor.rowcount))


# -- PostgreSQL through libpq ---------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"%\(([^)]+)\)s|%%|%")


@dataclass
class _LibpqStatement:
    """A statement's SQL as PostgreSQL takes it: `$1`, `$2` ... for SQLAlchemy's `%(name)s` placeholders."""
    sql: bytes
    names: tuple[str, ...]  # the parameter of each $n, in order

    @classmethod
    def of(cls, pyformat: str) -> _LibpqStatement | None:
        names: list[str] = []

        def replace(found: re.Match[str]) -> str:
            text = found.group(0)
            if text == "%%":
                return "%"
            if text == "%":
                raise ValueError
            name = found.group(1)
            if name not in names:
                names.append(name)
            return f"${names.index(name) + 1}"

        try:
            sql = _PLACEHOLDER.sub(replace, pyformat)
        except ValueError:  # a placeholder of another style: the cursor takes it
            return None
        return cls(sql.encode(), tuple(names))


@dataclass
class _Send:
    """A statement to send: its parameters dumped, and the error to raise for a duplicate (deferred ones)."""
    statement: _LibpqStatement
    params: Any
    types: tuple[int, ...]
    formats: Any
    conflict: Exception | None = None
    ahead: Any = None  # for a read sent ahead (`Direct.ahead`): the key its result is kept under


@dataclass
class _Connection:
    """What a psycopg connection keeps for Direct: its adapters, the names of the statements prepared on it, and
    the statements deferred (`Direct.later`, `Direct.ahead`) that are still to be sent, and the results of the
    reads sent ahead that nobody has asked for yet (the transaction's own: cleared when it ends)."""
    transformer: Any
    prepared: dict[tuple[int, tuple[int, ...]], bytes] = field(default_factory=dict)
    pending: list[_Send] = field(default_factory=list)
    ahead: dict[Any, Any] = field(default_factory=dict)


_CONNECTIONS: weakref.WeakKeyDictionary[Any, _Connection] = weakref.WeakKeyDictionary()
_NAMES = itertools.count()  # never the same name twice in a process


def _libpq_ready(connection: Any) -> bool:
    """Whether Direct may drive this psycopg connection itself: no pipeline or COPY of psycopg's under way."""
    return connection.pgconn.pipeline_status == pq.PipelineStatus.OFF and not connection.closed


def _begin(connection: Any) -> bytes:
    """The BEGIN psycopg would send on this connection, with its transaction options (SQLAlchemy sets the
    isolation level on a connection for a transaction and back to the server's default after it)."""
    parts = [b"BEGIN"]
    if connection.isolation_level is not None:
        parts.append(b"ISOLATION LEVEL " + psycopg.IsolationLevel(connection.isolation_level).name.replace(
            "_", " ").encode())
    if connection.read_only is not None:
        parts.append(b"READ ONLY" if connection.read_only else b"READ WRITE")
    if connection.deferrable is not None:
        parts.append(b"DEFERRABLE" if connection.deferrable else b"NOT DEFERRABLE")
    return b" ".join(parts)


def _state(connection: Any) -> _Connection:
    state = _CONNECTIONS.get(connection)
    if state is None:
        state = _CONNECTIONS[connection] = _Connection(Transformer(connection))
    return state


def _dumped(state: _Connection, statement: _LibpqStatement, values: Mapping[str, Any],
            conflict: Exception | None = None, ahead: Any = None) -> _Send:
    transformer = state.transformer
    params = transformer.dump_sequence([values[name] for name in statement.names],
                                       [PyFormat.AUTO] * len(statement.names))
    return _Send(statement, params, tuple(transformer.types or ()), transformer.formats, conflict, ahead)


def _ahead_key(statement: _LibpqStatement, values: Mapping[str, Any]) -> Any:
    """What a read sent ahead is found again by: the statement and its parameters (None when one of them is not
    hashable: such a read is not sent ahead)."""
    key = (id(statement), *(values[name] for name in statement.names))
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _defer(connection: Any, statement: _LibpqStatement, values: Mapping[str, Any],
           conflict: Exception | None, ahead: bool = False) -> None:
    state = _state(connection)
    key = None
    if ahead:
        key = _ahead_key(statement, values)
        if key is None:
            return
        # Asked for again: the newer read serves (what came in between may have changed its rows).
        state.ahead.pop(key, None)
        state.pending[:] = [send for send in state.pending if send.ahead != key]
    state.pending.append(_dumped(state, statement, values, conflict, key))


def _libpq_execute(connection: Any, statement: _LibpqStatement, values: Mapping[str, Any]) -> _Outcome:
    """Run the statement on the connection, after the deferred ones, in one round trip; or take its result if it
    was sent ahead (with the round trip that sends it, if it is still to be sent)."""
    state = _state(connection)
    result = None
    if state.ahead or any(send.ahead is not None for send in state.pending):
        key = _ahead_key(statement, values)
        if key is not None and key not in state.ahead and any(send.ahead == key for send in state.pending):
            _send(connection, state, list(state.pending))
        result = state.ahead.pop(key, None)
    if result is None:
        result = _send(connection, state, [*state.pending, _dumped(state, statement, values)])
    assert result is not None
    if result.status == pq.ExecStatus.COMMAND_OK:
        return _Outcome([], None, result.command_tuples or 0)
    transformer = state.transformer
    transformer.set_pgresult(result)
    rows = transformer.load_rows(0, result.ntuples, tuple)
    return _Outcome(rows, [result.ftype(i) for i in range(result.nfields)], result.command_tuples or 0)


def send_pending(connection: Any, commit: bool = False) -> None:
    """Send the connection's deferred statements now, and with `commit` the COMMIT after them in the same round
    trip (see `db.engine`, which calls this before any other statement and at commit)."""
    state = _CONNECTIONS.get(connection)
    if state is not None and commit:
        state.ahead.clear()
        if state.pending:  # reads sent ahead that nobody asked for are not sent at all
            state.pending[:] = [send for send in state.pending if send.ahead is None]
    if state is not None and state.pending:
        try:
            _send(connection, state, list(state.pending), commit=commit)
        except BaseException:
            if commit:  # the transaction failed at its end, out of SQLAlchemy's sight: it is rolled back here
                with contextlib.suppress(Exception):
                    connection.rollback()
            raise


def drop_pending(connection: Any) -> None:
    """Forget the deferred statements of a transaction that is rolled back, and its reads sent ahead."""
    state = _CONNECTIONS.get(connection)
    if state is not None:
        state.pending.clear()
        state.ahead.clear()


def drop_read_ahead(connection: Any) -> None:
    """Forget the results of reads sent ahead (and such reads still to be sent)."""
    state = _CONNECTIONS.get(connection)
    if state is not None:
        state.ahead.clear()
        state.pending[:] = [send for send in state.pending if send.ahead is None]


def _send(connection: Any, state: _Connection, sends: list[_Send], commit: bool = False) -> Any:
    """One round trip: BEGIN when the transaction is to start, each statement (prepared first on this connection
    if need be), COMMIT if asked. The last statement's result (a read sent ahead keeps its own in `state.ahead`);
    the first error met is raised."""
    state.pending.clear()  # sent now, or failed with the transaction
    pgconn = connection.pgconn
    with connection.lock:
        begin = not connection.autocommit and pgconn.transaction_status == pq.TransactionStatus.IDLE
        if begin:
            state.ahead.clear()  # (a transaction's results are its own)
        prepared: list[tuple[tuple[int, tuple[int, ...]], bytes]] = []
        kinds: list[_Send | None] = []  # what each result answers: a statement, or None for a command
        pgconn.enter_pipeline_mode()
        try:
            if begin:
                pgconn.send_query_params(_begin(connection), None)
                kinds.append(None)
            for send in sends:
                key = (id(send.statement), send.types)  # (a statement lives as long as its Direct's plan)
                name = state.prepared.get(key) or next((n for k, n in prepared if k == key), None)
                if name is None:
                    name = f"lv_direct_{next(_NAMES)}".encode()
                    pgconn.send_prepare(name, send.statement.sql, send.types)
                    prepared.append((key, name))
                    kinds.append(None)
                pgconn.send_query_prepared(name, send.params, send.formats)
                kinds.append(send)
            if commit:
                pgconn.send_query_params(b"COMMIT", None)
                kinds.append(None)
            pgconn.pipeline_sync()
            answers = connection.wait(_sent_and_answered(pgconn, len(kinds)))
        finally:
            _leave_pipeline(connection)
    state.prepared.update(prepared)
    encoding = connection.info.encoding
    last = None
    for kind, result in zip(kinds, answers, strict=True):
        status = result.status
        if status == pq.ExecStatus.FATAL_ERROR:
            error = psycopg.errors.error_from_result(result, encoding=encoding)
            if isinstance(error, psycopg.errors.InvalidSqlStatementName):  # deallocated by someone else
                _CONNECTIONS.pop(connection, None)
            if kind is not None and kind.conflict is not None and isinstance(error, psycopg.IntegrityError):
                raise kind.conflict from error
            raise error
        if kind is not None:
            if status not in (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK):
                raise psycopg.OperationalError(f"unexpected result from PostgreSQL: {pq.ExecStatus(status).name}")
            if kind.ahead is not None:
                state.ahead[kind.ahead] = result
            last = result
    return last


def _sent_and_answered(pgconn: Any, statements: int) -> Generator[Any, Any, list[Any]]:
    """Flush what was sent in pipeline mode, then the last result of each statement (the pipeline's sync read)."""
    yield from generators.send(pgconn)
    answers: list[Any] = []
    while True:
        results = yield from generators.fetch_many(pgconn)
        if results and results[-1].status == pq.ExecStatus.PIPELINE_SYNC:
            break
        if results:
            answers.append(results[-1])
    if len(answers) != statements:
        raise RuntimeError(f"{len(answers)} results for {statements} statements")
    return answers


class PendingFirstCursor(psycopg.Cursor[Any]):
    """psycopg's cursor, sending the connection's deferred statements before its own: any statement of the
    transaction (the ORM's, a COPY) comes after them, as written."""

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        send_pending(self.connection)
        return super().execute(*args, **kwargs)

    def executemany(self, *args: Any, **kwargs: Any) -> Any:
        send_pending(self.connection)
        return super().executemany(*args, **kwargs)

    def copy(self, *args: Any, **kwargs: Any) -> Any:
        send_pending(self.connection)
        return super().copy(*args, **kwargs)

    def stream(self, *args: Any, **kwargs: Any) -> Any:
        send_pending(self.connection)
        return super().stream(*args, **kwargs)


class PendingFirstServerCursor(psycopg.ServerCursor[Any]):
    """The same for server-side cursors (results streamed in batches)."""

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        send_pending(self.connection)
        return super().execute(*args, **kwargs)


def _leave_pipeline(connection: Any) -> None:
    try:
        connection.pgconn.exit_pipeline_mode()
    except Exception:  # results left unread: the connection is not usable any more
        connection.close()
        raise


_ATTRIBUTES: dict[type, tuple[Any, tuple[str, ...]]] = {}


def plain(model: type[M], row: Sequence[Any]) -> M:
    """A row of every column of the model's table, in the table's order (`select(table)`, `returning(*table.c)`),
    as an object of the model outside any session: for rows a hot path only reads. Made as the ORM makes a
    loaded row's object (its attributes set at once), not through the constructor, which sets them one by one
    with their events (ten times the cost)."""
    known = _ATTRIBUTES.get(model)
    if known is None:  # attribute names, which may differ from the columns' (items.metadata is Item.meta)
        mapper = inspect(model)
        known = _ATTRIBUTES[model] = (mapper.class_manager, tuple(
            mapper.get_property_by_column(column).key for column in mapper.local_table.columns))
    manager, names = known
    obj: M = manager.new_instance()
    obj.__dict__.update(zip(names, row, strict=True))
    return obj
