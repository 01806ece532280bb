"""A server killed (SIGKILL) in the middle of a storm of submits: every acknowledged annotation is stored,
no item exceeds its overlap, and retrying the requests that were in flight with their idempotency keys
creates nothing twice."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
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
from labelvault.testing import TEXT_SCHEMA, ServerProcess, fresh_database, make_actor, start_server

pytestmark = pytest.mark.slow

ANNOTATORS = 16
ITEMS = 300
OVERLAP = 2
KILL_AFTER = 150  # acknowledged submits before the kill
POSITIVE = {"sentiment": "positive"}


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants (uvicorn with several workers runs them as child processes)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def is_gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")


def signal_process(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # exited meanwhile
        os.kill(pid, signum)


def kill_server(server: ServerProcess) -> None:
    """SIGKILL the server and every worker: frozen first, so that no worker is restarted in between."""
    stopped: list[int] = []
    for _ in range(3):
        for pid in process_tree(server.process.pid):
            if pid not in stopped:
                signal_process(pid, signal.SIGSTOP)
                stopped.append(pid)
    for pid in stopped:
        signal_process(pid, signal.SIGKILL)
    server.process.wait(10)
    deadline = time.monotonic() + 10
    while not all(is_gone(pid) for pid in stopped):
        assert time.monotonic() < deadline, "a server process survived SIGKILL"
        time.sleep(0.05)


class Storm:
    """Annotators doing next + submit (each submit with its own Idempotency-Key) until stopped."""

    def __init__(self, url: str, project_id: str) -> None:
        self.url, self.project_id = url, project_id
        self.lock = threading.Lock()
        self.acked: dict[str, tuple[str, str, str]] = {}  # key -> (token, item id, annotation id)
        self.in_flight: dict[str, tuple[str, str]] = {}  # key -> (token, item id): sent, never answered
        self.unexpected: list[tuple[int, str]] = []
        self.finished = 0

    def annotator(self, token: str) -> None:
        with httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
            while True:
                try:
                    got = http.post(f"/api/v1/projects/{self.project_id}/next")
                except httpx.TransportError:
                    return  # the server is gone
                if got.status_code == 204:
                    with self.lock:
                        self.finished += 1
                    return
                if got.status_code != 200:
                    with self.lock:
                        self.unexpected.append((got.status_code, got.text[:300]))
                    continue
                item_id, key = got.json()["item"]["id"], str(uuid.uuid4())
                with self.lock:
                    self.in_flight[key] = (token, item_id)
                try:
                    sent = http.post(f"/api/v1/items/{item_id}/annotations", json={"answers": POSITIVE},
                                     headers={"Idempotency-Key": key})
                except httpx.TransportError:
                    return
                with self.lock:
                    if sent.status_code == 201:
                        del self.in_flight[key]
                        self.acked[key] = (token, item_id, sent.json()["id"])
                    else:
                        self.unexpected.append((sent.status_code, sent.text[:300]))


def submit(http: httpx.Client, token: str, item_id: str, key: str) -> httpx.Response:
    return http.post(f"/api/v1/items/{item_id}/annotations", json={"answers": POSITIVE},
                     headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key})


def stored(engine: Engine, project_id: str) -> dict[str, Any]:
    """What the database holds: annotations by id, per-item counters and lease rows."""
    with engine.connect() as conn:
        annotations = {row.id: row for row in conn.execute(
            select(Annotation.id, Annotation.item_id, Annotation.author_id, Annotation.status)
            .where(Annotation.project_id == project_id))}
        items = conn.execute(select(Item.id, Item.annotation_count, Item.leased, Item.state)
                             .where(Item.project_id == project_id)).all()
        leases = dict(conn.execute(select(Lease.item_id, func.count()).where(Lease.project_id == project_id)
                                   .group_by(Lease.item_id)).all())
    return {"annotations": annotations, "items": items, "leases": leases}


def assert_consistent(state: dict[str, Any]) -> None:
    per_item: dict[str, int] = {}
    pairs = set()
    for row in state["annotations"].values():
        assert row.status == "submitted"
        per_item[row.item_id] = per_item.get(row.item_id, 0) + 1
        pairs.add((row.item_id, row.author_id))
    assert len(pairs) == len(state["annotations"]), "someone annotated an item twice"
    for item in state["items"]:
        assert per_item.get(item.id, 0) <= OVERLAP, "an item has more annotations than its overlap"
        assert item.annotation_count == per_item.get(item.id, 0), "annotation_count drifted"
        assert item.leased == state["leases"].get(item.id, 0), "leased drifted from the lease rows"
        assert item.annotation_count + item.leased <= OVERLAP


def test_sigkill_during_submits_loses_no_acknowledged_annotation(db_kind, pg_admin_url, tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    workers = 2 if db_kind == "postgresql" else 1
    started = time.monotonic()
    with fresh_database(db_kind, tmp_path, pg_admin_url) as url:
        upgrade(url)
        engine = build_engine(url)
        servers: list[ServerProcess] = []
        try:
            factory = session_factory(engine)
            owner = make_actor(factory, Role.owner)
            with ThreadPoolExecutor(4) as pool:  # password hashing dominates; it releases the GIL
                tokens = list(pool.map(lambda _: make_actor(factory, Role.annotator,
                                                            organization_id=owner.organization_id).token,
                                       range(ANNOTATORS)))
            servers.append(start_server(data_dir, url, workers=workers, timeout=120))
            first = servers[0]
            with Client(first.url, owner.token) as client:
                project_id = client.create_project("Crash", TEXT_SCHEMA, default_overlap=OVERLAP)["id"]
                source = tmp_path / "items.jsonl"
                source.write_bytes(b"".join(orjson.dumps({"external_id": f"e{i:04d}", "data": {"text": f"t {i}"}})
                                            + b"\n" for i in range(ITEMS)))
                assert client.import_file(project_id, source)["state"] == "succeeded"

            storm = Storm(first.url, project_id)
            threads = [threading.Thread(target=storm.annotator, args=(token,)) for token in tokens]
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 120
            while len(storm.acked) < KILL_AFTER:
                assert time.monotonic() < deadline, f"only {len(storm.acked)} submits acknowledged in 120 s"
                assert storm.finished == 0, "the queue ran dry before the kill"
                time.sleep(0.01)
            kill_server(first)
            killed_at = time.monotonic()
            for thread in threads:
                thread.join(60)
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"{first.url}/readyz", timeout=2)
            assert storm.unexpected == []
            assert storm.finished == 0 and storm.in_flight, "nothing was in flight at the kill"

            # Every acknowledged submit is stored as it was answered; nothing exceeds the overlap.
            after_kill = stored(engine, project_id)
            assert_consistent(after_kill)
            for _, item_id, annotation_id in storm.acked.values():
                assert after_kill["annotations"][annotation_id].item_id == item_id

            second = start_server(data_dir, url, workers=workers, timeout=120)
            servers.append(second)
            restarted_at = time.monotonic()
            # Requests in flight at the kill, retried with their keys: stored once, whether they had committed.
            created = 0
            with httpx.Client(base_url=second.url, timeout=30) as http:
                for key, (token, item_id) in storm.in_flight.items():
                    retried = submit(http, token, item_id, key)
                    assert retried.status_code in (200, 201), retried.text
                    if retried.status_code == 200:
                        assert retried.json()["id"] in after_kill["annotations"], "replayed what was never stored"
                    created += retried.status_code == 201
                for key, (token, item_id, annotation_id) in storm.acked.items():
                    again = submit(http, token, item_id, key)
                    assert again.status_code == 200 and again.json()["id"] == annotation_id
                    assert again.headers["Idempotent-Replayed"] == "true"
            after_retry = stored(engine, project_id)
            assert_consistent(after_retry)
            assert len(after_retry["annotations"]) == len(after_kill["annotations"]) + created

            # The same people finish the project on the new server: their leases survived the crash.
            retried_at = time.monotonic()
            rest = Storm(second.url, project_id)
            threads = [threading.Thread(target=rest.annotator, args=(token,)) for token in tokens]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(180)
            assert rest.unexpected == [] and rest.finished == ANNOTATORS
            done = stored(engine, project_id)
            assert_consistent(done)
            assert len(done["annotations"]) == ITEMS * OVERLAP and done["leases"] == {}
            assert {item.state for item in done["items"]} == {"completed"}
            print(f"{db_kind}, {workers} worker(s): {len(storm.acked)} acknowledged and {len(storm.in_flight)} in "
                  f"flight at the kill ({created} stored only by the retry); killed after "
                  f"{killed_at - started:.1f} s, restarted {restarted_at - killed_at:.1f} s, retries "
                  f"{retried_at - restarted_at:.1f} s, the rest {time.monotonic() - retried_at:.1f} s")
        finally:
            for server in servers:
                if server.process.poll() is None:
                    server.stop()
            engine.dispose()
