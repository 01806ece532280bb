"""SQLite write transactions queue across server processes on a lock file beside the database, so that
several processes share one database file without "database is locked" errors or busy-wait sleeps."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from labelvault.db.engine import build_engine, session_factory, start_writing, transaction

# Read, then write back one more, in a write transaction: lost updates unless writers take turns.
WORKER = textwrap.dedent("""
    import sys
    from sqlalchemy import text
    from labelvault.db.engine import build_engine, session_factory, transaction
    factory = session_factory(build_engine(sys.argv[1]))
    for _ in range(int(sys.argv[2])):
        with transaction(factory) as session:
            n = session.execute(text("SELECT n FROM counter")).scalar_one()
            session.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})
""")


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'writers.db'}"
    engine = build_engine(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
        connection.execute(text("INSERT INTO counter VALUES (0)"))
    engine.dispose()
    return url


def test_writers_of_several_processes_take_turns(database: str) -> None:
    runs = [subprocess.Popen([sys.executable, "-c", WORKER, database, "300"]) for _ in range(3)]
    assert [run.wait(timeout=120) for run in runs] == [0, 0, 0]
    engine = build_engine(database)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT n FROM counter")).scalar_one() == 900
    engine.dispose()


def test_a_write_transaction_holds_the_lock_file_until_it_ends(database: str) -> None:
    probed = _lock_probe(database)
    factory = session_factory(build_engine(database))

    with transaction(factory) as session:
        session.execute(text("UPDATE counter SET n = n + 1"))
        assert probed() == "held"
    assert probed() == "free"
    with transaction(factory, write=False) as session:  # readers do not queue
        session.execute(text("SELECT n FROM counter")).scalar_one()
        assert probed() == "free"


def _lock_probe(database: str) -> Callable[[], str]:
    probe = textwrap.dedent("""
        import fcntl, os, sys
        fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("held")
        else:
            print("free")
    """)
    lock_file = database.removeprefix("sqlite:///") + "-writer"

    def probed() -> str:
        return subprocess.run([sys.executable, "-c", probe, lock_file], capture_output=True, text=True,
                              check=True, timeout=30).stdout.strip()

    return probed


def test_a_reader_starts_writing_on_the_same_connection(database: str) -> None:
    probed = _lock_probe(database)
    engine = build_engine(database)
    factory = session_factory(engine)
    with factory() as session:
        seen = session.execute(text("SELECT n FROM counter")).scalar_one()
        connection = session.connection().connection.dbapi_connection
        assert probed() == "free"  # reading takes no write lock
        start_writing(session)
        assert session.connection().connection.dbapi_connection is connection
        assert probed() == "held"
        start_writing(session)  # once writing, again is nothing
        session.execute(text("UPDATE counter SET n = :n"), {"n": seen + 1})
        session.commit()
        assert probed() == "free"
        session.execute(text("SELECT n FROM counter")).scalar_one()  # a new transaction reads again
        start_writing(session)
        session.execute(text("UPDATE counter SET n = n + 100"))
        session.rollback()
        assert probed() == "free"
    with engine.connect() as reading:
        assert reading.execute(text("SELECT n FROM counter")).scalar_one() == 1  # the rolled back write is gone
    engine.dispose()


def test_start_writing_is_nothing_outside_sqlite(engine: Engine, factory: sessionmaker[Session]) -> None:
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite's case is above")
    with factory() as session:
        session.execute(text("SELECT 1"))
        transaction_before = session.get_transaction()
        start_writing(session)
        assert session.get_transaction() is transaction_before and session.in_transaction()


def test_start_writing_in_a_write_transaction_keeps_it(database: str) -> None:
    engine = build_engine(database)
    factory = session_factory(engine)
    with pytest.raises(RuntimeError), transaction(factory) as session:
        session.execute(text("UPDATE counter SET n = n + 1"))
        start_writing(session)  # nothing to end: the write above stays in this transaction
        raise RuntimeError("rolled back")
    with engine.connect() as reading:
        assert reading.execute(text("SELECT n FROM counter")).scalar_one() == 0
    engine.dispose()


def test_the_lock_is_given_back_once_the_transaction_has_ended(database: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The next writer must not meet a COMMIT still to come: its BEGIN IMMEDIATE would find the database locked
    and SQLite's busy handler would sleep (a millisecond at least) before trying again."""
    from labelvault.db import engine as engine_module

    engine = build_engine(database)
    writers = engine_module._WRITERS[engine.pool]
    open_at_release: list[bool] = []
    end = writers.end

    def watched(connection) -> bool:  # type: ignore[no-untyped-def]
        if connection.info.get(engine_module.WRITE_OPTION):
            open_at_release.append(connection.connection.dbapi_connection.in_transaction)
        return end(connection)

    monkeypatch.setattr(writers, "end", watched)
    factory = session_factory(engine)
    with transaction(factory) as session:  # a write transaction from its start, committed
        session.execute(text("UPDATE counter SET n = n + 1"))
    with factory() as session:  # a reader that starts writing, committed, then one rolled back
        session.execute(text("SELECT n FROM counter")).scalar_one()
        start_writing(session)
        session.execute(text("UPDATE counter SET n = n + 1"))
        session.commit()
        session.execute(text("SELECT n FROM counter")).scalar_one()
        start_writing(session)
        session.execute(text("UPDATE counter SET n = n + 100"))
        session.rollback()
    assert open_at_release == [False, False, False]
    with engine.connect() as reading:
        assert reading.execute(text("SELECT n FROM counter")).scalar_one() == 2
    engine.dispose()


def test_no_writer_checkpoints_under_the_write_lock_a_thread_does(database: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """SQLite's automatic checkpoint would copy the log into the database inside a writer's COMMIT, while every
    other writer waits for the lock. The writers' connections have it off; the checkpointer's thread copies
    what they committed soon after, and ends when there is nothing to do."""
    from labelvault.db import engine as engine_module

    monkeypatch.setattr(engine_module, "CHECKPOINT_SECONDS", 0.05)
    monkeypatch.setattr(engine_module, "CHECKPOINTER_IDLE_SECONDS", 0.3)
    engine = build_engine(database)
    checkpointer = engine_module._WRITERS[engine.pool].checkpointer
    file = Path(database.removeprefix("sqlite:///"))
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
    factory = session_factory(engine)
    with transaction(factory) as session:
        session.execute(text("CREATE TABLE blobs (b BLOB NOT NULL)"))

    def written_back(size: int) -> bool:  # (fewer pages than SQLite's automatic checkpoint would wait for)
        before = file.stat().st_size
        for _ in range(4):
            with transaction(factory) as session:
                session.execute(text("INSERT INTO blobs VALUES (randomblob(:n))"), {"n": size // 4})
        deadline = time.monotonic() + 10
        while file.stat().st_size < before + size and time.monotonic() < deadline:
            time.sleep(0.02)
        return file.stat().st_size >= before + size

    assert written_back(400_000)
    deadline = time.monotonic() + 10
    while checkpointer.thread is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert checkpointer.thread is None  # idle: ended
    assert written_back(400_000)  # the next commit started another
    with engine.connect() as reading:
        assert reading.execute(text("SELECT count(*) FROM blobs")).scalar_one() == 8
    engine.dispose()


def test_the_checkpointer_never_creates_a_database(tmp_path: Path) -> None:
    from labelvault.db.engine import _Checkpointer

    missing = tmp_path / "gone.db"
    _Checkpointer(missing).checkpoint()  # (logged, not raised)
    assert not missing.exists()


def test_a_long_log_is_truncated_while_writers_keep_writing(database: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """With readers always at work, a log that is never wholly copied when a writer begins is never started
    over: it grew without end under steady writes. Past its limit the checkpointer truncates it, holding the
    write lock for that moment."""
    from labelvault.db import engine as engine_module

    monkeypatch.setattr(engine_module, "CHECKPOINT_SECONDS", 0.05)
    monkeypatch.setattr(engine_module, "LOG_RESTART_BYTES", 300_000)
    engine = build_engine(database)
    factory = session_factory(engine)
    log = Path(database.removeprefix("sqlite:///") + "-wal")
    with transaction(factory) as session:
        session.execute(text("CREATE TABLE blobs (b BLOB NOT NULL)"))
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            with factory() as session:
                session.execute(text("SELECT count(*) FROM blobs")).scalar_one()

    readers = [threading.Thread(target=read) for _ in range(2)]
    for reader in readers:
        reader.start()
    sizes: list[int] = []
    written = 0
    deadline = time.monotonic() + 3
    try:
        while time.monotonic() < deadline:  # a writer that never pauses, reading first as the labeling loop does
            with factory() as session:
                session.execute(text("SELECT count(*) FROM blobs")).scalar_one()
                start_writing(session)
                session.execute(text("INSERT INTO blobs VALUES (randomblob(50000))"))
                session.commit()
            written += 50_000
            sizes.append(log.stat().st_size if log.exists() else 0)
    finally:
        stop.set()
        for reader in readers:
            reader.join()
    assert any(later < earlier for earlier, later in zip(sizes, sizes[1:], strict=False))  # truncated
    assert max(sizes) < written / 2
    with engine.connect() as reading:
        assert reading.execute(text("SELECT count(*) FROM blobs")).scalar_one() == written // 50_000
    engine.dispose()
