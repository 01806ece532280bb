"""A large import refreshes PostgreSQL's planner statistics at its end, so the next-item query keeps to the
queue index from the first claim on."""

from __future__ import annotations

import orjson
from sqlalchemy import text

from labelvault.db.engine import transaction
from labelvault.items import importer
from labelvault.testing import TEXT_SCHEMA


def test_an_import_past_the_threshold_refreshes_the_statistics(client, ctx, owner, factory, db_kind, monkeypatch):
    monkeypatch.setattr(importer, "REFRESH_STATISTICS_AFTER", 3)
    project = client.post("/api/v1/projects", json={"name": "S", "schema": TEXT_SCHEMA}, headers=owner.headers).json()
    body = b"".join(orjson.dumps({"external_id": f"e{i}", "data": {"text": f"text {i}"}}) + b"\n" for i in range(3))
    job = client.post(f"/api/v1/projects/{project['id']}/imports", params={"filename": "x.jsonl"}, content=body,
                      headers=owner.headers).json()
    ctx.runner.run_until_idle()
    assert client.get(f"/api/v1/jobs/{job['id']}", headers=owner.headers).json()["state"] == "succeeded"
    if db_kind == "postgresql":
        with transaction(factory, write=False) as session:
            analyzed = session.execute(text(
                "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'items'")).scalar()
        assert analyzed is not None
