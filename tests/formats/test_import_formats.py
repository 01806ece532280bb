"""Items come in from other tools' formats: annotations made elsewhere arrive as predictions, every bad part is
reported with its path in the file, and the rest is kept (unless all-or-nothing)."""

from __future__ import annotations

import orjson

from labelvault.testing import BOXES_SCHEMA, TEXT_SCHEMA, api_annotate, api_export, api_project


def _import(client, ctx, actor, project_id, content: bytes, fmt: str, **params):
    started = client.post(f"/api/v1/projects/{project_id}/imports",
                          params={"filename": "upload", "format": fmt, **params}, content=content,
                          headers=actor.headers)
    assert started.status_code == 202, started.text
    ctx.runner.run_until_idle()
    job = client.get(f"/api/v1/jobs/{started.json()['id']}", headers=actor.headers).json()
    problems = client.get(f"/api/v1/jobs/{job['id']}/problems", headers=actor.headers).json()["items"]
    return job, [(p["line"], p["field"], p["reason"]) for p in problems]


def _predictions(client, actor, project_id):
    items = client.get(f"/api/v1/projects/{project_id}/items", headers=actor.headers).json()["items"]
    return {i["external_id"]: [(p["model_name"], p["model_version"], p["answers"]) for p in client.get(
        f"/api/v1/items/{i['id']}/predictions", headers=actor.headers).json()] for i in items}


def test_label_studio_tasks_move_between_projects(client, ctx, owner):
    ada = {"entities": [{"start": 0, "end": 3, "label": "PER"}]}
    items = [{"external_id": "a", "data": {"text": "Ada went home"},
              "predictions": [{"model_name": "ner", "model_version": "1", "answers": ada}]},
             {"external_id": "b", "data": {"text": "nothing"}}]
    source = api_project(client, owner, TEXT_SCHEMA, items, ctx.runner, name="source")
    api_annotate(client, owner, source, {"a": {"sentiment": "positive", "entities": [
        {"start": 0, "end": 3, "label": "PER"}]}})
    _, tasks = api_export(client, owner, source, ctx.runner, "label_studio", predictions=True)

    target = api_project(client, owner, TEXT_SCHEMA, [], ctx.runner, name="target")
    job, problems = _import(client, ctx, owner, target, tasks, "label_studio")
    assert job["state"] == "succeeded" and problems == []
    assert job["stats"]["imported"] == 2
    stored = _predictions(client, owner, target)
    assert stored["b"] == []
    assert sorted(stored["a"]) == [
        ("label_studio-import", owner.email, {"sentiment": "positive",
                                             "entities": [{"start": 0, "end": 3, "label": "PER"}]}),
        ("ner", "1", {"entities": [{"start": 0, "end": 3, "label": "PER"}]})]
    # Nothing was annotated in the target: annotations are only ever made here.
    assert all(i["state"] == "new" for i in client.get(f"/api/v1/projects/{target}/items",
                                                        headers=owner.headers).json()["items"])


def test_label_studio_answers_that_do_not_fit_are_reported_and_the_task_kept(client, ctx, owner):
    project_id = api_project(client, owner, TEXT_SCHEMA, [], ctx.runner)
    tasks = [{"id": 7, "data": {"text": "hello"}, "annotations": [{"result": [
        {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["great"]}}]}]},
             {"id": 8, "data": {"txt": "no text field"}}]
    job, problems = _import(client, ctx, owner, project_id, orjson.dumps(tasks), "label_studio")
    assert job["stats"]["imported"] == 1
    assert problems[0][:2] == (1, "tasks[0].annotations[0].answers.sentiment")
    assert "must be one of" in problems[0][2]
    assert problems[1][:2] == (2, "data.text")


def _coco(boxes):
    return orjson.dumps({
        "images": [{"id": 1, "file_name": "a/one.png", "width": 100, "height": 50},
                   {"id": 2, "file_name": "a/two.png", "width": 10, "height": 10}],
        "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}], "annotations": boxes})


def test_coco_boxes_with_a_bad_bbox_are_reported_with_their_path(client, ctx, owner):
    project_id = api_project(client, owner, BOXES_SCHEMA, [], ctx.runner)
    content = _coco([{"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 5, 50, 25]},
                     {"id": 2, "image_id": 1, "category_id": 2, "bbox": [1, 2, 3]},
                     {"id": 3, "image_id": 9, "category_id": 2, "bbox": [1, 2, 3, 4]}])
    job, problems = _import(client, ctx, owner, project_id, content, "coco")
    assert [p[1:] for p in problems] == [("annotations[1].bbox", "expected 4 numbers, got 3"),
                                         ("annotations[2].image_id", "no image has id 9")]
    assert job["stats"]["imported"] == 2
    stored = _predictions(client, owner, project_id)
    assert stored["a/one.png"] == [("coco-import", "annotation-1", {"objects": [
        {"x": 0.1, "y": 0.1, "width": 0.5, "height": 0.5, "label": "cat"}]})]


def test_all_or_nothing_imports_nothing_from_a_file_with_a_bad_part(client, ctx, owner):
    project_id = api_project(client, owner, BOXES_SCHEMA, [], ctx.runner)
    content = _coco([{"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 5, 50]}])
    job, problems = _import(client, ctx, owner, project_id, content, "coco", all_or_nothing="true")
    assert job["state"] == "failed" and "all-or-nothing" in job["error"]
    assert [p[1] for p in problems] == ["annotations[0].bbox"]
    assert client.get(f"/api/v1/projects/{project_id}/items", headers=owner.headers).json()["items"] == []


def test_a_file_that_is_not_the_format_is_one_clear_problem(client, ctx, owner):
    project_id = api_project(client, owner, BOXES_SCHEMA, [], ctx.runner)
    job, problems = _import(client, ctx, owner, project_id, b"not json", "coco")
    assert job["stats"]["imported"] == 0
    assert problems[0][1] == "(file)" and "not valid JSON" in problems[0][2]
