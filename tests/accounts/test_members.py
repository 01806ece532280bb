"""Owners change roles and remove members; a removed member's credentials stop working at once."""

from __future__ import annotations

import orjson

from labelvault.accounts.models import Role
from labelvault.testing import TEXT_SCHEMA, make_actor


def _role(client, owner, user_id):
    members = client.get("/api/v1/members", headers=owner.headers).json()
    return next((m["role"] for m in members if m["user_id"] == user_id), None)


def test_an_owner_changes_a_role(client, owner, member_of):
    annotator = member_of(owner, Role.annotator)
    changed = client.patch(f"/api/v1/members/{annotator.user_id}", json={"role": "reviewer"}, headers=owner.headers)
    assert changed.status_code == 200, changed.text
    assert changed.json()["role"] == "reviewer" and changed.json()["email"] == annotator.email
    assert _role(client, owner, annotator.user_id) == "reviewer"
    # The new role applies to the member's very next request.
    assert client.get("/api/v1/members", headers=annotator.headers).status_code == 403
    client.patch(f"/api/v1/members/{annotator.user_id}", json={"role": "manager"}, headers=owner.headers)
    assert client.get("/api/v1/members", headers=annotator.headers).status_code == 200


def test_only_owners_manage_members_and_the_last_owner_stays(client, owner, member_of):
    manager = member_of(owner, Role.manager)
    annotator = member_of(owner, Role.annotator)
    refused = client.patch(f"/api/v1/members/{annotator.user_id}", json={"role": "reviewer"}, headers=manager.headers)
    assert refused.status_code == 403
    assert client.delete(f"/api/v1/members/{annotator.user_id}", headers=manager.headers).status_code == 403
    last = client.patch(f"/api/v1/members/{owner.user_id}", json={"role": "manager"}, headers=owner.headers)
    assert last.status_code == 409 and last.json()["code"] == "last_owner"
    assert client.delete(f"/api/v1/members/{owner.user_id}", headers=owner.headers).json()["code"] == "last_owner"
    second = member_of(owner, Role.owner)
    assert client.patch(f"/api/v1/members/{owner.user_id}", json={"role": "manager"},
                        headers=second.headers).status_code == 200
    bad = client.patch(f"/api/v1/members/{annotator.user_id}", json={"role": "emperor"}, headers=second.headers)
    assert bad.status_code == 422 and "role" in bad.text


def test_another_organizations_member_is_not_found(client, owner, factory):
    other = make_actor(factory, Role.owner)
    assert client.patch(f"/api/v1/members/{other.user_id}", json={"role": "annotator"},
                        headers=owner.headers).status_code == 404
    assert client.delete(f"/api/v1/members/{other.user_id}", headers=owner.headers).status_code == 404
    assert _role(client, other, other.user_id) == "owner"


def test_removing_a_member_ends_their_access_and_returns_their_items(client, ctx, owner, member_of):
    project = client.post("/api/v1/projects", json={"name": "P", "schema": TEXT_SCHEMA}, headers=owner.headers).json()
    body = b"".join(orjson.dumps({"external_id": f"e{i}", "data": {"text": f"t{i}"}}) + b"\n" for i in range(2))
    client.post(f"/api/v1/projects/{project['id']}/imports", params={"filename": "x.jsonl"}, content=body,
                headers=owner.headers)
    ctx.runner.run_until_idle()
    leaving = member_of(owner, Role.annotator)
    first = client.post(f"/api/v1/projects/{project['id']}/next", headers=leaving.headers).json()["item"]
    draft = client.post(f"/api/v1/items/{first['id']}/annotations",
                        json={"answers": {"sentiment": "positive"}, "draft": True}, headers=leaving.headers)
    assert draft.status_code == 201
    assert client.delete(f"/api/v1/members/{leaving.user_id}", headers=owner.headers).status_code == 204
    assert client.get("/api/v1/me", headers=leaving.headers).status_code == 401
    assert _role(client, owner, leaving.user_id) is None
    # The item they held is free again, and their draft is kept for the owner.
    staying = member_of(owner, Role.annotator)
    assert client.post(f"/api/v1/projects/{project['id']}/next", headers=staying.headers).json()["item"]["id"] \
        == first["id"]
    kept = client.get(f"/api/v1/items/{first['id']}/annotations", headers=owner.headers).json()
    assert [(a["author_id"], a["status"]) for a in kept] == [(leaving.user_id, "draft")]
