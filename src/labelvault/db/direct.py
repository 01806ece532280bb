"""Core statements of the hot paths, run straight on the session's driver connection.

SQLAlchemy's execution of a Core statement (cache lookup, execution context, result set-up) costs several times
a short indexed statement itself: on the labeling loop, which runs a dozen such statements per annotation, it
was the largest share of the server's CPU. A `Direct` statement is compiled once per dialect; each call
converts its parameters and results by the columns' types exactly as SQLAlchemy does (the same bind and result
processors), runs it on the DBAPI cursor of the session's connection, inside the session's transaction, and
returns plain tuples.

Only for statements without expanding (IN-list) or literal-execute parameters, whose SQL is fixed at compile
time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Dialect, inspect
from sqlalchemy.exc import DBAPIError
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
    results: tuple[Processor, ...] | None = None  # known from the first result's description

    def result_processors(self, description: Sequence[Any]) -> tuple[Processor, ...]:
        if self.results is None:  # (a numeric type's processor depends on the type the server sent)
            self.results = tuple(
                entry.type._cached_result_processor(self.dialect, column[1])
                for entry, column in zip(self.compiled._result_columns, description, strict=True))
        return self.results

    def parameters(self, given: Mapping[str, Any]) -> Any:
        values = self.compiled.construct_params(given)  # the statement's own literals too
        for name, process in self.bind.items():
            values[name] = process(values[name])  # None too, as SQLAlchemy does (JSON's None is 'null')
        if self.positions is None:
            return values
        return tuple(values[name] for name in self.positions)

    def convert(self, rows: list[Any], description: Sequence[Any]) -> list[tuple[Any, ...]]:
        processors = self.result_processors(description)
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
        self._plans[id(dialect)] = (dialect, plan)
        return plan

    def _run(self, session: Session, params: Mapping[str, Any]) -> tuple[_Plan, Any]:
        connection = session.connection()  # begins the session's transaction (and its events) if need be
        dialect = connection.dialect
        plan = self._plan(dialect)
        statement, values = plan.sql, plan.parameters(params)
        fairy = connection.connection
        dbapi_connection = fairy.dbapi_connection
        assert dbapi_connection is not None
        cursor = dbapi_connection.cursor()
        # The engine's statement events fire as for any statement (listeners, logging, counting in tests).
        events = connection._has_events or connection.engine._has_events
        try:
            if events:
                for listener in connection.dispatch.before_cursor_execute:
                    statement, values = listener(connection, cursor, statement, values, None, False)
            cursor.execute(statement, values)
            if events:
                connection.dispatch.after_cursor_execute(connection, cursor, statement, values, None, False)
        except Exception as exc:
            cursor.close()
            if not isinstance(exc, dialect.loaded_dbapi.Error):
                raise
            # As SQLAlchemy's own execution does: on a lost connection every connection of the pool opened
            # before it is replaced (the server restarted), and the driver's error is raised as SQLAlchemy's
            # (IntegrityError, OperationalError, ...), which callers catch.
            lost = dialect.is_disconnect(exc, dbapi_connection, cursor)
            if lost:
                connection.engine.pool._invalidate(fairy, exc)
                connection.invalidate(exc)
            raise DBAPIError.instance(statement, values, exc, dialect.loaded_dbapi.Error, dialect=dialect,
                                      connection_invalidated=lost) from exc
        except BaseException:
            cursor.close()
            raise
        return plan, cursor

    def rows(self, session: Session, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Every row, converted by the columns' types."""
        plan, cursor = self._run(session, params)
        try:
            if plan.results is not None:  # (the driver builds its description anew at each access)
                return plan.convert(cursor.fetchall(), ())
            description = cursor.description
            return plan.convert(cursor.fetchall(), description) if description else []
        finally:
            cursor.close()

    def first(self, session: Session, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        rows = self.rows(session, params)
        return rows[0] if rows else None

    def run(self, session: Session, params: Mapping[str, Any]) -> int:
        """Run a statement that returns no rows; how many rows it changed."""
        _, cursor = self._run(session, params)
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()


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
