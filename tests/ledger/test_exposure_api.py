"""Reads of item content and permission changes land in the ledger; exposure reports are read back from it."""

from __future__ import annotations

import csv
import io

import orjson
from sqlalchemy import select

from labelvault.accounts.models import Role
from labelvault.db.engine import transaction
from labelvault.ledger.models import LedgerEntry
from labelvault.testing import TEXT_SCHEMA, make_actor


def _project_with_items(client, ctx, actor, count=3):
    project = client.post("/api/v1/projects", json={"name": "P", "schema": TEXT_SCHEMA}, headers=actor.headers).json()
    body = b"".join(orjson.dumps({"external_id": f"e{i}", "data": {"text": f"t{i}"}}) + b"\n" for i in range(count))
    client.post(f"/api/v1/projects/{project['id']}/imports", params={"filename": "x.jsonl"}, content=body,
                headers=actor.headers)
    ctx.runner.run_until_idle()
    items = client.get(f"/api/v1/projects/{project['id']}/items", headers=actor.headers).json()["items"]
    return project, items


def _entries(factory):
    with transaction(factory, write=False) as session:
        return list(session.scalars(select(LedgerEntry).order_by(LedgerEntry.recorded_us)))


def test_every_content_read_is_recorded_with_who_what_and_route(client, ctx, factory, owner, member_of):
    project, items = _project_with_items(client, ctx, owner)
    annotator = member_of(owner, Role.annotator)
    client.get(f"/api/v1/items/{items[0]['id']}", headers=annotator.headers)
    leased = client.post(f"/api/v1/projects/{project['id']}/next", headers=annotator.headers).json()
    client.get(f"/api/v1/items/{items[1]['id']}/annotations", headers=owner.headers)
    client.get(f"/api/v1/projects/{project['id']}/export", headers=owner.headers)
    client.post("/api/v1/tokens", json={"name": "ci"}, headers=owner.headers)
    entries = _entries(factory)
    by_route = {e.route: e for e in entries}
    listed = by_route["GET /api/v1/projects/{project_id}/items"]
    assert sorted(orjson.loads(listed.item_ids)) == sorted(i["id"] for i in items)
    read = by_route["GET /api/v1/items/{item_id}"]
    assert (read.actor_user_id, read.organization_id, orjson.loads(read.item_ids), orjson.loads(read.fields)) == (
        annotator.user_id, owner.organization_id, [items[0]["id"]], ["text"])
    assert read.token_id is not None
    assert orjson.loads(by_route["POST /api/v1/projects/{project_id}/next"].item_ids) == [leased["item"]["id"]]
    assert orjson.loads(by_route["GET /api/v1/items/{item_id}/annotations"].fields) == ["annotations"]
    assert by_route["GET /api/v1/projects/{project_id}/export"].kind == "export"
    assert by_route["POST /api/v1/tokens"].kind == "permission"


def test_a_refused_read_records_nothing(client, ctx, factory, owner):
    _, items = _project_with_items(client, ctx, owner, count=1)
    stranger = make_actor(factory, Role.owner)
    before = len(_entries(factory))
    assert client.get(f"/api/v1/items/{items[0]['id']}", headers=stranger.headers).status_code == 404
    assert len(_entries(factory)) == before


def test_who_saw_an_item_and_what_a_person_saw(client, ctx, factory, owner, member_of):
    project, items = _project_with_items(client, ctx, owner)
    reviewer = member_of(owner, Role.reviewer)
    for _ in range(2):
        client.get(f"/api/v1/items/{items[0]['id']}", headers=reviewer.headers)
    client.get(f"/api/v1/projects/{project['id']}/export", headers=owner.headers)

    rows = client.get(f"/api/v1/exposure/items/{items[0]['id']}", headers=owner.headers).json()
    mine = {r["actor_user_id"]: r for r in rows}
    assert mine[reviewer.user_id]["accesses"] == 2 and mine[reviewer.user_id]["fields"] == ["text"]
    assert "export" in mine[owner.user_id]["kinds"]
    assert mine[reviewer.user_id]["first_seen"] <= mine[reviewer.user_id]["last_seen"]

    seen = client.get(f"/api/v1/exposure/people/{reviewer.user_id}", headers=owner.headers).json()
    assert [(r["item_id"], r["accesses"]) for r in seen] == [(items[0]["id"], 2)]

    as_csv = client.get(f"/api/v1/exposure/people/{reviewer.user_id}", params={"format": "csv"},
                        headers=owner.headers)
    assert as_csv.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [(r["item_id"], r["accesses"]) for r in table] == [(items[0]["id"], "2")]
    as_jsonl = client.get(f"/api/v1/exposure/items/{items[0]['id']}", params={"format": "jsonl"},
                          headers=owner.headers)
    assert len(as_jsonl.text.splitlines()) == len(rows)


def test_exposure_of_another_organization_is_not_found_or_empty(client, ctx, factory, owner, member_of):
    _, items = _project_with_items(client, ctx, owner, count=1)
    client.get(f"/api/v1/items/{items[0]['id']}", headers=owner.headers)
    stranger = make_actor(factory, Role.owner)
    assert client.get(f"/api/v1/exposure/items/{items[0]['id']}", headers=stranger.headers).status_code == 404
    assert client.get(f"/api/v1/exposure/people/{owner.user_id}", headers=stranger.headers).json() == []
    annotator = member_of(owner, Role.annotator)
    assert client.get(f"/api/v1/exposure/people/{owner.user_id}", headers=annotator.headers).status_code == 403


def test_csv_cells_that_look_like_formulas_are_neutralized():
    from labelvault.ledger.exposure import ExposureRow, to_csv

    text = to_csv([ExposureRow("=HYPERLINK(1)", "p", "u", "@evil", "")])
    row = list(csv.DictReader(io.StringIO(text)))[0]
    assert row["item_id"] == "'=HYPERLINK(1)" and row["actor_email"] == "'@evil"


def test_a_download_named_after_any_id_has_a_safe_file_name(client, owner):
    for odd in ["\U00061fd2é", 'x"; filename="evil.sh', "a\\b"]:
        response = client.get(f"/api/v1/exposure/people/{odd}", params={"format": "csv"}, headers=owner.headers)
        assert response.status_code == 200, response.text
        disposition = response.headers["content-disposition"]
        assert disposition.startswith('attachment; filename="exposure-person-') and disposition.count('"') == 2
