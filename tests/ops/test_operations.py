"""Health, readiness, metrics and JSON logs."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

from sqlalchemy import create_engine

from labelvault.ops.logging import JsonFormatter
from labelvault.testing import server_env


def test_healthz_and_readyz(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["database"] == "reachable"


def test_readyz_reports_an_unreachable_database(client, ctx):
    reachable = ctx.engine
    ctx.engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    try:
        response = client.get("/readyz")
    finally:
        ctx.engine = reachable
    assert response.status_code == 503 and response.json()["database"] == "unreachable"


def test_metrics_count_requests_by_route(client, owner):
    client.get("/api/v1/me", headers=owner.headers)
    text = client.get("/metrics").text
    assert 'labelvault_http_requests_total{method="GET",route="/api/v1/me",status="200"}' in text
    assert "labelvault_http_request_seconds_bucket" in text
    assert "labelvault_imported_items_total" in text
    assert "labelvault_exported_annotations_total" in text


def test_logs_are_one_json_object_per_line():
    record = logging.LogRecord("labelvault.test", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    record.job_id = "j1"
    line = JsonFormatter().format(record)
    parsed = json.loads(line)
    assert parsed["message"] == "hello world" and parsed["job_id"] == "j1" and parsed["level"] == "info"


def test_errors_have_one_body_shape(client, owner):
    unknown = client.get("/api/v1/nothing-here", headers=owner.headers)
    assert unknown.status_code == 404 and set(unknown.json()) == {"code", "message", "details"}
    bad = client.post("/api/v1/projects", json={"name": ""}, headers=owner.headers)
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_input"
    assert {p["field"] for p in bad.json()["details"]["problems"]} >= {"name", "schema"}


def test_a_serving_process_settles_its_garbage_collector(tmp_path):
    # In a process of its own: freezing the heap is for servers, not for the test process.
    probe = (
        "import gc\n"
        "from labelvault.app import GC_THRESHOLDS, serve_app\n"
        "serve_app()\n"
        "assert gc.get_freeze_count() > 10_000, gc.get_freeze_count()\n"
        "assert gc.get_threshold() == GC_THRESHOLDS, gc.get_threshold()\n"
        "print('settled')\n"
    )
    env = server_env(tmp_path / "data", f"sqlite:///{tmp_path / 'gc.db'}")
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "settled", done.stderr
