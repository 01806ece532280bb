"""Listing, reading and deleting items; the media store."""

from __future__ import annotations

import orjson
from sqlalchemy import select

from labelvault.accounts.models import Role
from labelvault.db.engine import transaction
from labelvault.demo import png
from labelvault.items.models import ItemDeletion
from labelvault.testing import TEXT_SCHEMA, make_actor

IMAGE_SCHEMA = {"fields": [{"name": "image", "kind": "image"}],
                "questions": [{"name": "boxes", "type": "boxes", "field": "image", "labels": [{"value": "cat"}]}]}


def _project(client, actor, schema=TEXT_SCHEMA):
    return client.post("/api/v1/projects", json={"name": "P", "schema": schema}, headers=actor.headers).json()


def _import(client, ctx, actor, project_id, rows):
    body = b"".join(orjson.dumps(r) + b"\n" for r in rows)
    job = client.post(f"/api/v1/projects/{project_id}/imports", params={"filename": "x.jsonl"}, content=body,
                      headers=actor.headers).json()
    ctx.runner.run_until_idle()
    return client.get(f"/api/v1/jobs/{job['id']}", headers=actor.headers).json()


def test_cursor_pages_cover_every_item_once_in_import_order(client, ctx, owner):
    project = _project(client, owner)
    _import(client, ctx, owner, project["id"], [{"external_id": f"e{i}", "data": {"text": "t"}} for i in range(23)])
    seen, cursor = [], None
    while True:
        page = client.get(f"/api/v1/projects/{project['id']}/items", params={"limit": 10, **(
            {"cursor": cursor} if cursor else {})}, headers=owner.headers).json()
        seen += [i["external_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [f"e{i}" for i in range(23)]
    too_big = client.get(f"/api/v1/projects/{project['id']}/items", params={"limit": 100000}, headers=owner.headers)
    assert too_big.status_code == 422 and too_big.json()["details"] == {"field": "limit"}
    bad_cursor = client.get(f"/api/v1/projects/{project['id']}/items", params={"cursor": "@@"},
                            headers=owner.headers)
    assert bad_cursor.status_code == 422


def test_delete_needs_confirmation_removes_annotations_and_records_who(client, ctx, owner, member_of, factory):
    project = _project(client, owner)
    _import(client, ctx, owner, project["id"], [{"external_id": "a", "data": {"text": "hello"}}])
    item = client.get(f"/api/v1/projects/{project['id']}/items", headers=owner.headers).json()["items"][0]
    annotator = member_of(owner, Role.annotator)
    client.post(f"/api/v1/items/{item['id']}/annotations", json={"answers": {"sentiment": "neutral"}},
                headers=annotator.headers)
    assert client.delete(f"/api/v1/items/{item['id']}", headers=annotator.headers).status_code == 403
    unconfirmed = client.delete(f"/api/v1/items/{item['id']}", headers=owner.headers)
    assert unconfirmed.status_code == 422 and "confirm" in unconfirmed.json()["message"]
    deleted = client.delete(f"/api/v1/items/{item['id']}", params={"confirm": "true"}, headers=owner.headers)
    assert deleted.status_code == 200
    assert deleted.json()["annotation_count"] == 1 and deleted.json()["deleted_by_id"] == owner.user_id
    assert client.get(f"/api/v1/items/{item['id']}", headers=owner.headers).status_code == 404
    exported = client.get(f"/api/v1/projects/{project['id']}/export", headers=owner.headers)
    assert exported.content == b""
    with transaction(factory) as session:
        record = session.scalars(select(ItemDeletion)).one()
        assert record.external_id == "a" and record.deleted_at is not None


def test_media_upload_serve_and_isolation(client, ctx, owner, factory):
    project = _project(client, owner, IMAGE_SCHEMA)
    image = png(8, 8, (10, 20, 30), (1, 1, 4, 4))
    put = client.put(f"/api/v1/projects/{project['id']}/media/cats/1.png", content=image, headers=owner.headers)
    assert put.status_code == 201 and put.json() == {"path": "cats/1.png", "size": len(image)}
    job = _import(client, ctx, owner, project["id"], [{"external_id": "c", "data": {"image": "cats/1.png"}}])
    assert job["stats"]["imported"] == 1
    got = client.get(f"/api/v1/projects/{project['id']}/media/cats/1.png", headers=owner.headers)
    assert got.content == image and got.headers["content-type"] == "image/png"
    assert got.headers["content-security-policy"] == "default-src 'none'"
    escape = client.put(f"/api/v1/projects/{project['id']}/media/..%2F..%2Fsecret.key", content=b"x",
                        headers=owner.headers)
    assert escape.status_code in (404, 422)
    stranger = make_actor(factory, Role.owner)
    foreign = client.get(f"/api/v1/projects/{project['id']}/media/cats/1.png", headers=stranger.headers)
    assert foreign.status_code == 404
