"""The start-up rehearsal of the labeling loop (`ops.warmup`): it runs next item and submit for real, on as many
connections as the loop has threads, and keeps nothing."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from tests.assignments.test_distribution_api import _next, _project

from labelvault.api.context import AppContext
from labelvault.app import create_app
from labelvault.config import Settings
from labelvault.db.models import metadata
from labelvault.items.models import Item
from labelvault.ops.warmup import CYCLES, rehearse, warm_up


def _rows(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {table.name: connection.scalar(select(func.count()).select_from(table)) or 0
                for table in metadata.sorted_tables}


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def warm_up_log() -> _Records:
    handler = _Records()
    logger = logging.getLogger("labelvault.warmup")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)  # (whatever level an app built earlier in this process configured)
    yield handler  # type: ignore[misc]
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_a_rehearsal_claims_and_submits_and_keeps_nothing(client, ctx: AppContext, settings: Settings,
                                                          engine: Engine, owner) -> None:
    project = _project(client, ctx, owner, n=3)
    before = _rows(engine)

    item_ids = rehearse(create_app(settings, context=ctx))

    # Next item answered a new item each cycle, and its submission 201 (else `rehearse` raises).
    assert len(set(item_ids)) == CYCLES
    assert _rows(engine) == before  # no organization, person, project, item, lease, annotation, job or entry
    with ctx.factory() as session:
        assert [session.get(Item, item_id) for item_id in item_ids] == [None] * CYCLES
        assert [item.state for item in session.scalars(select(Item))] == ["new"] * 3
    # The organization's own queue is as it was: its first item is still the first one handed out.
    assert _next(client, owner, project).json()["item"]["external_id"] == "e2"  # (the one with priority)


def test_a_server_process_rehearses_on_each_loop_thread_before_it_serves(ctx: AppContext, settings: Settings,
                                                                         engine: Engine,
                                                                         warm_up_log: _Records) -> None:
    warmed = settings.model_copy(update={"warm_up": True, "loop_threads": 3})
    before = _rows(engine)
    with TestClient(create_app(warmed, context=ctx)) as started:
        assert started.get("/readyz").status_code == 200
    done = [r for r in warm_up_log.records if r.getMessage() == "labeling loop warmed up"]
    assert [getattr(r, "connections", None) for r in done] == [3]
    assert _rows(engine) == before


def test_a_failed_rehearsal_is_logged_and_the_process_serves_all_the_same(tmp_path: Path,
                                                                          warm_up_log: _Records) -> None:
    # A database without any table yet: every rehearsal fails at its first statement.
    empty = Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'empty.db'}",
                     run_jobs=False, warm_up=False)
    app = create_app(empty)

    assert asyncio.run(warm_up(app, 2)) == 0
    assert [r.levelno for r in warm_up_log.records] == [logging.WARNING]
    assert warm_up_log.records[0].exc_info is not None
