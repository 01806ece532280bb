"""The export route: chunks made ahead of sending; a client that leaves mid-way leaves nothing open."""

from __future__ import annotations

import threading
import time

import orjson
import pytest
from sqlalchemy import insert, text

from labelvault.exports import jsonl
from labelvault.exports.api import _made_ahead
from labelvault.exports.jsonl import ExportFilter, stream_jsonl
from labelvault.items.models import Item
from labelvault.kit.clock import utcnow
from labelvault.kit.ids import new_id
from labelvault.testing import TEXT_SCHEMA


def _project_with_items(client, factory, owner, count: int) -> str:
    created = client.post("/api/v1/projects", json={"name": "Export", "schema": TEXT_SCHEMA}, headers=owner.headers)
    assert created.status_code == 201, created.text
    project_id = created.json()["id"]
    now = utcnow()
    with factory.begin() as session:
        session.execute(insert(Item), [{
            "id": new_id(), "organization_id": owner.organization_id, "project_id": project_id,
            "external_id": f"item-{n}", "data": {"text": "some text"}, "meta": {}, "priority": 0, "state": "new",
            "annotation_count": 0, "created_at": now, "updated_at": now,
        } for n in range(count)])
    return project_id


def _makers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(("export-maker", "export-reader"))]


def test_export_streams_every_item_in_chunks(client, factory, owner, monkeypatch):
    monkeypatch.setattr(jsonl, "BATCH", 7)
    project_id = _project_with_items(client, factory, owner, 50)
    response = client.get(f"/api/v1/projects/{project_id}/export", headers=owner.headers)
    assert response.status_code == 200
    lines = [orjson.loads(line) for line in response.content.splitlines()]
    assert sorted(line["external_id"] for line in lines) == sorted(f"item-{n}" for n in range(50))


def test_a_client_that_leaves_mid_export_leaves_nothing_open(client, factory, owner, engine, monkeypatch):
    # The server closes the response body's iterator when the client goes away (uvicorn; the test client
    # does not pass a disconnect on), so this closes it after the first chunk as the server would.
    monkeypatch.setattr(jsonl, "BATCH", 5)
    project_id = _project_with_items(client, factory, owner, 200)
    body = _made_ahead(stream_jsonl(factory, owner.organization_id, project_id, ExportFilter()))
    assert next(body)
    body.close()
    deadline = time.monotonic() + 10
    while _makers() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _makers() == []
    with factory() as session:
        if engine.dialect.name == "postgresql":
            assert session.execute(text("SELECT count(*) FROM pg_cursors")).scalar() == 0
            assert session.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state LIKE 'idle in transaction%'")).scalar() == 0
    with factory.begin() as session:  # nothing holds a lock either
        session.execute(text("UPDATE items SET priority = 1"))


def test_an_error_while_making_chunks_reaches_the_sender():
    def failing():
        yield b"first\n"
        raise RuntimeError("the database went away")

    body = _made_ahead(failing())
    assert next(body) == b"first\n"
    with pytest.raises(RuntimeError, match="went away"):
        next(body)
