"""Annotations through the REST API: submit, edit with revisions, drafts, idempotent retries, blind reading."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from sqlalchemy import func, select

from labelvault.accounts.models import Role
from labelvault.annotations.models import Annotation, AnnotationRevision, IdempotencyRecord
from labelvault.kit.ids import new_id
from labelvault.testing import make_actor

SCHEMA: dict[str, Any] = {
    "fields": [{"name": "text", "kind": "text"}],
    "questions": [
        {"name": "sentiment", "type": "single_choice",
         "options": [{"value": "positive"}, {"value": "neutral"}, {"value": "negative"}]},
        {"name": "reason", "type": "free_text", "min_length": 3,
         "show_when": {"question": "sentiment", "equals": "negative"}},
        {"name": "entities", "type": "spans", "field": "text", "required": False,
         "labels": [{"value": "PER"}, {"value": "LOC"}]},
    ],
}
TEXT = "Alice went to Paris."
POSITIVE = {"sentiment": "positive"}
NEGATIVE = {"sentiment": "negative", "reason": "Too short."}


def make_project(client, ctx, owner, *, overlap: int = 1, items: int = 1) -> tuple[str, list[dict[str, Any]]]:
    created = client.post("/api/v1/projects", json={"name": "Reviews", "schema": SCHEMA, "default_overlap": overlap},
                          headers=owner.headers)
    assert created.status_code == 201, created.text
    project_id = created.json()["id"]
    body = b"".join(orjson.dumps({"external_id": f"t{i}", "data": {"text": TEXT}}) + b"\n" for i in range(items))
    job = client.post(f"/api/v1/projects/{project_id}/imports", params={"filename": "items.jsonl"}, content=body,
                      headers=owner.headers)
    assert job.status_code == 202, job.text
    ctx.runner.run_until_idle()
    listed = client.get(f"/api/v1/projects/{project_id}/items", headers=owner.headers).json()["items"]
    assert len(listed) == items
    return project_id, listed


def submit(client, actor, item_id: str, answers: dict[str, Any], *, draft: bool = False, time_spent_ms: int = 0,
           key: str | None = None, expect: int | None = 201):
    headers = {**actor.headers, **({"Idempotency-Key": key} if key else {})}
    response = client.post(f"/api/v1/items/{item_id}/annotations",
                           json={"answers": answers, "draft": draft, "time_spent_ms": time_spent_ms},
                           headers=headers)
    if expect is not None:
        assert response.status_code == expect, response.text
    return response


def item_of(client, actor, item_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/items/{item_id}", headers=actor.headers)
    assert response.status_code == 200, response.text
    return response.json()


def count_rows(factory, model) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count()).select_from(model)))


def test_submit_answers_201_and_completes_the_item_at_overlap_1(client, ctx, owner, member_of):
    _, [item] = make_project(client, ctx, owner)
    assert item["state"] == "new"
    annotator = member_of(owner, Role.annotator)
    saved = submit(client, annotator, item["id"], NEGATIVE, time_spent_ms=4200).json()
    assert saved["status"] == "submitted"
    assert saved["answers"] == NEGATIVE
    assert saved["author_id"] == annotator.user_id
    assert saved["item_id"] == item["id"]
    assert saved["schema_version"] == 1
    assert saved["revision_count"] == 0
    assert saved["time_spent_ms"] == 4200
    assert saved["submitted_at"] is not None
    after = item_of(client, owner, item["id"])
    assert after["state"] == "completed"
    assert after["annotation_count"] == 1
    fetched = client.get(f"/api/v1/annotations/{saved['id']}", headers=annotator.headers)
    assert fetched.status_code == 200
    assert fetched.json() == saved


def test_item_is_in_progress_until_overlap_is_reached(client, ctx, owner, member_of):
    _, [item] = make_project(client, ctx, owner, overlap=2)
    first, second = member_of(owner, Role.annotator), member_of(owner, Role.annotator)
    submit(client, first, item["id"], POSITIVE)
    after_one = item_of(client, owner, item["id"])
    assert (after_one["state"], after_one["annotation_count"]) == ("in_progress", 1)
    submit(client, first, item["id"], NEGATIVE)  # an edit is not a second annotator
    assert item_of(client, owner, item["id"])["state"] == "in_progress"
    submit(client, second, item["id"], POSITIVE)
    after_two = item_of(client, owner, item["id"])
    assert (after_two["state"], after_two["annotation_count"]) == ("completed", 2)


def test_second_submit_edits_and_keeps_the_earlier_version_as_a_revision(client, ctx, owner, member_of):
    _, [item] = make_project(client, ctx, owner)
    annotator = member_of(owner, Role.annotator)
    first = submit(client, annotator, item["id"], POSITIVE, time_spent_ms=1000).json()
    assert client.get(f"/api/v1/annotations/{first['id']}/revisions", headers=annotator.headers).json() == []

    second = submit(client, annotator, item["id"], NEGATIVE, time_spent_ms=500).json()
    assert second["id"] == first["id"]
    assert second["answers"] == NEGATIVE
    assert second["revision_count"] == 1
    assert second["time_spent_ms"] == 1500

    third = submit(client, annotator, item["id"], {"sentiment": "neutral"}, time_spent_ms=250).json()
    assert third["id"] == first["id"]
    assert third["revision_count"] == 2
    assert third["time_spent_ms"] == 1750

    revisions = client.get(f"/api/v1/annotations/{first['id']}/revisions", headers=annotator.headers)
    assert revisions.status_code == 200
    assert [(r["number"], r["answers"], r["time_spent_ms"]) for r in revisions.json()] == [
        (1, POSITIVE, 1000), (2, NEGATIVE, 1500)]
    assert all(r["status"] == "submitted" and r["author_id"] == annotator.user_id for r in revisions.json())
    assert count_rows(ctx.factory, Annotation) == 1
    after = item_of(client, owner, item["id"])
    assert (after["state"], after["annotation_count"]) == ("completed", 1)


def test_draft_with_missing_required_answers_is_saved_but_not_counted(client, ctx, owner, member_of):
    _, [item] = make_project(client, ctx, owner)
    annotator = member_of(owner, Role.annotator)
    draft = submit(client, annotator, item["id"], {"sentiment": "negative"}, draft=True, time_spent_ms=300).json()
    assert draft["status"] == "draft"
    assert draft["submitted_at"] is None
    assert draft["answers"] == {"sentiment": "negative"}
    still = item_of(client, owner, item["id"])
    assert (still["state"], still["annotation_count"]) == ("new", 0)

    again = submit(client, annotator, item["id"], {"sentiment": "negative", "reason": "Ru"}, draft=True).json()
    assert again["id"] == draft["id"] and again["status"] == "draft"
    assert again["revision_count"] == 0  # drafts are work in progress, not versions
    assert item_of(client, owner, item["id"])["annotation_count"] == 0

    # The draft is not a submission: submitting it still needs every required answer.
    incomplete = submit(client, annotator, item["id"], {"sentiment": "negative"}, expect=422).json()
    assert [p["field"] for p in incomplete["details"]["problems"]] == ["reason"]

    submitted = submit(client, annotator, item["id"], NEGATIVE, time_spent_ms=700).json()
    assert submitted["id"] == draft["id"]
    assert submitted["status"] == "submitted"
    assert submitted["submitted_at"] is not None
    assert submitted["time_spent_ms"] == 1000
    done = item_of(client, owner, item["id"])
    assert (done["state"], done["annotation_count"]) == ("completed", 1)

    submit(client, annotator, item["id"], POSITIVE)
    assert item_of(client, owner, item["id"])["annotation_count"] == 1


def test_draft_values_are_still_checked(client, ctx, owner, member_of):
    _, [item] = make_project(client, ctx, owner)
    annotator = member_of(owner, Role.annotator)
    bad = submit(client, annotator, item["id"], {"entities": [{"start": 0, "end": 99, "label": "PER"}]},
                 draft=True, expect=422).json()
    assert [p["field"] for p in bad["details"]["problems"]] == ["entities[0].end"]
    assert count_rows(ctx.factory, Annotation) == 0


def test_draft_over_a_submitted_annotation_is_a_conflict(client, ctx, owner, member_of):
    _, [item] = make_project(client, ctx, owner)
    annotator = member_of(owner, Role.annotator)
    submitted = submit(client, annotator, item["id"], POSITIVE).json()
    conflict = submit(client, annotator, item["id"], {"sentiment": "neutral"}, draft=True, expect=409).json()
    assert conflict["code"] == "conflict"
    assert conflict["details"]["annotation_id"] == submitted["id"]
    kept = client.get(f"/api/v1/annotations/{submitted['id']}", headers=annotator.headers).json()
    assert kept["status"] == "submitted" and kept["answers"] == POSITIVE and kept["revision_count"] == 0


def test_retry_with_the_same_idempotency_key_replays_the_first_result(client, ctx, owner, member_of):
    _, [item] = make_project(client, ctx, owner)
    annotator = member_of(owner, Role.annotator)
    first = submit(client, annotator, item["id"], POSITIVE, time_spent_ms=900, key="submit-1")
    assert "Idempotent-Replayed" not in first.headers
    for _ in range(2):
        retry = submit(client, annotator, item["id"], POSITIVE, time_spent_ms=900, key="submit-1", expect=200)
        assert retry.headers["Idempotent-Replayed"] == "true"
        assert retry.json()["id"] == first.json()["id"]
        assert retry.json()["revision_count"] == 0
        assert retry.json()["time_spent_ms"] == 900
    assert count_rows(ctx.factory, Annotation) == 1
    assert count_rows(ctx.factory, AnnotationRevision) == 0
    assert count_rows(ctx.factory, IdempotencyRecord) == 1
    assert item_of(client, owner, item["id"])["annotation_count"] == 1


def test_idempotency_keys_belong_to_their_user(client, ctx, owner, member_of):
    _, [item] = make_project(client, ctx, owner, overlap=2)
    first, second = member_of(owner, Role.annotator), member_of(owner, Role.annotator)
    mine = submit(client, first, item["id"], POSITIVE, key="same-key").json()
    theirs = submit(client, second, item["id"], POSITIVE, key="same-key").json()
    assert theirs["id"] != mine["id"]
    assert theirs["author_id"] == second.user_id


@pytest.mark.parametrize("change", [
    {"answers": {"sentiment": "neutral"}},
    {"draft": True},
    {"time_spent_ms": 901},
    {"item": 1},
], ids=["other answers", "draft instead", "other time spent", "other item"])
def test_same_idempotency_key_with_a_different_body_is_a_conflict(client, ctx, owner, member_of, change):
    _, items = make_project(client, ctx, owner, items=2)
    annotator = member_of(owner, Role.annotator)
    first = submit(client, annotator, items[0]["id"], POSITIVE, time_spent_ms=900, key="k-1").json()
    body = {"answers": POSITIVE, "draft": False, "time_spent_ms": 900, **change}
    item_id = items[body.pop("item", 0)]["id"]
    response = client.post(f"/api/v1/items/{item_id}/annotations", json=body,
                           headers={**annotator.headers, "Idempotency-Key": "k-1"})
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "conflict"
    assert response.json()["details"] == {"field": "Idempotency-Key"}
    kept = client.get(f"/api/v1/annotations/{first['id']}", headers=annotator.headers).json()
    assert kept["answers"] == POSITIVE and kept["revision_count"] == 0 and kept["time_spent_ms"] == 900
    assert count_rows(ctx.factory, Annotation) == 1


def test_a_rejected_request_does_not_use_up_its_idempotency_key(client, ctx, owner, member_of):
    _, [item] = make_project(client, ctx, owner)
    annotator = member_of(owner, Role.annotator)
    submit(client, annotator, item["id"], {"sentiment": "angry"}, key="k-2", expect=422)
    assert count_rows(ctx.factory, IdempotencyRecord) == 0
    saved = submit(client, annotator, item["id"], POSITIVE, key="k-2")
    assert "Idempotent-Replayed" not in saved.headers


def test_idempotency_key_length_is_limited(client, ctx, owner, member_of):
    _, [item] = make_project(client, ctx, owner)
    annotator = member_of(owner, Role.annotator)
    response = submit(client, annotator, item["id"], POSITIVE, key="k" * 201, expect=422).json()
    assert response["details"] == {"field": "Idempotency-Key"}


def test_annotation_is_blind_between_annotators(client, ctx, owner, member_of):
    _, [item] = make_project(client, ctx, owner, overlap=2)
    alice, bob = member_of(owner, Role.annotator), member_of(owner, Role.annotator)
    reviewer = member_of(owner, Role.reviewer)
    alices = submit(client, alice, item["id"], POSITIVE).json()
    submit(client, alice, item["id"], NEGATIVE)  # so that there is a revision to hide too
    bobs = submit(client, bob, item["id"], {"sentiment": "neutral"}).json()

    missing = client.get(f"/api/v1/annotations/{new_id()}", headers=bob.headers)
    assert missing.status_code == 404
    for path in (f"/api/v1/annotations/{alices['id']}", f"/api/v1/annotations/{alices['id']}/revisions"):
        hidden = client.get(path, headers=bob.headers)
        assert hidden.status_code == 404, path
        assert hidden.json() == missing.json()

    own = client.get(f"/api/v1/items/{item['id']}/annotations", headers=bob.headers)
    assert own.status_code == 200
    assert [a["id"] for a in own.json()] == [bobs["id"]]
    assert [a["id"] for a in client.get(f"/api/v1/items/{item['id']}/annotations",
                                         headers=alice.headers).json()] == [alices["id"]]

    for viewer in (reviewer, owner):
        everyone = client.get(f"/api/v1/items/{item['id']}/annotations", headers=viewer.headers).json()
        assert {a["id"] for a in everyone} == {alices["id"], bobs["id"]}
        assert client.get(f"/api/v1/annotations/{alices['id']}", headers=viewer.headers).json()["answers"] == NEGATIVE
        revisions = client.get(f"/api/v1/annotations/{alices['id']}/revisions", headers=viewer.headers).json()
        assert [r["answers"] for r in revisions] == [POSITIVE]


def test_invalid_answers_answer_422_naming_the_question(client, ctx, owner, member_of):
    _, [item] = make_project(client, ctx, owner)
    annotator = member_of(owner, Role.annotator)
    response = submit(client, annotator, item["id"], {"sentiment": "angry", "mood": "x",
                                                      "entities": [{"start": 0, "end": 5, "label": "ORG"}]},
                      expect=422).json()
    assert response["code"] == "invalid_input"
    assert [p["field"] for p in response["details"]["problems"]] == ["mood", "sentiment", "entities[0].label"]
    assert "mood" in response["message"]
    hidden = submit(client, annotator, item["id"], {"sentiment": "positive", "reason": "Nice one."},
                    expect=422).json()
    assert [p["field"] for p in hidden["details"]["problems"]] == ["reason"]
    assert count_rows(ctx.factory, Annotation) == 0
    assert item_of(client, owner, item["id"])["state"] == "new"


@pytest.mark.parametrize(("body", "field"), [
    ({"answers": ["positive"]}, "answers"),
    ({}, "answers"),
    ({"answers": POSITIVE, "time_spent_ms": -1}, "time_spent_ms"),
])
def test_malformed_body_answers_422(client, ctx, owner, member_of, body, field):
    _, [item] = make_project(client, ctx, owner)
    annotator = member_of(owner, Role.annotator)
    response = client.post(f"/api/v1/items/{item['id']}/annotations", json=body, headers=annotator.headers)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_input"
    assert field in [p["field"] for p in response.json()["details"]["problems"]]


def test_time_spent_over_a_day_is_rejected(client, ctx, owner, member_of):
    _, [item] = make_project(client, ctx, owner)
    annotator = member_of(owner, Role.annotator)
    response = submit(client, annotator, item["id"], POSITIVE, time_spent_ms=24 * 3600 * 1000 + 1, expect=422)
    assert response.json()["details"] == {"field": "time_spent_ms"}


def test_another_organizations_item_answers_like_a_missing_one(client, ctx, owner, member_of, factory):
    _, [item] = make_project(client, ctx, owner)
    annotator = member_of(owner, Role.annotator)
    annotation = submit(client, annotator, item["id"], POSITIVE).json()
    stranger = make_actor(factory, Role.owner)
    missing_item, missing_annotation = new_id(), new_id()
    pairs = [
        ("POST", f"/api/v1/items/{item['id']}/annotations", f"/api/v1/items/{missing_item}/annotations"),
        ("GET", f"/api/v1/items/{item['id']}/annotations", f"/api/v1/items/{missing_item}/annotations"),
        ("GET", f"/api/v1/annotations/{annotation['id']}", f"/api/v1/annotations/{missing_annotation}"),
        ("GET", f"/api/v1/annotations/{annotation['id']}/revisions",
         f"/api/v1/annotations/{missing_annotation}/revisions"),
    ]
    for method, theirs_path, missing_path in pairs:
        body = {"answers": POSITIVE} if method == "POST" else None
        theirs = client.request(method, theirs_path, json=body, headers=stranger.headers)
        missing = client.request(method, missing_path, json=body, headers=stranger.headers)
        assert theirs.status_code == missing.status_code == 404, theirs_path
        assert theirs.json() == missing.json()
        assert theirs.json()["code"] == "not_found"
    assert count_rows(ctx.factory, Annotation) == 1
    assert item_of(client, owner, item["id"])["annotation_count"] == 1


def test_time_spent_accumulates_over_drafts_and_edits(client, ctx, owner, member_of):
    _, [item] = make_project(client, ctx, owner)
    annotator = member_of(owner, Role.annotator)
    submit(client, annotator, item["id"], {}, draft=True, time_spent_ms=1000)
    submit(client, annotator, item["id"], {"sentiment": "neutral"}, draft=True, time_spent_ms=2000)
    submitted = submit(client, annotator, item["id"], POSITIVE, time_spent_ms=3000, key="final").json()
    assert submitted["time_spent_ms"] == 6000
    submit(client, annotator, item["id"], POSITIVE, time_spent_ms=3000, key="final", expect=200)
    edited = submit(client, annotator, item["id"], NEGATIVE, time_spent_ms=500).json()
    assert edited["time_spent_ms"] == 6500
    assert client.get(f"/api/v1/annotations/{edited['id']}", headers=annotator.headers).json()[
        "time_spent_ms"] == 6500


def test_annotations_made_before_a_schema_change_keep_their_version(client, ctx, owner, member_of):
    project_id, [item] = make_project(client, ctx, owner)
    annotator = member_of(owner, Role.annotator)
    before = submit(client, annotator, item["id"], POSITIVE).json()
    changed = {**SCHEMA, "questions": [*SCHEMA["questions"],
                                       {"name": "sarcastic", "type": "single_choice", "required": False,
                                        "options": [{"value": "yes"}, {"value": "no"}]}]}
    assert client.put(f"/api/v1/projects/{project_id}/schema", json=changed,
                      headers=owner.headers).status_code == 201
    assert client.get(f"/api/v1/annotations/{before['id']}", headers=annotator.headers).json()[
        "schema_version"] == 1
    edited = submit(client, annotator, item["id"], {"sentiment": "positive", "sarcastic": "yes"}).json()
    assert edited["schema_version"] == 2
    revisions = client.get(f"/api/v1/annotations/{before['id']}/revisions", headers=annotator.headers).json()
    assert [(r["schema_version"], r["answers"]) for r in revisions] == [(1, POSITIVE)]
