"""Exports of quality control's aggregated labels (with their confidence) in place of the annotations, and
exports with or without gold items: native JSONL, CSV, Hugging Face JSONL and Parquet, and the CLI flags."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from labelvault.accounts.models import Role
from labelvault.cli.main import app
from labelvault.sdk import Client
from labelvault.testing import ServerProcess, api_export, make_actor, server_on_fresh_database

SCHEMA: dict[str, Any] = {
    "fields": [{"name": "text", "kind": "text"}],
    "questions": [
        {"name": "sentiment", "type": "single_choice",
         "options": [{"value": "positive"}, {"value": "neutral"}, {"value": "negative"}]},
        {"name": "stars", "type": "rating", "scale": [{"value": v} for v in range(1, 6)], "required": False},
    ],
}


def _project(client, ctx, owner, member_of) -> tuple[str, dict[str, str]]:
    """Four items: t0 gold, t1 and t2 with three and two annotations, t3 without any; refreshed."""
    created = client.post("/api/v1/projects", json={"name": "Aggregates", "schema": SCHEMA, "default_overlap": 3},
                          headers=owner.headers)
    project_id = created.json()["id"]
    body = b"".join(orjson.dumps({"external_id": f"t{i}", "data": {"text": f"text {i}"}}) + b"\n" for i in range(4))
    assert client.post(f"/api/v1/projects/{project_id}/imports", params={"filename": "items.jsonl"}, content=body,
                       headers=owner.headers).status_code == 202
    ctx.runner.run_until_idle()
    ids = {i["external_id"]: i["id"] for i in
           client.get(f"/api/v1/projects/{project_id}/items", headers=owner.headers).json()["items"]}
    assert client.put(f"/api/v1/items/{ids['t0']}/gold", json={"answers": {"sentiment": "negative"}},
                      headers=owner.headers).status_code == 200
    people = [member_of(owner, Role.annotator) for _ in range(3)]
    answers = {"t0": ["negative", "negative", "positive"], "t1": ["positive", "positive", "neutral"],
               "t2": ["neutral", "neutral"]}
    for external_id, given in answers.items():
        for person, sentiment in zip(people, given, strict=False):
            made = client.post(f"/api/v1/items/{ids[external_id]}/annotations",
                               json={"answers": {"sentiment": sentiment, "stars": 4}, "time_spent_ms": 1000},
                               headers=person.headers)
            assert made.status_code == 201, made.text
    started = client.post(f"/api/v1/projects/{project_id}/quality/refresh", headers=owner.headers)
    assert started.status_code == 202, started.text
    ctx.runner.run_until_idle()
    return project_id, ids


def _native(client, owner, project_id: str, **params: Any) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/projects/{project_id}/export", params=params, headers=owner.headers)
    assert response.status_code == 200, response.text
    return [orjson.loads(line) for line in response.content.splitlines()]


def test_native_jsonl_with_aggregates_and_without_gold(client, ctx, owner, member_of):
    project_id, ids = _project(client, ctx, owner, member_of)
    lines = {line["external_id"]: line for line in _native(client, owner, project_id, aggregated="true")}
    assert set(lines) == {"t0", "t1", "t2", "t3"}
    assert all("annotations" not in line for line in lines.values())
    t1 = lines["t1"]["aggregates"]
    assert t1["sentiment"]["value"] == "positive" and t1["sentiment"]["annotations"] == 3
    assert 0 < t1["sentiment"]["confidence"] < 1 and t1["stars"]["value"] == 4
    assert lines["t2"]["aggregates"]["sentiment"]["value"] == "neutral"
    assert lines["t3"]["aggregates"] == {}
    # A gold item's label is its known answer.
    assert lines["t0"]["aggregates"]["sentiment"] == {"value": "negative", "confidence": 1.0, "method": "gold",
                                                      "annotations": lines["t0"]["aggregates"]["sentiment"][
                                                          "annotations"]}
    assert lines["t1"]["data"] == {"text": "text 1"} and lines["t1"]["id"] == ids["t1"]

    without = _native(client, owner, project_id, aggregated="true", include_gold="false", only_annotated="true")
    assert [line["external_id"] for line in without] == sorted(["t1", "t2"], key=lambda e: ids[e])
    raw = _native(client, owner, project_id, include_gold="false")
    assert {line["external_id"] for line in raw} == {"t1", "t2", "t3"}
    assert sum(len(line["annotations"]) for line in raw) == 5
    assert {line["external_id"] for line in _native(client, owner, project_id)} == {"t0", "t1", "t2", "t3"}
    refused = client.get(f"/api/v1/projects/{project_id}/export", params={"aggregated": "true", "revisions": "true"},
                         headers=owner.headers)
    assert refused.status_code == 422 and refused.json()["details"]["field"] == "revisions"


def test_csv_and_hugging_face_exports_of_aggregates(client, ctx, owner, member_of):
    project_id, ids = _project(client, ctx, owner, member_of)
    job, content = api_export(client, owner, project_id, ctx.runner, "csv", aggregated=True, include_gold=False)
    rows = list(csv.DictReader(io.StringIO(content.decode())))
    assert [r["external_id"] for r in rows] == sorted(["t1", "t2", "t3"], key=lambda e: ids[e])
    by_item = {r["external_id"]: r for r in rows}
    assert by_item["t1"]["author"] == "aggregate" and by_item["t1"]["answer.sentiment"] == "positive"
    assert 0 < float(by_item["t1"]["confidence.sentiment"]) < 1
    assert by_item["t3"]["answer.sentiment"] == "" and by_item["t3"]["confidence.sentiment"] == ""
    assert job["stats"]["items"] == 3 and job["stats"]["annotations"] == 2

    _, content = api_export(client, owner, project_id, ctx.runner, "hf_parquet", aggregated=True)
    table = pq.read_table(io.BytesIO(content))
    assert str(table.schema.field("confidence.sentiment").type) == "double"
    parquet = {r["external_id"]: r for r in table.to_pylist()}
    assert set(parquet) == {"t0", "t1", "t2", "t3"}
    assert parquet["t0"]["answer.sentiment"] == "negative" and parquet["t2"]["answer.stars"] == 4
    assert parquet["t1"]["confidence.sentiment"] == pytest.approx(float(by_item["t1"]["confidence.sentiment"]))

    _, content = api_export(client, owner, project_id, ctx.runner, "hf_jsonl", aggregated=True, only_annotated=True)
    hf = [orjson.loads(line) for line in content.splitlines()]
    assert {r["external_id"] for r in hf} == {"t0", "t1", "t2"}
    assert all(r["author"] == "aggregate" and r["confidence.sentiment"] is not None for r in hf)

    # Raw annotations without gold: every annotation of the other items, one row each.
    _, content = api_export(client, owner, project_id, ctx.runner, "csv", include_gold=False, only_annotated=True)
    raw = list(csv.DictReader(io.StringIO(content.decode())))
    assert len(raw) == 5 and "confidence.sentiment" not in raw[0]


def test_formats_that_hold_boxes_or_spans_take_the_aggregate_as_one_annotation(client, ctx, owner, member_of):
    project_id, _ = _project(client, ctx, owner, member_of)
    _, content = api_export(client, owner, project_id, ctx.runner, "label_studio", aggregated=True)
    tasks = {t["data"]["text"]: t for t in orjson.loads(content)}
    [only] = tasks["text 1"]["annotations"]
    assert only["labelvault_author"] == "aggregate"
    assert tasks["text 3"]["annotations"] == []


@pytest.fixture(scope="module")
def remote(db_kind: str, pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory,
           ) -> Iterator[tuple[ServerProcess, sessionmaker[Session]]]:
    with server_on_fresh_database(db_kind, tmp_path_factory.mktemp("aggregates-cli"), pg_admin_url,
                                  LABELVAULT_JOB_POLL_SECONDS="0.1") as running:
        yield running


@pytest.mark.slow
def test_cli_flags_aggregated_and_without_gold(remote, tmp_path):
    server, factory = remote
    owner = make_actor(factory, Role.owner)
    people = [make_actor(factory, Role.annotator, organization_id=owner.organization_id) for _ in range(2)]
    with Client(server.url, owner.token) as client:
        project = client.create_project("Aggregates CLI", SCHEMA, default_overlap=2)
        (tmp_path / "items.jsonl").write_bytes(b"".join(
            orjson.dumps({"external_id": f"t{i}", "data": {"text": f"text {i}"}}) + b"\n" for i in range(3)))
        assert client.import_file(project["id"], tmp_path / "items.jsonl")["state"] == "succeeded"
        items = sorted(client.items(project["id"]), key=lambda i: i["external_id"])
        client.set_gold(items[0]["id"], {"sentiment": "negative"})
    for person in people:
        with Client(server.url, person.token) as client:
            for item in items:
                client.submit(item["id"], {"sentiment": "positive"}, time_spent_ms=1000)
    runner = CliRunner()
    common = ["--url", server.url, "--token", owner.token]
    refreshed = runner.invoke(app, ["quality", "report", project["id"], "--refresh", *common])
    assert refreshed.exit_code == 0, refreshed.output

    out = tmp_path / "agg.csv"
    done = runner.invoke(app, ["project", "export", project["id"], "--format", "csv", "-o", str(out), "--aggregated",
                               "--without-gold", *common])
    assert done.exit_code == 0, done.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert sorted(r["external_id"] for r in rows) == ["t1", "t2"]
    assert all(r["author"] == "aggregate" and r["answer.sentiment"] == "positive" for r in rows)

    native = tmp_path / "agg.jsonl"
    done = runner.invoke(app, ["export", project["id"], "-o", str(native), "--aggregated", *common])
    assert done.exit_code == 0, done.output
    lines = [orjson.loads(line) for line in native.read_bytes().splitlines()]
    assert sorted(line["aggregates"]["sentiment"]["value"] for line in lines) == ["negative", "positive", "positive"]
    done = runner.invoke(app, ["export", project["id"], "-o", str(native), "--without-gold", *common])
    assert done.exit_code == 0, done.output
    assert len(native.read_bytes().splitlines()) == 2
