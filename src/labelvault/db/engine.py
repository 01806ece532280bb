"""Engine and session factory for SQLite (WAL, embedded default) and PostgreSQL (production)."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import logging
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from labelvault.db import direct

log = logging.getLogger(__name__)


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def build_engine(url: str, *, pool_size: int = 10) -> Engine:
    """Create the engine; SQLite gets WAL, foreign keys and a busy timeout on every connection."""
    if is_sqlite(url):
        engine = create_engine(
            url,
            json_serializer=_json_dumps,
            json_deserializer=orjson.loads,
            connect_args={"check_same_thread": False, "timeout": 30},
        )
        # Let SQLAlchemy emit BEGIN itself so BEGIN IMMEDIATE can be chosen per transaction.
        database = make_url(url).database or ""
        on_disk = database not in ("", ":memory:") and not database.startswith("file:")
        checkpointer = _Checkpointer(Path(database)) if on_disk else None
        writers = _SqliteWriters(Path(f"{database}-writer") if on_disk else None, checkpointer)
        _WRITERS[engine.pool] = writers
        event.listen(engine, "connect", functools.partial(_sqlite_on_connect, checkpointer=checkpointer))
        event.listen(engine, "begin", writers.begin)
        event.listen(engine, "commit", writers.commit)
        event.listen(engine, "rollback", writers.rollback)
        event.listen(engine.pool, "checkin", writers.checkin)
        return engine
    engine = create_engine(
        url,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
        pool_size=pool_size,
        max_overflow=pool_size * 2,
        # The connection used last is handed out first: the few the labeling loop keeps busy stay warm (their
        # statements prepared and planned, the server's caches filled; see `ops.warmup`), and the rest idle.
        pool_use_lifo=True,
        # The hot paths' statements are prepared by `db.direct` itself. psycopg's own preparing is off: at every
        # rollback it deallocates all prepared statements of the connection, theirs too.
        connect_args={"prepare_threshold": None},
    )
    event.listen(engine.pool, "connect", _postgresql_on_connect)
    event.listen(engine.pool, "checkin", _note_checkin)
    event.listen(engine.pool, "checkout", _ping_if_idle)
    # Deferred statements (`Direct.later`) go with the COMMIT, in its round trip; a rollback forgets them.
    event.listen(engine, "commit", _send_pending_with_commit)
    event.listen(engine, "rollback", _drop_pending)
    event.listen(engine, "rollback_savepoint", _drop_read_ahead)
    event.listen(engine.pool, "reset", lambda dbapi_connection, *_: direct.drop_pending(dbapi_connection))
    return engine


def _send_pending_with_commit(connection: Any) -> None:
    if not connection.invalidated:
        direct.send_pending(connection.connection.dbapi_connection, commit=True)


def _drop_pending(connection: Any) -> None:
    if not connection.invalidated:  # (a lost connection takes its transaction with it)
        direct.drop_pending(connection.connection.dbapi_connection)


def _drop_read_ahead(connection: Any, *_: Any) -> None:
    if not connection.invalidated:  # reads sent ahead may have seen what the savepoint's rollback undid
        direct.drop_read_ahead(connection.connection.dbapi_connection)


def _postgresql_on_connect(dbapi_connection: Any, _record: Any) -> None:
    """Every statement of a transaction sends the statements deferred before it first (see `db.direct`)."""
    dbapi_connection.cursor_factory = direct.PendingFirstCursor
    dbapi_connection.server_cursor_factory = direct.PendingFirstServerCursor


# A pooled connection idle for longer than this is pinged before use (the server may have closed it, or restarted);
# one in steady use is not: a ping on every checkout was a round trip more per request.
IDLE_PING_SECONDS = 5.0
_CHECKED_IN = "labelvault_checked_in"


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    if record is not None:
        record.info[_CHECKED_IN] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Ping a connection that sat idle in the pool; a dead one is replaced (the pool retries the checkout)."""
    since = record.info.get(_CHECKED_IN)
    if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
        return  # new, or used a moment ago
    try:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
        dbapi_connection.rollback()
    except Exception as exc:  # any failure: the connection is not usable
        raise DisconnectionError(f"pooled connection lost: {exc}") from exc


def _sqlite_on_connect(dbapi_connection: Any, _record: Any, *, checkpointer: _Checkpointer | None) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA temp_store=MEMORY")
    if checkpointer is not None:
        cursor.execute("PRAGMA wal_autocheckpoint=0")  # the checkpointer's thread does it, outside the write lock
    cursor.close()


class _Checkpointer:
    """Copies what the write-ahead log holds back into the database file, on a thread of its own.

    SQLite's own automatic checkpoint runs inside the COMMIT that takes the log past 1,000 pages, in the
    committing writer, which still holds the write lock (see `_SqliteWriters`): every other writer waited for
    its page copies and fsyncs, about 20 ms each time on a 2-core machine. Here the writers' connections have
    the automatic checkpoint off. A writer that has committed marks the log as grown; every
    `CHECKPOINT_SECONDS` the thread checkpoints what was marked (PASSIVE: it blocks no reader and no writer,
    and copies what no reader still needs) on a connection it opens for the purpose. After
    `CHECKPOINTER_IDLE_SECONDS` with nothing to do the thread ends; the next commit starts another. What the
    log holds is durable either way: a checkpoint only moves it.

    A log that is never wholly copied at the moment a writer begins is never started again from its beginning:
    under steady writes it grew by gigabytes an hour (so it did with SQLite's own checkpoint too). So once the
    log file is over `LOG_RESTART_BYTES`, right after a PASSIVE checkpoint has copied nearly all of it, the
    thread takes the write lock for a moment and truncates the log (a TRUNCATE checkpoint: the few pages
    written meanwhile are copied, the readers of older pages are waited for, up to `RESTART_WAIT_SECONDS`)."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self.guard = threading.Lock()
        self.grown = False
        self.thread: threading.Thread | None = None
        self.writers: _SqliteWriters | None = None

    def committed(self) -> None:
        with self.guard:
            self.grown = True
            if self.thread is None or not self.thread.is_alive():  # (in a forked process, the parent's is not)
                self.thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
                self.thread.start()

    def _run(self) -> None:
        idle_since = time.monotonic()
        while True:
            time.sleep(CHECKPOINT_SECONDS)
            with self.guard:
                grown, self.grown = self.grown, False
                if not grown and time.monotonic() - idle_since >= CHECKPOINTER_IDLE_SECONDS:
                    self.thread = None  # (under the guard: a commit after this starts a new thread)
                    return
            if grown:
                self.checkpoint()
                if self.writers is not None and self._log_bytes() > LOG_RESTART_BYTES:
                    try:
                        with self.writers.turn():
                            self.checkpoint("TRUNCATE", busy_seconds=RESTART_WAIT_SECONDS)
                    except TimeoutError as exc:  # (writers busy for that long: the next round tries again)
                        log.warning("SQLite log of %s not truncated: %s", self.database, exc)
                idle_since = time.monotonic()

    def _log_bytes(self) -> int:
        try:
            return os.stat(f"{self.database}-wal").st_size
        except OSError:
            return 0

    def checkpoint(self, mode: str = "PASSIVE", *, busy_seconds: float = 0.0) -> None:
        try:
            # (read-write, never create: a database file removed meanwhile is not made anew, empty)
            connection = sqlite3.connect(f"{self.database.absolute().as_uri()}?mode=rw", uri=True,
                                         timeout=busy_seconds)
        except sqlite3.Error as exc:
            log.warning("SQLite checkpoint of %s: cannot open the database: %s", self.database, exc)
            return
        try:
            connection.execute(f"PRAGMA wal_checkpoint({mode})").fetchall()
        except sqlite3.Error as exc:  # another process's checkpoint running, say: the next one catches up
            log.debug("SQLite checkpoint of %s skipped: %s", self.database, exc)
        finally:
            connection.close()


CHECKPOINT_SECONDS = 0.5
CHECKPOINTER_IDLE_SECONDS = 30.0
LOG_RESTART_BYTES = 64 * 1024 * 1024
RESTART_WAIT_SECONDS = 1.0


class _SqliteWriters:
    """Begins SQLite transactions, write transactions IMMEDIATE and one at a time.

    A deferred transaction that reads and then writes fails at once (SQLITE_BUSY_SNAPSHOT, no busy wait)
    when another writer committed in between, so writers take the write lock up front. SQLite's busy
    handler waits by polling with sleeps of up to 100 ms: under many concurrent writers the lock sits
    idle between them and an unlucky writer waits past the busy timeout ("database is locked"). Writers
    therefore queue: those of one process on a mutex, then the processes on an exclusive lock of a file
    beside the database (`flock`, which wakes the next waiter as soon as it is released and is released by
    the kernel if a process dies), so each starts as soon as the previous one is done. The busy timeout
    still arbitrates with any other program writing to the database.
    """

    def __init__(self, lock_path: Path | None, checkpointer: _Checkpointer | None = None) -> None:
        self.lock = threading.Lock()
        self.lock_path = lock_path
        self.lock_file: int | None = None
        self.checkpointer = checkpointer
        if checkpointer is not None:
            checkpointer.writers = self

    def begin(self, connection: Any) -> None:
        immediate = connection.get_execution_options().get(WRITE_OPTION, False)
        if immediate:
            self._queue(connection)
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
        except BaseException:
            self.end(connection)
            raise

    def _queue(self, connection: Any) -> None:
        """Wait for this connection's turn to write (see the class)."""
        if self.lock.acquire(timeout=WRITE_QUEUE_SECONDS):
            connection.info[WRITE_OPTION] = True
            try:
                self._lock_across_processes()
            except BaseException:
                self.end(connection)
                raise

    def upgrade(self, connection: Any) -> None:
        """End the connection's read transaction and begin a write transaction in its place, on the same
        connection and within the same SQLAlchemy transaction (whose commit or rollback then ends it)."""
        if connection.info.get(WRITE_OPTION) or connection.get_execution_options().get(WRITE_OPTION, False):
            return  # writing already (begun as a write transaction, or upgraded before)
        cursor = connection.connection.dbapi_connection.cursor()
        try:
            # The read snapshot ends before the wait for the lock: a waiting writer keeps no reader's hold on the
            # log, which the checkpointer's truncation would otherwise wait for while holding that lock.
            cursor.execute("COMMIT")
            try:
                self._queue(connection)
                cursor.execute("BEGIN IMMEDIATE")
            except BaseException:
                self.end(connection)
                cursor.execute("BEGIN")  # (a transaction again, for SQLAlchemy's rollback to end)
                raise
        finally:
            cursor.close()

    @contextmanager
    def turn(self) -> Iterator[None]:
        """The write lock for the caller itself, outside any connection's transaction (queued as writers are)."""
        if not self.lock.acquire(timeout=WRITE_QUEUE_SECONDS):
            raise TimeoutError("the SQLite write lock was not free within WRITE_QUEUE_SECONDS")
        try:
            self._lock_across_processes()
        except BaseException:
            self.lock.release()
            raise
        try:
            yield
        finally:
            self._release()

    def _lock_across_processes(self) -> None:
        if self.lock_path is None:
            return
        if self.lock_file is None:
            self.lock_file = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(self.lock_file, fcntl.LOCK_EX)

    def commit(self, connection: Any) -> None:
        """SQLAlchemy's commit event, which comes before its COMMIT: a writer commits here, so that the next one
        is let in only once this one's COMMIT is done (else its BEGIN IMMEDIATE finds the database locked and
        SQLite's busy handler sleeps at least a millisecond). SQLAlchemy's own COMMIT then has nothing to do."""
        if connection.info.get(WRITE_OPTION):
            try:
                connection.connection.dbapi_connection.commit()
            except Exception:  # SQLAlchemy's COMMIT meets the error again and raises it; its rollback ends the turn
                return
            if self.end(connection) and self.checkpointer is not None:
                self.checkpointer.committed()
            return
        self.end(connection)

    def rollback(self, connection: Any) -> None:
        """As `commit`: the write lock is given back once the rollback is done."""
        if connection.info.get(WRITE_OPTION):
            with contextlib.suppress(Exception):  # (SQLAlchemy's own rollback follows)
                connection.connection.dbapi_connection.rollback()
        self.end(connection)

    def end(self, connection: Any) -> bool:
        """Give the write lock back if this connection holds it; whether it did."""
        if connection.info.pop(WRITE_OPTION, False):
            self._release()
            return True
        return False

    def checkin(self, _dbapi_connection: Any, record: Any) -> None:
        # A connection that went back to the pool without a commit or rollback event.
        if record is not None and record.info.pop(WRITE_OPTION, False):
            self._release()

    def _release(self) -> None:
        if self.lock_file is not None:
            fcntl.flock(self.lock_file, fcntl.LOCK_UN)
        self.lock.release()


WRITE_OPTION = "labelvault_write"
WRITE_QUEUE_SECONDS = 30.0


def begin_write(session: Session) -> None:
    """Start the session's transaction as a write transaction (BEGIN IMMEDIATE on SQLite, a no-op elsewhere).

    Call before the first statement of the transaction.
    """
    session.connection(execution_options={WRITE_OPTION: True})


_WRITERS: weakref.WeakKeyDictionary[Any, _SqliteWriters] = weakref.WeakKeyDictionary()  # by SQLite engines' pools


def start_writing(session: Session) -> None:
    """From here on the session's transaction writes. On SQLite, which writes one transaction at a time, a
    session that has only read so far ends its read transaction and begins a write transaction (BEGIN
    IMMEDIATE, queued as every writer is) on the same connection: the write lock is held for the writes only.
    Elsewhere (PostgreSQL locks rows, not the database) the one transaction goes on.

    What was read before stays as read: a change committed in between applies from the next request, as it
    would to a request that had come a moment earlier."""
    connection = session.connection()
    writers = _WRITERS.get(connection.engine.pool)
    if writers is not None:
        writers.upgrade(connection)


@functools.cache
def _writing(engine: Engine) -> Engine:
    return engine.execution_options(**{WRITE_OPTION: True})


def write_session(factory: sessionmaker[Session]) -> Session:
    """A session whose transaction, once its first statement runs, is a write transaction (as `begin_write`,
    but without touching the database yet: nothing blocks until the session is used)."""
    return factory(bind=_writing(factory.kw["bind"]))


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False, autoflush=False)


@contextmanager
def transaction(factory: sessionmaker[Session], *, write: bool = True) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on error."""
    session = factory()
    if write:
        begin_write(session)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
