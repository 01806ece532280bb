"""Quality control through the REST API: gold answers, refresh jobs, reports, aggregates, settings."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson

from labelvault.accounts.models import Role
from labelvault.quality import refresh as refresh_job

SCHEMA: dict[str, Any] = {
    "fields": [{"name": "text", "kind": "text"}],
    "questions": [
        {"name": "sentiment", "type": "single_choice",
         "options": [{"value": "positive"}, {"value": "neutral"}, {"value": "negative"}]},
        {"name": "stars", "type": "rating", "scale": [{"value": v} for v in range(1, 6)], "required": False},
        {"name": "note", "type": "free_text", "required": False},
    ],
}


def make_project(client, ctx, owner, items: int) -> tuple[str, list[dict[str, Any]]]:
    created = client.post("/api/v1/projects", json={"name": "Quality", "schema": SCHEMA, "default_overlap": 3},
                          headers=owner.headers)
    assert created.status_code == 201, created.text
    project_id = created.json()["id"]
    body = b"".join(orjson.dumps({"external_id": f"t{i}", "data": {"text": f"text {i}"}}) + b"\n"
                    for i in range(items))
    job = client.post(f"/api/v1/projects/{project_id}/imports", params={"filename": "items.jsonl"}, content=body,
                      headers=owner.headers)
    assert job.status_code == 202, job.text
    ctx.runner.run_until_idle()
    listed = client.get(f"/api/v1/projects/{project_id}/items", headers=owner.headers).json()["items"]
    return project_id, sorted(listed, key=lambda i: i["external_id"])


def submit(client, actor, item_id: str, answers: dict[str, Any], time_spent_ms: int = 30_000) -> None:
    response = client.post(f"/api/v1/items/{item_id}/annotations",
                           json={"answers": answers, "time_spent_ms": time_spent_ms}, headers=actor.headers)
    assert response.status_code == 201, response.text


def refresh(client, ctx, owner, project_id: str) -> dict[str, Any]:
    started = client.post(f"/api/v1/projects/{project_id}/quality/refresh", headers=owner.headers)
    assert started.status_code == 202, started.text
    ctx.runner.run_until_idle()
    job = client.get(f"/api/v1/jobs/{started.json()['id']}", headers=owner.headers).json()
    assert job["state"] == "succeeded", job
    return job


def aggregates(client, owner, project_id: str, **params: Any) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/projects/{project_id}/aggregates", params=params, headers=owner.headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_gold_scores_scorecards_agreement_and_aggregates(client, ctx, owner, member_of):
    project_id, items = make_project(client, ctx, owner, items=4)
    gold, real = items[0], items[1:]
    assert client.put(f"/api/v1/items/{gold['id']}/gold", json={"answers": {"sentiment": "negative", "stars": 2}},
                      headers=owner.headers).status_code == 200
    good, fair, poor = (member_of(owner, Role.annotator) for _ in range(3))
    submit(client, good, gold["id"], {"sentiment": "negative", "stars": 2})
    submit(client, fair, gold["id"], {"sentiment": "negative", "stars": 4})
    submit(client, poor, gold["id"], {"sentiment": "positive", "stars": 5})
    for item in real:
        submit(client, good, item["id"], {"sentiment": "positive", "stars": 4}, time_spent_ms=20_000)
        submit(client, fair, item["id"], {"sentiment": "positive", "stars": 4}, time_spent_ms=40_000)
    submit(client, poor, real[0]["id"], {"sentiment": "neutral", "stars": 1})

    job = refresh(client, ctx, owner, project_id)
    assert job["stats"]["items"] == 4 and job["stats"]["gold_scores"] == 3

    report = client.get(f"/api/v1/projects/{project_id}/quality/report", headers=owner.headers)
    assert report.status_code == 200, report.text
    body = report.json()["report"]
    cards = {c["user_id"]: c for c in body["scorecards"]}
    assert cards[good.user_id]["gold_accuracy"] == 1.0
    assert cards[fair.user_id]["gold_accuracy"] == 0.5  # right sentiment, stars off by 2
    assert cards[poor.user_id]["gold_accuracy"] == 0.0
    assert [c["below_gold_threshold"] for c in (cards[good.user_id], cards[fair.user_id], cards[poor.user_id])] \
        == [False, True, True]  # the default threshold is 0.8
    assert cards[good.user_id]["median_seconds"] == 20.0
    assert cards[good.user_id]["items_per_hour"] == 4 / (30 + 3 * 20) * 3600
    assert cards[poor.user_id]["consensus_agreement"] == 0.0
    assert cards[good.user_id]["trend"][0]["annotations"] == 4
    assert body["gold_items"] == 1 and body["annotations"] == 10
    assert body["agreement"]["sentiment"]["items"] == 4
    assert body["agreement"]["sentiment"]["krippendorff_alpha_nominal"] is not None
    assert "note" not in body["agreement"]

    rows = aggregates(client, owner, project_id)
    by_key = {(r["item_id"], r["question"]): r for r in rows}
    assert (gold["id"], "sentiment") not in by_key  # gold items are measured, not aggregated
    assert by_key[(real[0]["id"], "sentiment")]["value"] == "positive"
    assert by_key[(real[0]["id"], "sentiment")]["confidence"] == round(2 / 3, 6)
    assert by_key[(real[1]["id"], "sentiment")]["confidence"] == 1.0
    assert [r["item_id"] for r in aggregates(client, owner, project_id, below=0.9)] == [real[0]["id"]] * 2
    first = client.get(f"/api/v1/projects/{project_id}/aggregates", params={"limit": 2}, headers=owner.headers)
    second = client.get(f"/api/v1/projects/{project_id}/aggregates",
                        params={"limit": 2, "cursor": first.json()["next_cursor"]}, headers=owner.headers)
    assert [*first.json()["items"], *second.json()["items"]] == rows[:4]


def test_a_refresh_scores_only_what_changed_since_the_last_one(client, ctx, owner, member_of, monkeypatch):
    # Without the watermark's safety lag, which would take in everything of the last seconds again.
    monkeypatch.setattr(refresh_job, "WATERMARK_LAG", dt.timedelta(0))
    project_id, items = make_project(client, ctx, owner, items=3)
    annotator = member_of(owner, Role.annotator)
    for item in items:
        submit(client, annotator, item["id"], {"sentiment": "positive"})
    assert refresh(client, ctx, owner, project_id)["stats"]["items"] == 3
    assert refresh(client, ctx, owner, project_id)["stats"]["items"] == 0
    other = member_of(owner, Role.annotator)
    submit(client, other, items[1]["id"], {"sentiment": "negative"})
    assert refresh(client, ctx, owner, project_id)["stats"]["items"] == 1
    rows = {r["item_id"]: r for r in aggregates(client, owner, project_id) if r["question"] == "sentiment"}
    assert rows[items[1]["id"]]["annotations"] == 2 and rows[items[1]["id"]]["confidence"] == 0.5
    # Changing the settings recomputes everything at the next refresh.
    changed = client.patch(f"/api/v1/projects/{project_id}/quality/settings", json={"method": "dawid_skene"},
                           headers=owner.headers)
    assert changed.status_code == 200 and changed.json()["refreshed_through"] is None
    assert refresh(client, ctx, owner, project_id)["stats"]["items"] == 3
    methods = {r["method"] for r in aggregates(client, owner, project_id) if r["question"] == "sentiment"}
    assert methods == {"dawid_skene"}


def test_an_annotator_cannot_tell_a_gold_item_from_a_real_one(client, ctx, owner, member_of):
    project_id, items = make_project(client, ctx, owner, items=2)
    gold, real = items
    assert client.put(f"/api/v1/items/{gold['id']}/gold", json={"answers": {"sentiment": "neutral"}},
                      headers=owner.headers).status_code == 200
    annotator = member_of(owner, Role.annotator)
    seen_gold = client.get(f"/api/v1/items/{gold['id']}", headers=annotator.headers).json()
    seen_real = client.get(f"/api/v1/items/{real['id']}", headers=annotator.headers).json()
    assert seen_gold.keys() == seen_real.keys()
    assert "gold" not in orjson.dumps(seen_gold).decode().lower()
    assert client.get(f"/api/v1/items/{gold['id']}/gold", headers=annotator.headers).status_code == 403
    assert client.get(f"/api/v1/projects/{project_id}/gold", headers=annotator.headers).status_code == 403


def test_gold_answers_are_checked_listed_and_removed(client, ctx, owner):
    project_id, items = make_project(client, ctx, owner, items=2)
    wrong = client.put(f"/api/v1/items/{items[0]['id']}/gold", json={"answers": {"sentiment": "angry"}},
                       headers=owner.headers)
    assert wrong.status_code == 422 and wrong.json()["details"]["problems"][0]["field"] == "sentiment"
    empty = client.put(f"/api/v1/items/{items[0]['id']}/gold", json={"answers": {}}, headers=owner.headers)
    assert empty.status_code == 422
    for item in items:
        assert client.put(f"/api/v1/items/{item['id']}/gold", json={"answers": {"sentiment": "neutral"}},
                          headers=owner.headers).status_code == 200
    listed = client.get(f"/api/v1/projects/{project_id}/gold", headers=owner.headers).json()["items"]
    assert sorted(g["item_id"] for g in listed) == sorted(i["id"] for i in items)
    assert client.delete(f"/api/v1/items/{items[0]['id']}/gold", headers=owner.headers).status_code == 204
    assert client.get(f"/api/v1/items/{items[0]['id']}/gold", headers=owner.headers).status_code == 404
    assert client.get(f"/api/v1/projects/{project_id}/quality/report", headers=owner.headers).status_code == 404
