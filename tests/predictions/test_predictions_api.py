"""Predictions: imported with items or on their own, checked against the schema, kept apart from annotations."""

from __future__ import annotations

import orjson

from labelvault.testing import TEXT_SCHEMA


def _project(client, actor):
    return client.post("/api/v1/projects", json={"name": "P", "schema": TEXT_SCHEMA}, headers=actor.headers).json()


def _upload(client, ctx, actor, path, rows, **params):
    body = b"".join(orjson.dumps(r) + b"\n" for r in rows)
    job = client.post(path, params={"filename": "x.jsonl", **params}, content=body, headers=actor.headers)
    assert job.status_code == 202, job.text
    ctx.runner.run_until_idle()
    return client.get(f"/api/v1/jobs/{job.json()['id']}", headers=actor.headers).json()


def _problems(client, actor, job):
    return client.get(f"/api/v1/jobs/{job['id']}/problems", headers=actor.headers).json()["items"]


def _item_predictions(client, actor, project_id):
    items = client.get(f"/api/v1/projects/{project_id}/items", headers=actor.headers).json()["items"]
    out = {}
    for item in items:
        out[item["external_id"]] = client.get(f"/api/v1/items/{item['id']}/predictions",
                                              headers=actor.headers).json()
    return out


def test_items_carry_predictions_and_a_bad_prediction_rejects_only_its_line(client, ctx, owner):
    project = _project(client, owner)
    good = {"model_name": "sent-bert", "model_version": "2", "answers": {"sentiment": "positive"}, "score": 0.9}
    job = _upload(client, ctx, owner, f"/api/v1/projects/{project['id']}/imports", [
        {"external_id": "a", "data": {"text": "hello"}, "predictions": [good]},
        {"external_id": "b", "data": {"text": "hey"},
         "predictions": [good, {**good, "model_version": "3", "answers": {"entities": [
             {"start": 0, "end": 9, "label": "PER"}]}}]},
        {"external_id": "c", "data": {"text": "plain"}},
    ])
    assert job["state"] == "succeeded", job
    assert job["stats"]["imported"] == 2 and job["stats"]["rejected"] == 1
    [problem] = _problems(client, owner, job)
    assert problem["line"] == 2
    assert problem["field"] == "predictions[1].answers.entities[0].end"
    assert "text length" in problem["reason"]
    stored = _item_predictions(client, owner, project["id"])
    assert [(p["model_name"], p["model_version"], p["answers"], p["score"]) for p in stored["a"]] == [
        ("sent-bert", "2", {"sentiment": "positive"}, 0.9)]
    assert stored["c"] == []
    # Predictions are no annotations: nothing is counted or shown as annotated.
    items = client.get(f"/api/v1/projects/{project['id']}/items", headers=owner.headers).json()["items"]
    assert all(i["state"] == "new" for i in items)
    assert client.get(f"/api/v1/items/{items[0]['id']}/annotations", headers=owner.headers).json() == []


def test_predictions_import_on_their_own_replaces_the_same_model_version(client, ctx, owner):
    project = _project(client, owner)
    _upload(client, ctx, owner, f"/api/v1/projects/{project['id']}/imports",
            [{"external_id": "a", "data": {"text": "hello"}}, {"external_id": "b", "data": {"text": "bye"}}])
    path = f"/api/v1/projects/{project['id']}/predictions/imports"
    first = _upload(client, ctx, owner, path, [
        {"external_id": "a", "model_name": "m", "model_version": "1", "answers": {"sentiment": "neutral"}}])
    assert first["state"] == "succeeded" and first["stats"]["imported"] == 1
    job = _upload(client, ctx, owner, path, [
        {"external_id": "a", "model_name": "m", "model_version": "1", "answers": {"sentiment": "negative"}},
        {"external_id": "zzz", "model_name": "m", "model_version": "1", "answers": {}},
        {"external_id": "b", "model_name": "m", "model_version": "1", "answers": {"sentiment": "great"}},
        {"external_id": "b", "model_version": "1", "answers": {}},
        {"external_id": "b", "model_name": "m", "model_version": "1", "answers": {"sentiment": "positive"},
         "score": "high"},
    ])
    assert job["stats"] == {"lines": 5, "imported": 1, "rejected": 4}
    assert [(p["line"], p["field"]) for p in _problems(client, owner, job)] == [
        (2, "external_id"), (3, "answers.sentiment"), (4, "model_name"), (5, "score")]
    stored = _item_predictions(client, owner, project["id"])
    assert [p["answers"] for p in stored["a"]] == [{"sentiment": "negative"}]
    assert stored["b"] == []


def test_all_or_nothing_stores_no_prediction_when_one_line_is_bad(client, ctx, owner):
    project = _project(client, owner)
    _upload(client, ctx, owner, f"/api/v1/projects/{project['id']}/imports",
            [{"external_id": "a", "data": {"text": "hello"}}])
    job = _upload(client, ctx, owner, f"/api/v1/projects/{project['id']}/predictions/imports", [
        {"external_id": "a", "model_name": "m", "model_version": "1", "answers": {"sentiment": "neutral"}},
        {"external_id": "a", "model_name": "m", "model_version": "2", "answers": {"sentiment": 3}},
    ], all_or_nothing="true")
    assert job["state"] == "failed" and "all-or-nothing" in job["error"]
    assert _item_predictions(client, owner, project["id"])["a"] == []
