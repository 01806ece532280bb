"""Pooled PostgreSQL connections: pinged only after sitting idle, and a dead one is replaced, not handed out."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from labelvault.db import engine as engine_module
from labelvault.db.engine import build_engine


@pytest.fixture
def pg_engine(db_kind: str, database_url: str) -> Iterator[Engine]:
    if db_kind != "postgresql":
        pytest.skip("the pool's ping is PostgreSQL's (SQLite has no server to lose)")
    engine = build_engine(database_url, pool_size=1)
    yield engine
    engine.dispose()


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(text("SELECT pg_backend_pid()")))


def _end_pooled_connection(engine: Engine) -> int:
    """End the server process of the pool's one idle connection (from a connection outside the pool); its pid."""
    pid = _backend_pid(engine)
    with psycopg.connect(engine.url.set(drivername="postgresql").render_as_string(hide_password=False),
                         autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))
    return pid


def test_a_connection_lost_while_idle_is_replaced_before_use(pg_engine: Engine,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    lost = _end_pooled_connection(pg_engine)
    monkeypatch.setattr(engine_module, "IDLE_PING_SECONDS", 0.0)
    # The checkout pings, finds the server process gone, and opens a new connection: the request never sees it.
    assert _backend_pid(pg_engine) != lost


def test_a_connection_in_steady_use_is_not_pinged(pg_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_module, "IDLE_PING_SECONDS", 3600.0)
    lost = _end_pooled_connection(pg_engine)
    # Used a moment ago, so handed out without a ping: the loss shows at its first statement...
    with pytest.raises(OperationalError), pg_engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    # ...and the pool drops it: the next request gets a live connection.
    assert _backend_pid(pg_engine) != lost
