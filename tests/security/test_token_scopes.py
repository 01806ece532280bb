"""Token scopes: read, annotate, manage; the role still limits every scope, and no scoped token mints tokens."""

from __future__ import annotations

import orjson

from labelvault.accounts.models import Role
from labelvault.testing import TEXT_SCHEMA


def _token(client, actor, scope):
    made = client.post("/api/v1/tokens", json={"name": scope, "scope": scope}, headers=actor.headers)
    assert made.status_code == 201 and made.json()["scope"] == scope
    return {"Authorization": f"Bearer {made.json()['token']}"}


def _project(client, ctx, owner):
    project = client.post("/api/v1/projects", json={"name": "P", "schema": TEXT_SCHEMA}, headers=owner.headers).json()
    body = orjson.dumps({"external_id": "e1", "data": {"text": "t"}}) + b"\n"
    client.post(f"/api/v1/projects/{project['id']}/imports", params={"filename": "x.jsonl"}, content=body,
                headers=owner.headers)
    ctx.runner.run_until_idle()
    return project


def test_a_read_token_reads_but_neither_writes_nor_mints_tokens(client, ctx, owner):
    project = _project(client, ctx, owner)
    read = _token(client, owner, "read")
    assert client.get(f"/api/v1/projects/{project['id']}/items", headers=read).status_code == 200
    assert client.get(f"/api/v1/projects/{project['id']}/export", headers=read).status_code == 200
    refused = client.post(f"/api/v1/projects/{project['id']}/next", headers=read)
    assert refused.status_code == 403 and refused.json()["details"]["scope"] == "read"
    assert client.post("/api/v1/tokens", json={"name": "wider"}, headers=read).status_code == 403
    assert client.delete(f"/api/v1/projects/{project['id']}", headers=read).status_code in (403, 405)


def test_an_annotate_token_annotates_but_does_not_manage(client, ctx, owner, member_of):
    project = _project(client, ctx, owner)
    annotate = _token(client, owner, "annotate")
    leased = client.post(f"/api/v1/projects/{project['id']}/next", headers=annotate)
    assert leased.status_code == 200
    stored = client.post(f"/api/v1/items/{leased.json()['item']['id']}/annotations",
                         json={"answers": {"sentiment": "positive"}}, headers=annotate)
    assert stored.status_code == 201
    assert client.post("/api/v1/invitations", json={"email": "x@example.test"}, headers=annotate).status_code == 403


def test_the_role_still_limits_a_scope(client, ctx, owner, member_of):
    project = _project(client, ctx, owner)
    annotator = member_of(owner, Role.annotator)
    manage = _token(client, annotator, "manage")
    refused = client.get(f"/api/v1/projects/{project['id']}/export", headers=manage)
    assert refused.status_code == 403 and "role" in refused.json()["message"]
    assert client.post("/api/v1/tokens", json={"name": "x", "scope": "root"},
                       headers=owner.headers).status_code == 422
