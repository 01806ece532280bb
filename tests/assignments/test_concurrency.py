"""32 annotators at once against a real server (several workers on PostgreSQL): every item is annotated by
exactly its overlap, nobody twice, no lease is left behind and no request fails."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import Engine, func, select

from labelvault.accounts.models import Role
from labelvault.annotations.models import Annotation
from labelvault.assignments.models import Lease
from labelvault.db.engine import build_engine, session_factory
from labelvault.db.migrate import upgrade
from labelvault.items.models import Item
from labelvault.sdk import Client
from labelvault.testing import TEXT_SCHEMA, fresh_database, make_actor, start_server

pytestmark = pytest.mark.slow

ANNOTATORS = 32
POSITIVE = {"sentiment": "positive"}
STORM_TIMEOUT = 120


def make_project(client: Client, tmp_path: Path, name: str, items: int, overlap: int) -> str:
    project_id: str = client.create_project(name, TEXT_SCHEMA, default_overlap=overlap)["id"]
    source = tmp_path / f"{name}.jsonl"
    source.write_bytes(b"".join(orjson.dumps({"external_id": f"e{i:05d}", "data": {"text": f"text {i}"}}) + b"\n"
                                for i in range(items)))
    job = client.import_file(project_id, source)
    assert job["state"] == "succeeded" and job["stats"]["imported"] == items, job
    return project_id


class Storm:
    """Each annotator asks for the next item and submits it, until the queue answers 204."""

    def __init__(self, url: str, project_id: str) -> None:
        self.url, self.project_id = url, project_id
        self.lock = threading.Lock()
        self.answers: Counter[tuple[str, int]] = Counter()
        self.unexpected: list[tuple[str, int, str]] = []
        self.deadline = time.monotonic() + STORM_TIMEOUT

    def _call(self, http: httpx.Client, what: str, path: str, **kwargs: Any) -> httpx.Response | None:
        try:
            response = http.post(path, **kwargs)
        except httpx.TransportError as exc:
            with self.lock:
                self.unexpected.append((what, 0, repr(exc)))
            return None
        with self.lock:
            self.answers[(what, response.status_code)] += 1
            if response.status_code not in {"next": (200, 204), "submit": (201,)}[what]:
                self.unexpected.append((what, response.status_code, response.text[:300]))
        return response

    def annotator(self, token: str) -> None:
        with httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
            while time.monotonic() < self.deadline:
                got = self._call(http, "next", f"/api/v1/projects/{self.project_id}/next")
                if got is not None and got.status_code == 204:
                    return
                if got is None or got.status_code != 200:
                    continue
                item_id = got.json()["item"]["id"]
                self._call(http, "submit", f"/api/v1/items/{item_id}/annotations", json={"answers": POSITIVE})

    def run(self, tokens: list[str]) -> float:
        threads = [threading.Thread(target=self.annotator, args=(token,)) for token in tokens]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.monotonic() - started


def assert_queue_drained(engine: Engine, project_id: str, items: int, overlap: int) -> None:
    """Read from the database: exactly `overlap` submitted annotations per item, each by someone else."""
    with engine.connect() as conn:
        per_item = dict(conn.execute(
            select(Annotation.item_id, func.count()).where(Annotation.project_id == project_id,
                                                           Annotation.status == "submitted")
            .group_by(Annotation.item_id)).all())
        total = conn.scalar(select(func.count()).where(Annotation.project_id == project_id))
        pairs = select(Annotation.item_id, Annotation.author_id).where(Annotation.project_id == project_id).distinct()
        distinct_pairs = conn.scalar(select(func.count()).select_from(pairs.subquery()))
        rows = conn.execute(select(Item.id, Item.annotation_count, Item.leased, Item.state)
                            .where(Item.project_id == project_id)).all()
        leases = conn.scalar(select(func.count()).select_from(Lease).where(Lease.project_id == project_id))
    assert len(rows) == items
    assert max(per_item.values()) <= overlap, "an item has more annotations than its overlap"
    assert total == distinct_pairs == items * overlap, "someone annotated an item twice"
    assert {row.id for row in rows} == set(per_item) and set(per_item.values()) == {overlap}
    assert all(row.annotation_count == per_item[row.id] for row in rows), "annotation_count drifted"
    assert {(row.leased, row.state) for row in rows} == {(0, "completed")}
    assert leases == 0


@dataclass
class StormServer:
    url: str
    engine: Engine
    owner_token: str
    tokens: list[str]
    workers: int


@pytest.fixture(scope="module")
def storm_server(db_kind, pg_admin_url, tmp_path_factory) -> Iterator[StormServer]:
    """A server on a fresh database (several workers on PostgreSQL) and 32 annotators, shared by the storms."""
    tmp_path = tmp_path_factory.mktemp("storm")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    workers = 2 if db_kind == "postgresql" else 1
    with fresh_database(db_kind, tmp_path, pg_admin_url) as url:
        upgrade(url)
        engine = build_engine(url)
        server = None
        try:
            factory = session_factory(engine)
            owner = make_actor(factory, Role.owner)
            with ThreadPoolExecutor(4) as pool:  # password hashing dominates; it releases the GIL
                actors = list(pool.map(lambda _: make_actor(factory, Role.annotator,
                                                            organization_id=owner.organization_id),
                                       range(ANNOTATORS)))
            server = start_server(data_dir, url, workers=workers, timeout=120)
            yield StormServer(server.url, engine, owner.token, [actor.token for actor in actors], workers)
        finally:
            if server is not None:
                server.stop()
            engine.dispose()


@pytest.mark.parametrize(("items", "overlap"), [(1000, 1), (300, 2)])
def test_concurrent_annotators_never_exceed_the_overlap(storm_server, db_kind, tmp_path, items, overlap):
    with Client(storm_server.url, storm_server.owner_token) as client:
        project_id = make_project(client, tmp_path, f"storm-{overlap}", items, overlap)
    storm = Storm(storm_server.url, project_id)
    seconds = storm.run(storm_server.tokens)
    print(f"{db_kind}: {items} items x overlap {overlap}, {ANNOTATORS} annotators, "
          f"{storm_server.workers} worker(s): {seconds:.1f} s, {dict(storm.answers)}")
    assert storm.unexpected[:5] == []
    assert time.monotonic() < storm.deadline, "the storm did not finish in time"
    assert storm.answers[("submit", 201)] == items * overlap
    assert storm.answers[("next", 204)] == ANNOTATORS
    assert_queue_drained(storm_server.engine, project_id, items, overlap)
