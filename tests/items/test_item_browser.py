"""The item browser: filters, orders and keyset pages; the item detail; bulk actions."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import event

from labelvault.accounts.models import Role
from labelvault.testing import TEXT_SCHEMA


def _project(client, ctx, owner, rows, **settings):
    project = client.post("/api/v1/projects", json={"name": "B", "schema": TEXT_SCHEMA, **settings},
                          headers=owner.headers).json()
    body = b"".join(orjson.dumps(r) + b"\n" for r in rows)
    job = client.post(f"/api/v1/projects/{project['id']}/imports", params={"filename": "x.jsonl"}, content=body,
                      headers=owner.headers).json()
    ctx.runner.run_until_idle()
    finished = client.get(f"/api/v1/jobs/{job['id']}", headers=owner.headers).json()
    assert finished["state"] == "succeeded", (finished.get("error"), finished)
    return project


def _all_pages(client, actor, project, **params):
    seen, cursor = [], None
    while True:
        page = client.get(f"/api/v1/projects/{project['id']}/items", params={**params, "limit": 3,
                          **({"cursor": cursor} if cursor else {})}, headers=actor.headers)
        assert page.status_code == 200, page.text
        body = page.json()
        seen += [item["external_id"] for item in body["items"]]
        if not (cursor := body["next_cursor"]):
            return seen


ROWS = [{"external_id": f"e{i}", "data": {"text": f"Text number {i}"},
         "metadata": {"split": "train" if i % 2 else "test", **({"note": "a needle"} if i % 4 == 0 else {})},
         "priority": i % 3} for i in range(10)]


def test_orders_and_keyset_pages(client, ctx, owner):
    project = _project(client, ctx, owner, ROWS)
    assert _all_pages(client, owner, project) == [f"e{i}" for i in range(10)]
    assert _all_pages(client, owner, project, sort="-id") == [f"e{i}" for i in reversed(range(10))]
    by_priority = sorted(range(10), key=lambda i: (-(i % 3), -i))
    assert _all_pages(client, owner, project, sort="priority") == [f"e{i}" for i in by_priority]


def test_filters_by_metadata_text_state_and_date(client, ctx, owner):
    project = _project(client, ctx, owner, ROWS)
    assert _all_pages(client, owner, project, meta="split:train") == [f"e{i}" for i in range(1, 10, 2)]
    assert _all_pages(client, owner, project, q="NEEDLE") == ["e0", "e4", "e8"]
    assert _all_pages(client, owner, project, q="e7") == ["e7"]  # the external id
    assert _all_pages(client, owner, project, q="Text number") == []  # item data is encrypted: not searched
    assert _all_pages(client, owner, project, q="100%") == []  # wildcards are taken literally
    assert _all_pages(client, owner, project, q="needle", meta="split:test") == ["e0", "e4", "e8"]
    assert _all_pages(client, owner, project, state="completed") == []
    assert _all_pages(client, owner, project, updated_after="2000-01-01T00:00:00Z") == [f"e{i}" for i in range(10)]
    assert _all_pages(client, owner, project, updated_before="2000-01-01T00:00:00Z") == []


def test_filters_by_annotator_and_reviewer_and_who_may(client, ctx, owner, member_of):
    project = _project(client, ctx, owner, ROWS[:4], review_mode="all")
    annotator = member_of(owner, Role.annotator)
    reviewer = member_of(owner, Role.reviewer)
    annotated = []
    for _ in range(2):
        item = client.post(f"/api/v1/projects/{project['id']}/next", headers=annotator.headers).json()["item"]
        annotated.append(item["external_id"])
        client.post(f"/api/v1/items/{item['id']}/annotations", json={"answers": {"sentiment": "positive"}},
                    headers=annotator.headers)
    claimed = client.post(f"/api/v1/projects/{project['id']}/review/next", headers=reviewer.headers).json()
    annotation_id = claimed["annotation"]["id"]
    decided = client.post(f"/api/v1/annotations/{annotation_id}/review", json={"decision": "accept"},
                          headers=reviewer.headers)
    assert decided.status_code in (200, 201), decided.text
    assert _all_pages(client, owner, project, annotator=annotator.user_id) == sorted(annotated) == ["e1", "e2"]
    assert _all_pages(client, owner, project, reviewer=reviewer.user_id) == [claimed["item"]["external_id"]]
    # Annotators may ask about their own work only.
    assert _all_pages(client, annotator, project, annotator=annotator.user_id) == ["e1", "e2"]
    refused = client.get(f"/api/v1/projects/{project['id']}/items", params={"reviewer": reviewer.user_id},
                         headers=annotator.headers)
    assert refused.status_code == 403 and refused.json()["details"]["field"] == "reviewer"


@pytest.mark.parametrize("params,field", [
    ({"sort": "name"}, "sort"), ({"meta": "no-colon"}, "meta"), ({"state": "done"}, "state"),
    ({"cursor": "bm90LWEtbGlzdA"}, "cursor"), ({"q": "x" * 201}, "q"),
])
def test_bad_browser_input_says_which_field(client, ctx, owner, params, field):
    project = _project(client, ctx, owner, ROWS[:1])
    answer = client.get(f"/api/v1/projects/{project['id']}/items", params=params, headers=owner.headers)
    assert answer.status_code == 422 and answer.json()["details"]["field"] == field, answer.text


def test_a_cursor_of_another_order_is_refused(client, ctx, owner):
    project = _project(client, ctx, owner, ROWS)
    first = client.get(f"/api/v1/projects/{project['id']}/items", params={"limit": 2}, headers=owner.headers).json()
    mixed = client.get(f"/api/v1/projects/{project['id']}/items",
                       params={"limit": 2, "sort": "priority", "cursor": first["next_cursor"]}, headers=owner.headers)
    assert mixed.status_code == 422 and mixed.json()["details"]["field"] == "cursor"


def test_detail_shows_every_annotation_with_its_reviews_and_hides_authors_when_blind(client, ctx, owner, member_of):
    project = _project(client, ctx, owner, ROWS[:1], review_mode="all", blind_review=True)
    annotator = member_of(owner, Role.annotator)
    reviewer = member_of(owner, Role.reviewer)
    item = client.post(f"/api/v1/projects/{project['id']}/next", headers=annotator.headers).json()["item"]
    client.post(f"/api/v1/items/{item['id']}/annotations", json={"answers": {"sentiment": "negative"}},
                headers=annotator.headers)
    claimed = client.post(f"/api/v1/projects/{project['id']}/review/next", headers=reviewer.headers).json()
    client.post(f"/api/v1/annotations/{claimed['annotation']['id']}/review",
                json={"decision": "reject", "comment": "Read again."}, headers=reviewer.headers)
    detail = client.get(f"/api/v1/items/{item['id']}/detail", headers=owner.headers).json()
    assert detail["item"]["id"] == item["id"]
    [annotation] = detail["annotations"]
    assert annotation["author_id"] == annotator.user_id and annotation["answers"] == {"sentiment": "negative"}
    assert [(r["decision"], r["comment"], r["reviewer_id"]) for r in annotation["reviews"]] == [
        ("reject", "Read again.", reviewer.user_id)]
    as_reviewer = client.get(f"/api/v1/items/{item['id']}/detail", headers=reviewer.headers).json()
    assert as_reviewer["annotations"][0]["author_id"] is None
    listed = client.get(f"/api/v1/items/{item['id']}/annotations", headers=reviewer.headers).json()
    assert [a["author_id"] for a in listed] == [None]
    assert client.get(f"/api/v1/items/{item['id']}/detail", headers=annotator.headers).status_code == 403


def test_bulk_requeue_overlap_and_delete(client, ctx, owner, member_of):
    project = _project(client, ctx, owner, ROWS[:3])
    items = {i["external_id"]: i["id"] for i in client.get(f"/api/v1/projects/{project['id']}/items",
                                                           headers=owner.headers).json()["items"]}
    annotator = member_of(owner, Role.annotator)
    url = f"/api/v1/projects/{project['id']}/items/bulk"
    held = client.post(f"/api/v1/projects/{project['id']}/next", headers=annotator.headers).json()
    requeued = client.post(url, json={"action": "requeue", "item_ids": [held["item"]["id"], "no-such-item"]},
                           headers=owner.headers).json()
    assert requeued["done"] == [held["item"]["id"]] and requeued["not_found"] == ["no-such-item"]
    assert requeued["leases_released"] == 1
    heartbeat = client.post(f"/api/v1/leases/{held['lease']['id']}/heartbeat", headers=annotator.headers)
    assert heartbeat.status_code in (404, 409)
    # Completed, then raised: back in the queue for a second person; the first annotation stays.
    again = client.post(f"/api/v1/projects/{project['id']}/next", headers=annotator.headers).json()["item"]
    client.post(f"/api/v1/items/{again['id']}/annotations", json={"answers": {"sentiment": "positive"}},
                headers=annotator.headers)
    assert client.get(f"/api/v1/items/{again['id']}", headers=owner.headers).json()["state"] == "completed"
    raised = client.post(url, json={"action": "set_overlap", "item_ids": [again["id"]], "overlap": 2},
                         headers=owner.headers)
    assert raised.status_code == 200, raised.text
    after = client.get(f"/api/v1/items/{again['id']}", headers=owner.headers).json()
    assert (after["state"], after["overlap"], after["annotation_count"]) == ("in_progress", 2, 1)
    second = member_of(owner, Role.annotator)
    got = client.post(f"/api/v1/projects/{project['id']}/next", headers=second.headers).json()["item"]
    assert got["id"] == again["id"]
    lowered = client.post(url, json={"action": "set_overlap", "item_ids": [again["id"]]}, headers=owner.headers)
    assert lowered.status_code == 422 and lowered.json()["details"]["field"] == "overlap"
    unconfirmed = client.post(url, json={"action": "delete", "item_ids": list(items.values())}, headers=owner.headers)
    assert unconfirmed.status_code == 422 and unconfirmed.json()["details"]["field"] == "confirm"
    deleted = client.post(url, json={"action": "delete", "item_ids": list(items.values()), "confirm": True},
                          headers=owner.headers).json()
    assert sorted(deleted["done"]) == sorted(items.values())
    assert client.get(f"/api/v1/projects/{project['id']}/items", headers=owner.headers).json()["items"] == []
    refused = client.post(url, json={"action": "requeue", "item_ids": ["x"]}, headers=annotator.headers)
    assert refused.status_code == 403


def _statements(engine, call):
    seen = []

    def count(_conn, _cursor, statement, *_):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        answer = call()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert answer.status_code == 200, answer.text
    return len(seen)


def test_the_detail_and_a_page_take_the_same_queries_for_one_annotation_or_many(client, ctx, owner, member_of,
                                                                                 engine):
    project = _project(client, ctx, owner, ROWS[:3], default_overlap=4)
    items = [i["id"] for i in client.get(f"/api/v1/projects/{project['id']}/items", headers=owner.headers)
             .json()["items"]]
    people = [member_of(owner, Role.annotator) for _ in range(4)]
    for n, person in enumerate(people):
        for item_id in items[: 1 if n == 0 else 3]:  # the first item gets 4 annotations, the others 3
            client.post(f"/api/v1/items/{item_id}/annotations", json={"answers": {"sentiment": "positive"}},
                        headers=person.headers)
    one = member_of(owner, Role.annotator)
    lonely = _project(client, ctx, owner, ROWS[:1])
    lonely_item = client.get(f"/api/v1/projects/{lonely['id']}/items", headers=owner.headers).json()["items"][0]
    client.post(f"/api/v1/items/{lonely_item['id']}/annotations", json={"answers": {"sentiment": "positive"}},
                headers=one.headers)
    many = _statements(engine, lambda: client.get(f"/api/v1/items/{items[0]}/detail", headers=owner.headers))
    few = _statements(engine, lambda: client.get(f"/api/v1/items/{lonely_item['id']}/detail", headers=owner.headers))
    assert many == few
    big_page = _statements(engine, lambda: client.get(f"/api/v1/projects/{project['id']}/items",
                                                      headers=owner.headers))
    small_page = _statements(engine, lambda: client.get(f"/api/v1/projects/{lonely['id']}/items",
                                                        headers=owner.headers))
    assert big_page == small_page
