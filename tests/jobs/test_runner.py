"""The job worker: uploads are removed once imported; a job that keeps dying is failed, not retried forever."""

from __future__ import annotations

import orjson
from sqlalchemy import update

from labelvault.db.engine import transaction
from labelvault.jobs.models import Job
from labelvault.jobs.runner import MAX_ATTEMPTS
from labelvault.testing import TEXT_SCHEMA


def _start_import(client, owner, rows):
    project = client.post("/api/v1/projects", json={"name": "J", "schema": TEXT_SCHEMA}, headers=owner.headers).json()
    body = b"".join(orjson.dumps(r) + b"\n" for r in rows)
    return client.post(f"/api/v1/projects/{project['id']}/imports", params={"filename": "j.jsonl"}, content=body,
                       headers=owner.headers).json()


def test_the_upload_is_removed_after_a_successful_import(client, ctx, owner):
    job = _start_import(client, owner, [{"external_id": "a", "data": {"text": "x"}}])
    key = job["params"]["blob"]
    assert ctx.uploads.exists(key)
    ctx.runner.run_until_idle()
    assert client.get(f"/api/v1/jobs/{job['id']}", headers=owner.headers).json()["state"] == "succeeded"
    assert not ctx.uploads.exists(key)


def test_a_job_past_its_attempts_fails_with_a_reason(client, ctx, owner, factory):
    job = _start_import(client, owner, [{"external_id": "a", "data": {"text": "x"}}])
    with transaction(factory) as session:
        session.execute(update(Job).where(Job.id == job["id"]).values(attempts=MAX_ATTEMPTS))
    ctx.runner.run_until_idle()
    failed = client.get(f"/api/v1/jobs/{job['id']}", headers=owner.headers).json()
    assert failed["state"] == "failed" and f"{MAX_ATTEMPTS} attempts" in failed["error"]
    assert failed["stats"].get("imported", 0) == 0
