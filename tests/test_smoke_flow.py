"""End to end in-process: project, import, annotate, export."""

from __future__ import annotations

import orjson

from labelvault.accounts.models import Role
from labelvault.testing import TEXT_SCHEMA


def test_import_annotate_export(client, ctx, owner, member_of):
    created = client.post("/api/v1/projects", json={"name": "P", "schema": TEXT_SCHEMA}, headers=owner.headers)
    assert created.status_code == 201, created.text
    project_id = created.json()["id"]
    body = b"".join(orjson.dumps({"external_id": f"e{i}", "data": {"text": f"Alice met Bob {i}"}}) + b"\n"
                    for i in range(120))
    job = client.post(f"/api/v1/projects/{project_id}/imports", params={"filename": "a.jsonl"}, content=body,
                      headers=owner.headers)
    assert job.status_code == 202, job.text
    ctx.runner.run_until_idle()
    job = client.get(f"/api/v1/jobs/{job.json()['id']}", headers=owner.headers).json()
    assert job["state"] == "succeeded"
    assert job["stats"]["imported"] == 120
    annotator = member_of(owner, Role.annotator)
    items = client.get(f"/api/v1/projects/{project_id}/items", params={"limit": 5},
                       headers=annotator.headers).json()
    assert len(items["items"]) == 5 and items["next_cursor"]
    item = items["items"][0]
    answer = {"sentiment": "positive", "entities": [{"start": 0, "end": 5, "label": "PER"}]}
    saved = client.post(f"/api/v1/items/{item['id']}/annotations", json={"answers": answer},
                        headers=annotator.headers)
    assert saved.status_code == 201, saved.text
    exported = client.get(f"/api/v1/projects/{project_id}/export", headers=owner.headers)
    assert exported.status_code == 200
    lines = [orjson.loads(line) for line in exported.content.splitlines()]
    assert len(lines) == 120
    first = next(line for line in lines if line["id"] == item["id"])
    assert first["annotations"][0]["answers"] == answer
    assert first["annotations"][0]["author"] == annotator.email
    assert first["state"] == "completed"
