"""A server killed (SIGKILL) while answering reads: every answered read is in the ledger, and the chain the
server's sealer built verifies."""

from __future__ import annotations

import signal
import threading
from concurrent.futures import ThreadPoolExecutor

import orjson
import pytest
from sqlalchemy import select

from labelvault.accounts.models import Role
from labelvault.db.engine import transaction
from labelvault.ledger.models import LedgerEntry
from labelvault.ledger.signing import load_or_create_signer
from labelvault.ledger.verify import verify
from labelvault.ledger.writer import Sealer
from labelvault.sdk import Client
from labelvault.testing import TEXT_SCHEMA, make_actor, start_server

pytestmark = pytest.mark.slow

READERS = 6
KILL_AFTER = 120


def test_every_answered_read_survives_a_kill(tmp_path, database_url, factory):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    server = start_server(data_dir, database_url, LABELVAULT_LEDGER_SEAL_SECONDS="0.05",
                          LABELVAULT_LEDGER_CHECKPOINT_ENTRIES="25")
    try:
        owner = make_actor(factory, Role.owner)
        client = Client(server.url, owner.token)
        project = client.create_project("P", TEXT_SCHEMA)
        lines = b"".join(orjson.dumps({"external_id": f"e{i}", "data": {"text": f"t{i}"}}) + b"\n" for i in range(40))
        (tmp_path / "items.jsonl").write_bytes(lines)
        client.import_file(project["id"], tmp_path / "items.jsonl")
        item_ids = [i["id"] for i in client.items(project["id"])]
        answered: list[str] = []
        lock, enough = threading.Lock(), threading.Event()

        def read(worker: int) -> None:
            with Client(server.url, owner.token, timeout=10) as mine:
                n = worker
                while not enough.is_set():
                    item_id = item_ids[n % len(item_ids)]
                    try:
                        mine.item(item_id)
                    except Exception:  # noqa: BLE001 - the server is gone
                        return
                    with lock:
                        answered.append(item_id)
                        if len(answered) >= KILL_AFTER:
                            enough.set()
                    n += READERS

        with ThreadPoolExecutor(READERS) as pool:
            futures = [pool.submit(read, w) for w in range(READERS)]
            enough.wait(120)
            server.process.send_signal(signal.SIGKILL)  # one process: `serve` with one worker
            server.process.wait(10)
            for future in futures:
                future.result()
    finally:
        server.stop()

    with transaction(factory, write=False) as session:
        recorded = [orjson.loads(ids) for ids in session.scalars(
            select(LedgerEntry.item_ids).where(LedgerEntry.route == "GET /api/v1/items/{item_id}"))]
    per_item = {item_id: 0 for item_id in item_ids}
    for ids in recorded:
        for item_id in ids:
            per_item[item_id] += 1
    for item_id in set(answered):
        assert per_item[item_id] >= answered.count(item_id), item_id
    Sealer(factory, data_dir, every=1, max_age_seconds=0, poll_seconds=1).run_once()
    with transaction(factory, write=False) as session:
        report = verify(session, load_or_create_signer(data_dir).public_hex)
    assert report.ok, report.problems
    assert report.checkpoints >= 2 and report.entries >= len(answered)
