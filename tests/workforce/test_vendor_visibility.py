"""Vendors see only the fields shown to them, with personal data redacted; their spans map back."""

from __future__ import annotations

import orjson

from labelvault.accounts.models import Role
from labelvault.testing import VENDOR_SCHEMA, api_project, api_route, api_vendor


def _next(client, actor, project_id):
    answer = client.post(f"/api/v1/projects/{project_id}/next", headers=actor.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["item"]


def test_a_vendor_gets_redacted_visible_fields_and_routed_metadata_only(client, routed):
    item = _next(client, routed.a_annotator, routed.project_id)
    n = item["external_id"][-1]
    assert item["data"] == {"text": "Mail [EMAIL] now"}
    assert item["metadata"] == {"lang": "de"}
    again = client.get(f"/api/v1/items/{item['id']}", headers=routed.a_annotator.headers).json()
    assert again["data"] == item["data"] and "internal" not in str(again)
    # The organization's own people see everything.
    full = _next(client, routed.in_house, routed.project_id)
    assert full["data"]["notes"].startswith("internal") and "@example.com" in full["data"]["text"]
    assert full["metadata"]["customer"].startswith("c")
    # The schema a vendor gets names no vendor, no hidden field and no redaction settings.
    project = client.get(f"/api/v1/projects/{routed.project_id}", headers=routed.a_annotator.headers).json()
    shown = str(project["schema"])
    assert "notes" not in shown and "visible_to" not in shown and "redact" not in shown
    assert project["item_counts"] == {}
    assert n in "03"


def test_spans_on_redacted_text_are_stored_at_original_offsets(client, owner, routed):
    a = routed.a_annotator
    item = _next(client, a, routed.project_id)
    text = item["data"]["text"]  # "Mail [EMAIL] now"
    start = text.index("now")
    placeholder = text.index("[EMAIL]")
    spans = [{"start": start, "end": start + 3, "label": "PER"},
             {"start": placeholder, "end": placeholder + len("[EMAIL]"), "label": "PER"}]
    saved = client.post(f"/api/v1/items/{item['id']}/annotations",
                        json={"answers": {"sentiment": "pos", "entities": spans}}, headers=a.headers)
    assert saved.status_code == 201, saved.text
    assert saved.json()["answers"]["entities"] == spans  # shown back as the vendor sent them
    stored = client.get(f"/api/v1/items/{item['id']}/annotations", headers=owner.headers).json()[0]
    original = client.get(f"/api/v1/items/{item['id']}", headers=owner.headers).json()["data"]["text"]
    by_text = sorted(original[s["start"]:s["end"]] for s in stored["answers"]["entities"])
    assert by_text == sorted(["now", original.split()[1]])  # "now" and the whole e-mail address
    mine = client.get(f"/api/v1/items/{item['id']}/annotations", headers=a.headers).json()[0]
    assert mine["answers"]["entities"] == spans


def test_fields_can_be_shown_to_named_vendors(client, owner, routed):
    schema = dict(VENDOR_SCHEMA)
    schema["fields"] = [{"name": "text", "kind": "text"},
                        {"name": "notes", "kind": "text", "required": False, "visible_to": [routed.vendor_b]}]
    changed = client.put(f"/api/v1/projects/{routed.project_id}/schema", json=schema, headers=owner.headers)
    assert changed.status_code == 201, changed.text
    a_item = _next(client, routed.a_annotator, routed.project_id)
    b_item = _next(client, routed.b_annotator, routed.project_id)
    assert "notes" not in a_item["data"] and b_item["data"]["notes"].startswith("internal")
    assert "@example.com" in a_item["data"]["text"]  # no longer redacted


def test_a_vendor_gets_a_media_file_only_with_an_item_it_holds(client, ctx, owner, member_of):
    schema = {"fields": [{"name": "image", "kind": "image"}],
              "questions": [{"name": "ok", "type": "single_choice", "options": [{"value": "y"}, {"value": "n"}]}]}
    rows = [{"external_id": name, "metadata": {"lang": lang}, "data": {"image": f"{name}.png"}}
            for name, lang in (("a", "de"), ("b", "en"))]
    project_id = api_project(client, owner, schema, [], ctx.runner)
    for name in ("a", "b"):
        stored = client.put(f"/api/v1/projects/{project_id}/media/{name}.png", content=b"\x89PNG fake " + name.encode(),
                            headers=owner.headers)
        assert stored.status_code in (200, 201), stored.text
    body = b"".join(orjson.dumps(row) + b"\n" for row in rows)
    client.post(f"/api/v1/projects/{project_id}/imports", params={"filename": "x.jsonl"}, content=body,
                headers=owner.headers)
    ctx.runner.run_until_idle()
    vendor = api_vendor(client, owner, "Pixels")
    api_route(client, owner, project_id, [{"workforce_id": vendor, "match": {"metadata": {"lang": "de"}}}])
    worker = member_of(owner, Role.annotator, vendor)
    media = f"/api/v1/projects/{project_id}/media"
    assert client.get(f"{media}/a.png", headers=worker.headers).status_code == 404  # not held yet
    assert _next(client, worker, project_id)["data"] == {"image": "a.png"}
    assert client.get(f"{media}/a.png", headers=worker.headers).content.endswith(b"a")
    assert client.get(f"{media}/b.png", headers=worker.headers).status_code == 404
    assert client.get(f"{media}/b.png", headers=owner.headers).status_code == 200
