"""The SDK against a real server process: projects, imports, paging, annotations, export, tokens, errors."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy.orm import Session, sessionmaker

from labelvault.accounts.models import Role
from labelvault.db.engine import build_engine, session_factory
from labelvault.db.migrate import upgrade
from labelvault.sdk import ApiError, Client
from labelvault.testing import TEXT_SCHEMA, Actor, ServerProcess, fresh_database, make_actor, start_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def remote(db_kind: str, pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory,
           ) -> Iterator[tuple[ServerProcess, sessionmaker[Session]]]:
    """One server on its own fresh database for the module; each test makes its own organization."""
    directory = tmp_path_factory.mktemp("sdk")
    with fresh_database(db_kind, directory, pg_admin_url) as url:
        upgrade(url)
        engine = build_engine(url)
        data_dir = directory / "data"
        data_dir.mkdir()
        server = start_server(data_dir, url, timeout=90, LABELVAULT_JOB_POLL_SECONDS="0.1")
        try:
            yield server, session_factory(engine)
        finally:
            server.stop()
            engine.dispose()


@pytest.fixture
def admin(remote: tuple[ServerProcess, sessionmaker[Session]]) -> Actor:
    return make_actor(remote[1], Role.owner)


@pytest.fixture
def client(remote: tuple[ServerProcess, sessionmaker[Session]], admin: Actor) -> Iterator[Client]:
    with Client(remote[0].url, admin.token) as sdk:
        yield sdk


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    return path


def imported_project(client: Client, tmp_path: Path, count: int) -> str:
    project_id = str(client.create_project("SDK", TEXT_SCHEMA)["id"])
    rows = [{"external_id": f"s{i:03d}", "data": {"text": f"Ada met Bob {i}"}} for i in range(count)]
    job = client.import_file(project_id, write_jsonl(tmp_path / "items.jsonl", rows))
    assert job["state"] == "succeeded" and job["stats"]["imported"] == count
    return project_id


def test_import_reports_progress_and_problems_and_items_page_through(client, tmp_path):
    project = client.create_project("SDK import", TEXT_SCHEMA, description="d", default_overlap=2)
    assert client.project(project["id"])["default_overlap"] == 2
    assert project["id"] in [p["id"] for p in client.projects()]
    rows: list[Any] = [{"external_id": f"i{i:03d}", "data": {"text": f"text {i}"}} for i in range(230)]
    rows[16] = {"external_id": "bad", "data": {"text": ["not", "a", "string"]}}
    source = write_jsonl(tmp_path / "items.jsonl", rows)
    uploaded: list[tuple[int, int]] = []
    progress: list[tuple[int, int]] = []
    job = client.import_file(project["id"], source, on_upload=lambda sent, total: uploaded.append((sent, total)),
                             on_progress=lambda done, total: progress.append((done, total)))
    size = source.stat().st_size
    assert uploaded[-1] == (size, size)
    assert progress[-1] == (size, size)
    assert job["state"] == "succeeded"
    assert job["stats"] == {"lines": 230, "imported": 229, "updated": 0, "skipped": 0, "rejected": 1}
    assert list(client.job_problems(job["id"])) == [
        {"line": 17, "field": "data.text", "reason": "must be a string, got list"}]

    pages = list(client.items(project["id"], page_size=40))
    assert len(pages) == 229
    assert len({item["id"] for item in pages}) == 229
    assert sorted(item["external_id"] for item in pages) == sorted(
        f"i{i:03d}" for i in range(230) if i != 16)
    assert [item["id"] for item in pages] == sorted(item["id"] for item in pages)
    assert len(list(client.items(project["id"], state="new", page_size=500))) == 229
    assert list(client.items(project["id"], state="completed")) == []
    counts = client.project(project["id"])["item_counts"]
    assert counts["new"] == 229 and sum(counts.values()) == 229
    first = pages[0]
    assert client.item(first["id"]) == first


def test_submit_with_an_idempotency_key_returns_the_same_annotation(client, remote, admin, tmp_path):
    project_id = imported_project(client, tmp_path, 3)
    annotator = make_actor(remote[1], Role.annotator, organization_id=admin.organization_id)
    item = next(client.items(project_id))
    answers = {"sentiment": "positive", "entities": [{"start": 0, "end": 3, "label": "PER"}]}
    key = str(uuid.uuid4())
    with Client(remote[0].url, annotator.token) as worker:
        first = worker.submit(item["id"], answers, time_spent_ms=1200, idempotency_key=key)
        retried = worker.submit(item["id"], answers, time_spent_ms=1200, idempotency_key=key)
        assert retried["id"] == first["id"]
        assert retried == first
        assert [a["id"] for a in worker.annotations(item["id"])] == [first["id"]]
        with pytest.raises(ApiError) as reused:
            worker.submit(item["id"], {"sentiment": "negative"}, idempotency_key=key)
        assert reused.value.status == 409 and reused.value.code == "conflict"
        assert "Idempotency-Key" in reused.value.message
        changed = worker.submit(item["id"], {"sentiment": "negative"}, idempotency_key=str(uuid.uuid4()))
        assert changed["id"] == first["id"]
        assert len(worker.revisions(first["id"])) == 1
        with pytest.raises(ApiError) as invalid:
            worker.submit(item["id"], {"sentiment": "furious"})
        assert invalid.value.status == 422 and invalid.value.code == "invalid_input"
    assert client.item(item["id"])["state"] == "completed"


def test_export_iterator_and_export_to_a_file_agree(client, remote, admin, tmp_path):
    project_id = imported_project(client, tmp_path, 25)
    annotator = make_actor(remote[1], Role.annotator, organization_id=admin.organization_id)
    items = list(client.items(project_id))
    with Client(remote[0].url, annotator.token) as worker:
        for item in items[:5]:
            worker.submit(item["id"], {"sentiment": "neutral"})

    exported = list(client.export(project_id))
    assert sorted(line["id"] for line in exported) == sorted(item["id"] for item in items)
    annotated = {line["id"]: line for line in exported if line["annotations"]}
    assert sorted(annotated) == sorted(item["id"] for item in items[:5])
    for line in annotated.values():
        assert [a["answers"] for a in line["annotations"]] == [{"sentiment": "neutral"}]
        assert line["annotations"][0]["author"] == annotator.email

    destination = tmp_path / "export.jsonl"
    seen: list[int] = []
    size = client.export_to(project_id, destination, on_progress=seen.append)
    assert size == destination.stat().st_size and seen[-1] == size
    assert not (tmp_path / "export.jsonl.partial").exists()
    assert [orjson.loads(line) for line in destination.read_bytes().splitlines()] == exported

    completed = list(client.export(project_id, state=["completed"]))
    assert sorted(line["id"] for line in completed) == sorted(annotated)
    with pytest.raises(ApiError) as bad_filter:
        list(client.export(project_id, state=["finished"]))
    assert bad_filter.value.status == 422 and bad_filter.value.code == "invalid_input"


def test_a_revoked_token_gets_401(client, remote):
    created = client.create_token("ci", expires_in_days=30)
    assert created["token"].startswith("lv_") and created["expires_at"] is not None
    with Client(remote[0].url, created["token"]) as second:
        me = second.me()
        assert me == {**client.me(), "csrf_token": None}
        assert created["id"] in [t["id"] for t in client.tokens()]
        revoked = client.revoke_token(created["id"])
        assert revoked["revoked_at"] is not None
        with pytest.raises(ApiError) as refused:
            second.me()
    assert refused.value.status == 401
    assert refused.value.code == "not_authenticated"
    assert refused.value.message == "The API token is unknown, revoked or expired."
    assert client.me()["email"]  # the token that revoked it still works


def test_api_error_carries_status_code_message_and_details(client, remote):
    with pytest.raises(ApiError) as missing:
        client.project(str(uuid.uuid4()))
    error = missing.value
    assert (error.status, error.code, error.message) == (404, "not_found", "project not found.")
    assert error.details == {"kind": "project"}
    assert str(error) == "project not found. (not_found, HTTP 404)"

    with pytest.raises(ApiError) as invalid:
        client.create_project("Bad", {"fields": [], "questions": [{"name": "q", "type": "telepathy"}]})
    assert invalid.value.status == 422 and invalid.value.code == "invalid_input"
    assert invalid.value.details

    with Client(remote[0].url) as anonymous, pytest.raises(ApiError) as unauthenticated:
        anonymous.projects().__next__()
    assert unauthenticated.value.status == 401 and unauthenticated.value.code == "not_authenticated"
