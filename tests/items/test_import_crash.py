"""A server killed (SIGKILL) in the middle of an import: every acknowledged batch is whole, and a new
server takes the job over and finishes it without duplicates."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select

from labelvault.db.engine import build_engine, session_factory
from labelvault.db.migrate import upgrade
from labelvault.items.models import Item
from labelvault.jobs.models import Job, JobState
from labelvault.sdk import Client
from labelvault.testing import TEXT_SCHEMA, fresh_database, make_actor, start_server

ITEMS = 60_000
BATCH = 500

pytestmark = pytest.mark.slow


def write_items(path: Path) -> None:
    with path.open("wb") as handle:
        for i in range(ITEMS):
            handle.write(orjson.dumps({"external_id": f"e{i:05d}", "data": {"text": f"item number {i}"}}) + b"\n")


def stored(engine: Any, project_id: str) -> tuple[int, int, list[str]]:
    """(rows, distinct external ids, the highest external ids) of the project, read from the database."""
    with engine.connect() as conn:
        rows, distinct = conn.execute(
            select(func.count(), func.count(func.distinct(Item.external_id))).where(Item.project_id == project_id)
        ).one()
        highest = conn.scalars(select(Item.external_id).where(Item.project_id == project_id)
                               .order_by(Item.external_id.desc()).limit(1)).all()
    return int(rows), int(distinct), list(highest)


def job_row(engine: Any, job_id: str) -> Job:
    with session_factory(engine)() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def test_sigkill_mid_import_keeps_whole_batches_and_a_new_server_finishes(db_kind, pg_admin_url, tmp_path):
    source = tmp_path / "items.jsonl"
    write_items(source)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    server_settings = {"LABELVAULT_IMPORT_BATCH_SIZE": str(BATCH), "LABELVAULT_JOB_STALE_SECONDS": "2",
                       "LABELVAULT_JOB_POLL_SECONDS": "0.2"}
    with fresh_database(db_kind, tmp_path, pg_admin_url) as url:
        upgrade(url)
        engine = build_engine(url)
        servers = []
        try:
            owner = make_actor(session_factory(engine))
            server = start_server(data_dir, url, timeout=90, **server_settings)
            servers.append(server)
            with Client(server.url, owner.token) as client:
                project_id = client.create_project("Crash", TEXT_SCHEMA)["id"]
                job_id = client.start_import(project_id, source)["id"]
                deadline = time.monotonic() + 60
                while True:
                    job = client.job(job_id)
                    assert job["state"] not in ("succeeded", "failed"), "the import ended before the kill"
                    if job["stats"].get("imported", 0) >= 2 * BATCH:
                        break
                    assert time.monotonic() < deadline, f"no batch acknowledged in 60 s: {job}"
                    time.sleep(0.005)
            # `labelvault serve` runs uvicorn inside its own process (one worker): that is the server.
            os.kill(server.process.pid, signal.SIGKILL)
            server.process.wait(10)
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"{server.url}/readyz", timeout=2)

            killed = job_row(engine, job_id)
            assert killed.state == JobState.running
            imported = int(killed.stats["imported"])
            rows, distinct, highest = stored(engine, project_id)
            # Exactly the committed batches: whole batches, each item once, the first lines of the file.
            assert rows == distinct == imported == killed.checkpoint["records"]
            assert 0 < rows < ITEMS and rows % BATCH == 0
            assert highest == [f"e{rows - 1:05d}"]

            second = start_server(data_dir, url, timeout=90, **server_settings)
            servers.append(second)
            with Client(second.url, owner.token) as client:
                finished = client.wait(job_id, poll=0.2, timeout=180)
                assert finished["state"] == "succeeded", finished["error"]
                assert finished["stats"] == {"lines": ITEMS, "imported": ITEMS, "updated": 0, "skipped": 0,
                                             "rejected": 0}
                assert list(client.job_problems(job_id)) == []
                sample = next(client.items(project_id, page_size=1))
                number = int(sample["external_id"][1:])
                assert sample["data"] == {"text": f"item number {number}"}
            assert stored(engine, project_id) == (ITEMS, ITEMS, [f"e{ITEMS - 1:05d}"])
            assert job_row(engine, job_id).attempts == 2
        finally:
            for running in servers:
                running.stop()
            engine.dispose()
