"""Exports in other formats run as jobs with progress and a downloadable file; their options narrow them."""

from __future__ import annotations

import csv
import io

import orjson

from labelvault.accounts.models import Role
from labelvault.demo import png
from labelvault.testing import BOXES_SCHEMA, TEXT_SCHEMA, api_annotate, api_export, api_project

ITEMS = [{"external_id": f"e{i}", "data": {"text": f"text {i}"}, "metadata": {"split": "train" if i % 2 else "test"}}
         for i in range(6)]


def _rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode())))


def test_csv_export_job_with_progress_and_a_download(client, ctx, owner):
    project_id = api_project(client, owner, TEXT_SCHEMA, ITEMS, ctx.runner)
    api_annotate(client, owner, project_id, {"e1": {"sentiment": "positive"}, "e2": {"sentiment": "negative"}})
    job, content = api_export(client, owner, project_id, ctx.runner, "csv")
    assert job["done"] == job["total"] == 6
    assert job["stats"]["items"] == 6 and job["stats"]["annotations"] == 2
    assert job["stats"]["filename"].endswith(".csv")
    rows = _rows(content)
    assert len(rows) == 6
    assert {r["external_id"]: r["answer.sentiment"] for r in rows} == {
        "e0": "", "e1": "positive", "e2": "negative", "e3": "", "e4": "", "e5": ""}


def test_options_narrow_the_export(client, ctx, owner):
    project_id = api_project(client, owner, TEXT_SCHEMA, ITEMS, ctx.runner)
    api_annotate(client, owner, project_id, {"e1": {"sentiment": "positive"}})
    _, content = api_export(client, owner, project_id, ctx.runner, "csv", split="train")
    assert sorted(r["external_id"] for r in _rows(content)) == ["e1", "e3", "e5"]
    _, content = api_export(client, owner, project_id, ctx.runner, "csv", only_annotated=True)
    assert [r["external_id"] for r in _rows(content)] == ["e1"]
    _, content = api_export(client, owner, project_id, ctx.runner, "csv", only_accepted=True)
    assert _rows(content) == []
    _, content = api_export(client, owner, project_id, ctx.runner, "csv", since="2999-01-01T00:00:00Z",
                            only_annotated=True)
    assert _rows(content) == []


def test_bad_requests_are_refused_with_the_field(client, ctx, owner, member_of):
    project_id = api_project(client, owner, TEXT_SCHEMA, ITEMS, ctx.runner)
    path = f"/api/v1/projects/{project_id}/exports"
    unknown = client.post(path, json={"format": "xls"}, headers=owner.headers)
    assert unknown.status_code == 422 and unknown.json()["details"]["field"] == "format"
    sft = client.post(path, json={"format": "trl_sft", "aggregated": True}, headers=owner.headers)
    assert sft.status_code == 422 and sft.json()["details"]["field"] == "aggregated"
    assert "written answers" in sft.json()["message"]
    started = client.post(path, json={"format": "csv"}, headers=owner.headers).json()
    early = client.get(f"/api/v1/exports/{started['id']}/file", headers=owner.headers)
    assert early.status_code == 409 and early.json()["details"]["state"] == "queued"
    annotator = member_of(owner, Role.annotator)
    assert client.post(path, json={"format": "csv"}, headers=annotator.headers).status_code == 403
    formats = client.get("/api/v1/export-formats", headers=owner.headers).json()
    assert {"csv", "hf_jsonl", "hf_parquet"} <= {f["name"] for f in formats}


def test_pixel_formats_take_the_image_size_from_the_media_file(client, ctx, owner):
    project_id = api_project(client, owner, BOXES_SCHEMA, [{"external_id": "one", "data": {"image": "a/one.png"}},
                                                          {"external_id": "gone", "data": {"image": "a/gone.png"}}],
                             ctx.runner)
    uploaded = client.put(f"/api/v1/projects/{project_id}/media/a/one.png", content=png(40, 20, (200, 10, 10),
                                                                                        (0, 0, 4, 4)),
                          headers=owner.headers)
    assert uploaded.status_code == 201
    api_annotate(client, owner, project_id, {"one": {"objects": [
        {"x": 0.25, "y": 0.5, "width": 0.5, "height": 0.25, "label": "cat"}]}})
    job, content = api_export(client, owner, project_id, ctx.runner, "coco")
    document = orjson.loads(content)
    assert [(i["file_name"], i["width"], i["height"]) for i in document["images"]] == [("a/one.png", 40, 20)]
    assert document["annotations"][0]["bbox"] == [10.0, 10.0, 20.0, 5.0]
    assert any("image size is unknown" in note for note in job["stats"]["notes"])


def test_a_format_the_schema_cannot_fill_is_refused(client, ctx, owner):
    project_id = api_project(client, owner, TEXT_SCHEMA, ITEMS, ctx.runner)
    refused = client.post(f"/api/v1/projects/{project_id}/exports", json={"format": "coco"}, headers=owner.headers)
    assert refused.status_code == 422
    assert "boxes" in refused.json()["message"]


def test_predictions_are_exported_on_request_only(client, ctx, owner):
    items = [{"external_id": "a", "data": {"text": "hello"}, "predictions": [
        {"model_name": "m", "model_version": "1", "answers": {"sentiment": "positive"}, "score": 0.5}]}]
    project_id = api_project(client, owner, TEXT_SCHEMA, items, ctx.runner)
    _, without = api_export(client, owner, project_id, ctx.runner, "hf_jsonl")
    assert orjson.loads(without.splitlines()[0])["predictions"] == []
    _, content = api_export(client, owner, project_id, ctx.runner, "hf_jsonl", predictions=True)
    assert orjson.loads(content.splitlines()[0])["predictions"] == [
        {"model_name": "m", "model_version": "1", "answers": {"sentiment": "positive"}, "score": 0.5}]
    _, tasks = api_export(client, owner, project_id, ctx.runner, "label_studio", predictions=True)
    [task] = orjson.loads(tasks)
    assert task["annotations"] == []
    assert task["predictions"][0]["result"][0]["value"] == {"choices": ["positive"]}
