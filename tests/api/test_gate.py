"""The labeling loop's gate on SQLite: the credential check and the reads come before the write lock."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from labelvault.api.context import AppContext
from labelvault.db.engine import transaction
from labelvault.testing import TEXT_SCHEMA, Actor, api_project

HOLD_SECONDS = 20.0  # the longest the lock is held: a request that waits for it is answered only afterwards


class HeldWriteLock:
    """Another writer's open write transaction, held until `release` (or HOLD_SECONDS)."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory
        self.held, self.released = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self) -> None:
        with transaction(self.factory) as session:
            session.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: the write lock is taken
            self.held.set()
            self.released.wait(HOLD_SECONDS)
            self.held.clear()

    def __enter__(self) -> HeldWriteLock:
        self.thread.start()
        assert self.held.wait(10)
        return self

    def release(self) -> None:
        self.released.set()

    def __exit__(self, *_: object) -> None:
        self.release()
        self.thread.join()


@pytest.fixture
def sqlite_only(db_kind: str) -> Iterator[None]:
    if db_kind != "sqlite":
        pytest.skip("SQLite's one write lock; PostgreSQL locks rows")
    yield


def test_refusals_come_before_the_write_lock(sqlite_only: None, client: TestClient, owner: Actor,
                                             ctx: AppContext, factory: sessionmaker[Session]) -> None:
    project_id = api_project(client, owner, TEXT_SCHEMA, [{"data": {"text": "one"}}], ctx.runner)
    missing = "0190a0a0-0000-7000-8000-000000000000"
    with HeldWriteLock(factory) as lock:
        wrong_token = client.post(f"/api/v1/projects/{project_id}/next",
                                  headers={"authorization": "Bearer lv_wrong"})
        unknown_project = client.post(f"/api/v1/projects/{missing}/next", headers=owner.headers)
        bad_answer = client.post(f"/api/v1/items/{missing}/annotations", headers=owner.headers,
                                 json={"answers": {"sentiment": "positive"}})
        assert lock.held.is_set()  # answered while the other writer still held the lock
    assert wrong_token.status_code == 401
    assert unknown_project.status_code == 404
    assert bad_answer.status_code == 404


def test_the_claim_waits_for_the_write_lock_and_then_succeeds(sqlite_only: None, client: TestClient, owner: Actor,
                                                               ctx: AppContext,
                                                               factory: sessionmaker[Session]) -> None:
    project_id = api_project(client, owner, TEXT_SCHEMA, [{"data": {"text": "one"}}], ctx.runner)
    with HeldWriteLock(factory) as lock, ThreadPoolExecutor(1) as pool:
        pending = pool.submit(client.post, f"/api/v1/projects/{project_id}/next", headers=owner.headers)
        with pytest.raises(TimeoutError):
            pending.result(timeout=1.0)  # the claim writes: it waits for the other writer
        lock.release()
        claimed = pending.result(timeout=HOLD_SECONDS)
    assert claimed.status_code == 200
    assert claimed.json()["item"]["data"] == {"text": "one"}
