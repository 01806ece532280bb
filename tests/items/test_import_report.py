"""Imports through the API: the exact report of rejected lines, formats, conflicts, limits and resuming."""

from __future__ import annotations

import base64
import datetime as dt
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select, update

from labelvault.config import Settings
from labelvault.db.engine import transaction
from labelvault.items.importer import Importer
from labelvault.items.models import Item
from labelvault.jobs import service as jobs
from labelvault.jobs.models import Job, JobState
from labelvault.jobs.runner import Runner
from labelvault.storage import LocalBlobStore
from labelvault.testing import TEXT_SCHEMA

MAX_LINE = 200
BATCH = 4
MAX_UPLOAD = 64 * 1024

IMAGE_SCHEMA: dict[str, Any] = {
    "fields": [{"name": "image", "kind": "image"}],
    "questions": [{"name": "animal", "type": "single_choice", "options": [{"value": "cat"}, {"value": "dog"}]}],
}


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url, run_jobs=False,
                    import_batch_size=BATCH, max_line_bytes=MAX_LINE, max_import_bytes=MAX_UPLOAD)


def make_project(client, actor, schema: dict[str, Any] = TEXT_SCHEMA) -> str:
    response = client.post("/api/v1/projects", json={"name": "Imports", "schema": schema}, headers=actor.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def start_import(client, actor, project_id: str, body: bytes, **params: Any):
    params.setdefault("filename", "items.jsonl")
    return client.post(f"/api/v1/projects/{project_id}/imports", params=params, content=body,
                       headers=actor.headers)


def run_import(client, ctx, actor, project_id: str, body: bytes, **params: Any) -> dict[str, Any]:
    """Upload, run the queued job to the end, return the finished job."""
    response = start_import(client, actor, project_id, body, **params)
    assert response.status_code == 202, response.text
    ctx.runner.run_until_idle()
    job = client.get(f"/api/v1/jobs/{response.json()['id']}", headers=actor.headers)
    assert job.status_code == 200, job.text
    return dict(job.json())


def problems(client, actor, job_id: str, limit: int | None = None) -> list[dict[str, Any]]:
    """Every problem of the job, following the pages."""
    collected: list[dict[str, Any]] = []
    params: dict[str, Any] = {} if limit is None else {"limit": limit}
    while True:
        page = client.get(f"/api/v1/jobs/{job_id}/problems", params=params, headers=actor.headers)
        assert page.status_code == 200, page.text
        collected.extend(page.json()["items"])
        if not page.json()["next_cursor"]:
            return collected
        params["cursor"] = page.json()["next_cursor"]


def problem_report(client, actor, job_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/jobs/{job_id}/problems.jsonl", headers=actor.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return [orjson.loads(line) for line in response.content.splitlines()]


def items_by_external_id(client, actor, project_id: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    params: dict[str, Any] = {"limit": 500}
    while True:
        page = client.get(f"/api/v1/projects/{project_id}/items", params=params, headers=actor.headers)
        assert page.status_code == 200, page.text
        for item in page.json()["items"]:
            assert item["external_id"] not in found, f"{item['external_id']} is stored twice"
            found[item["external_id"]] = item
        if not page.json()["next_cursor"]:
            return found
        params["cursor"] = page.json()["next_cursor"]


def jsonl(*rows: Any) -> bytes:
    return b"".join((row if isinstance(row, bytes) else orjson.dumps(row)) + b"\n" for row in rows)


def test_jsonl_report_names_every_bad_line_and_imports_every_good_one(client, ctx, owner):
    project_id = make_project(client, owner)
    body = jsonl(
        {"external_id": "a", "data": {"text": "first"}},                            # 1
        b'{"external_id": "broken", "data": {"text": "no end"}',                     # 2 bad JSON
        {"external_id": "no-text", "data": {"title": "x"}},                         # 3 missing field
        {"external_id": "number", "data": {"text": 42}},                            # 4 wrong type
        {"external_id": "long", "data": {"text": "x" * MAX_LINE}},                  # 5 oversized
        {"external_id": "a", "data": {"text": "again, in a later batch"}},          # 6 duplicate
        b'{"external_id": "latin1", "data": {"text": "caf\xe9"}}',                   # 7 invalid UTF-8
        b"   ",                                                                     # 8 blank: skipped
        {"external_id": "b", "data": {"text": "second"}, "metadata": {"src": "x"}},  # 9
        {"external_id": "c", "data": {"text": "third"}},                            # 10
        {"external_id": "c", "data": {"text": "same batch twice"}},                 # 11 duplicate
        {"text": "flat, without an external_id", "priority": 3},                    # 12 derived id
        {"external_id": "zero", "data": {"text": "t"}, "overlap": 0},               # 13 bad overlap
        {"external_id": "extra", "data": {"text": "t"}, "label": "positive"},       # 14 unknown key
        ["not", "an", "object"],                                                    # 15
        {"external_id": 17, "data": {"text": "numeric id"}},                        # 16
    )
    job = run_import(client, ctx, owner, project_id, body)

    expected = [
        {"line": 2, "field": "", "reason": "invalid JSON: Expecting ',' delimiter at column 53"},
        {"line": 3, "field": "data.text", "reason": "is required (text field)"},
        {"line": 4, "field": "data.text", "reason": "must be a string, got int"},
        {"line": 5, "field": "", "reason": f"line is longer than the limit of {MAX_LINE} bytes"},
        {"line": 6, "field": "external_id", "reason": "duplicate external_id 'a' (earlier in this file)"},
        {"line": 7, "field": "", "reason": "invalid UTF-8 at byte 48 of the line"},
        {"line": 11, "field": "external_id", "reason": "duplicate external_id 'c' (first on line 10)"},
        {"line": 13, "field": "overlap", "reason": "must be between 1 and 100, got 0"},
        {"line": 14, "field": "label", "reason": "is not a known key; put item fields inside data"},
        {"line": 15, "field": "", "reason": "must be a JSON object, got list"},
    ]
    assert problems(client, owner, job["id"]) == expected
    assert problems(client, owner, job["id"], limit=3) == expected
    assert problem_report(client, owner, job["id"]) == expected
    assert job["state"] == "succeeded" and job["error"] is None
    assert job["stats"] == {"lines": 15, "imported": 5, "updated": 0, "skipped": 0, "rejected": 10}
    assert job["done"] == job["total"] == len(body)

    items = items_by_external_id(client, owner, project_id)
    derived = [key for key in items if key.startswith("sha256:")]
    assert sorted(items) == sorted(["a", "b", "c", "17", *derived]) and len(derived) == 1
    assert items["a"]["data"] == {"text": "first"}
    assert items["b"]["metadata"] == {"src": "x"}
    assert items["c"]["data"] == {"text": "third"}
    assert items[derived[0]]["data"] == {"text": "flat, without an external_id"}
    assert items[derived[0]]["priority"] == 3


def test_json_array_report_gives_the_line_where_each_element_starts(client, ctx, owner):
    project_id = make_project(client, owner)
    body = b"""[
  {"external_id": "j1", "data": {"text": "one"}},
  {"external_id": "j2", "data": {"text": 2}},
  {"external_id": "j3",
   "data": {"text": "three"}},
  "not an object",
  {"external_id": "j5",
   "data": {"text": "caf\xe9"}},
  {"external_id": "j1", "data": {"text": "one again"}},
  {"external_id": "j7", "data": {"text": "seven"}}
]
"""
    job = run_import(client, ctx, owner, project_id, body, filename="items.json")
    expected = [
        {"line": 3, "field": "data.text", "reason": "must be a string, got int"},
        {"line": 6, "field": "", "reason": "must be a JSON object, got str"},
        {"line": 7, "field": "", "reason": "invalid UTF-8 on line 8, column 25"},
        {"line": 9, "field": "external_id", "reason": "duplicate external_id 'j1' (earlier in this file)"},
    ]
    assert problems(client, owner, job["id"]) == expected
    assert problem_report(client, owner, job["id"]) == expected
    assert job["stats"] == {"lines": 7, "imported": 3, "updated": 0, "skipped": 0, "rejected": 4}
    items = items_by_external_id(client, owner, project_id)
    assert {key: item["data"]["text"] for key, item in items.items()} == {
        "j1": "one", "j3": "three", "j7": "seven"}


def test_json_array_with_a_syntax_error_keeps_the_elements_before_it(client, ctx, owner):
    project_id = make_project(client, owner)
    body = b"""[
  {"external_id": "j1", "data": {"text": "one"}},
  {"external_id": "j2", "data": {"text": "two"}},
  {"external_id": "j3", "data": {"text": "three" "oops"}},
  {"external_id": "j4", "data": {"text": "four"}}
]
"""
    job = run_import(client, ctx, owner, project_id, body, format="json")
    assert problems(client, owner, job["id"]) == [
        {"line": 4, "field": "", "reason": "invalid JSON: Expecting ',' delimiter at column 50"},
    ]
    assert sorted(items_by_external_id(client, owner, project_id)) == ["j1", "j2"]


def test_problems_on_one_line_page_through_without_loss(client, ctx, owner):
    # A minified JSON array: every element starts on line 1.
    project_id = make_project(client, owner)
    rows = [{"external_id": f"m{i}", "data": {"text": i if i % 2 else f"t{i}"}} for i in range(9)]
    job = run_import(client, ctx, owner, project_id, orjson.dumps(rows), filename="min.json")
    expected = [{"line": 1, "field": "data.text", "reason": "must be a string, got int"}] * 4
    assert problems(client, owner, job["id"], limit=3) == expected
    assert problems(client, owner, job["id"], limit=1) == expected
    assert problem_report(client, owner, job["id"]) == expected
    assert job["stats"]["imported"] == 5


def test_a_forged_cursor_is_invalid_input_not_a_server_error(client, ctx, owner):
    project_id = make_project(client, owner)
    job = run_import(client, ctx, owner, project_id, jsonl({"data": {"text": 1}}))
    forged = [b"not json", b"[]", b"{}", b"[1, 2, 3]", b'[{"a": 1}]']
    checks = [(f"/api/v1/jobs/{job['id']}/problems", [*forged, b'["a"]', b'["1", "x"]', b"[true, 1]"]),
              (f"/api/v1/projects/{project_id}/items", [*forged, b"[1]"])]
    for path, cursors in checks:
        for raw in cursors:
            cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
            response = client.get(path, params={"cursor": cursor}, headers=owner.headers)
            assert response.status_code == 422, (path, raw, response.text)
            assert response.json()["details"] == {"field": "cursor"}


def test_json_that_is_not_an_array_is_one_clear_problem(client, ctx, owner):
    project_id = make_project(client, owner)
    job = run_import(client, ctx, owner, project_id, b'\n{"data": {"text": "x"}}\n', filename="one.json")
    assert problems(client, owner, job["id"]) == [
        {"line": 2, "field": "", "reason": "a JSON import must be an array of objects: it must start with '['"},
    ]
    assert items_by_external_id(client, owner, project_id) == {}


def test_csv_report_counts_physical_lines_and_reads_metadata_columns(client, ctx, owner):
    project_id = make_project(client, owner)
    body = (
        b"external_id,text,metadata.source,priority\n"   # 1
        b"c1,hello,web,1\n"                               # 2
        b'c2,"two\nlines",mail,\n'                        # 3-4
        b"c3,too few columns\n"                           # 5
        b"c4,bad priority,web,high\n"                     # 6
        b"\n"                                             # 7 blank: skipped
        b"c5,caf\xe9,web,2\n"                             # 8 invalid UTF-8
        b"c1,duplicate,web,\n"                            # 9
        b",no id,web,\n"                                  # 10 derived id
        b"c6,last,web,-4\n"                               # 11
    )
    job = run_import(client, ctx, owner, project_id, body, filename="items.csv")
    expected = [
        {"line": 5, "field": "", "reason": "has 2 columns, the header has 4"},
        {"line": 6, "field": "priority", "reason": "must be an integer, got str"},
        {"line": 8, "field": "data.text", "reason": "is not valid UTF-8"},
        {"line": 9, "field": "external_id", "reason": "duplicate external_id 'c1' (earlier in this file)"},
    ]
    assert problems(client, owner, job["id"]) == expected
    assert problem_report(client, owner, job["id"]) == expected
    assert job["stats"] == {"lines": 8, "imported": 4, "updated": 0, "skipped": 0, "rejected": 4}
    items = items_by_external_id(client, owner, project_id)
    derived = [key for key in items if key.startswith("sha256:")]
    assert sorted(items) == sorted(["c1", "c2", "c6", *derived]) and len(derived) == 1
    assert items["c1"]["data"] == {"text": "hello"} and items["c1"]["priority"] == 1
    assert items["c1"]["metadata"] == {"source": "web"}
    assert items["c2"]["data"] == {"text": "two\nlines"} and items["c2"]["priority"] == 0
    assert items["c6"]["priority"] == -4
    assert items[derived[0]]["data"] == {"text": "no id"}


@pytest.mark.parametrize(("filename", "body"), [
    ("bom.jsonl", b'\xef\xbb\xbf{"external_id": "b1", "data": {"text": "one"}}\n'),
    ("bom.json", b'\xef\xbb\xbf[{"external_id": "b1", "data": {"text": "one"}}]'),
    ("bom.csv", b"\xef\xbb\xbfexternal_id,text\r\nb1,one\r\n"),
], ids=["jsonl", "json", "csv"])
def test_a_byte_order_mark_at_the_start_is_ignored(client, ctx, owner, filename, body):
    project_id = make_project(client, owner)
    job = run_import(client, ctx, owner, project_id, body, filename=filename)
    assert problems(client, owner, job["id"]) == []
    assert {key: item["data"] for key, item in items_by_external_id(client, owner, project_id).items()} == {
        "b1": {"text": "one"}}


def test_json_array_element_over_the_line_limit_is_rejected_alone(client, ctx, owner):
    project_id = make_project(client, owner)
    rows = [{"external_id": "s1", "data": {"text": "short"}},
            {"external_id": "big", "data": {"text": "x" * MAX_LINE}},
            {"external_id": "s2", "data": {"text": "short"}}]
    body = b"[" + b",\n".join(orjson.dumps(row) for row in rows) + b"]"
    job = run_import(client, ctx, owner, project_id, body, filename="items.json")
    assert problems(client, owner, job["id"]) == [
        {"line": 2, "field": "", "reason": f"element is longer than the limit of {MAX_LINE} bytes"}]
    assert sorted(items_by_external_id(client, owner, project_id)) == ["s1", "s2"]


NUMBER_SCHEMA: dict[str, Any] = {
    "fields": [{"name": "text", "kind": "text"}, {"name": "score", "kind": "number", "required": False},
               {"name": "weight", "kind": "number"}],
    "questions": TEXT_SCHEMA["questions"][:1],
}


def test_number_fields_take_numbers_from_csv_cells(client, ctx, owner):
    project_id = make_project(client, owner, NUMBER_SCHEMA)
    body = (
        b"external_id,text,score,weight\n"
        b"n1,a,3,1.5\n"
        b"n2,b,,-2\n"
        b"n3,c,high,1\n"
        b"n4,d,1,\n"
        b"n5,e,nan,1\n"
        b"n6,f, 7 ,1e3\n"
    )
    job = run_import(client, ctx, owner, project_id, body, filename="numbers.csv")
    assert problems(client, owner, job["id"]) == [
        {"line": 4, "field": "data.score", "reason": "must be a number, got 'high'"},
        {"line": 5, "field": "data.weight", "reason": "is required (number field)"},
        {"line": 6, "field": "data.score", "reason": "must be a finite number, got nan"},
    ]
    items = items_by_external_id(client, owner, project_id)
    assert {key: item["data"] for key, item in items.items()} == {
        "n1": {"text": "a", "score": 3, "weight": 1.5},
        "n2": {"text": "b", "score": None, "weight": -2},
        "n6": {"text": "f", "score": 7, "weight": 1000.0},
    }


def test_json_array_with_nan_is_refused(client, ctx, owner):
    project_id = make_project(client, owner, NUMBER_SCHEMA)
    body = (b'[{"external_id": "ok", "data": {"text": "a", "weight": 1}},\n'
            b' {"external_id": "x", "data": {"text": "b", "weight": NaN}}]')
    job = run_import(client, ctx, owner, project_id, body, filename="nan.json")
    assert problems(client, owner, job["id"]) == [
        {"line": 2, "field": "", "reason": "invalid JSON: NaN is not a JSON value"}]
    assert sorted(items_by_external_id(client, owner, project_id)) == ["ok"]


def test_all_or_nothing_imports_nothing_when_a_line_is_bad(client, ctx, owner):
    project_id = make_project(client, owner)
    good = [{"external_id": f"g{i}", "data": {"text": f"good {i}"}} for i in range(10)]
    bad = jsonl(*good[:7], {"external_id": "x", "data": {"text": None}}, *good[7:], good[0])
    job = run_import(client, ctx, owner, project_id, bad, all_or_nothing="true")
    assert job["state"] == "failed"
    assert "nothing was imported" in job["error"]
    assert problems(client, owner, job["id"]) == [
        {"line": 8, "field": "data.text", "reason": "is required (text field)"},
        {"line": 12, "field": "external_id", "reason": "duplicate external_id 'g0' in this file"},
    ]
    assert items_by_external_id(client, owner, project_id) == {}

    job = run_import(client, ctx, owner, project_id, jsonl(*good), all_or_nothing="true")
    assert job["state"] == "succeeded", job["error"]
    assert job["stats"]["imported"] == 10
    assert problems(client, owner, job["id"]) == []
    assert sorted(items_by_external_id(client, owner, project_id)) == sorted(f"g{i}" for i in range(10))


def test_reimport_skips_existing_items_and_update_changes_them(client, ctx, owner):
    project_id = make_project(client, owner)
    rows = [{"external_id": f"r{i}", "data": {"text": f"v1 {i}"}} for i in range(6)]
    rows.append({"data": {"text": "no external id"}})
    first = run_import(client, ctx, owner, project_id, jsonl(*rows))
    assert first["stats"] == {"lines": 7, "imported": 7, "updated": 0, "skipped": 0, "rejected": 0}
    before = items_by_external_id(client, owner, project_id)

    again = run_import(client, ctx, owner, project_id, jsonl(*rows))
    assert again["stats"] == {"lines": 7, "imported": 0, "updated": 0, "skipped": 7, "rejected": 0}
    assert items_by_external_id(client, owner, project_id) == before

    changed = [{"external_id": f"r{i}", "data": {"text": f"v2 {i}"}, "priority": 5} for i in range(3)]
    updated = run_import(client, ctx, owner, project_id, jsonl(*changed), on_conflict="update")
    assert updated["stats"] == {"lines": 3, "imported": 0, "updated": 3, "skipped": 0, "rejected": 0}
    after = items_by_external_id(client, owner, project_id)
    assert len(after) == 7
    for i in range(6):
        item = after[f"r{i}"]
        assert item["id"] == before[f"r{i}"]["id"]
        assert item["data"] == {"text": f"v2 {i}" if i < 3 else f"v1 {i}"}
        assert item["priority"] == (5 if i < 3 else 0)


def test_item_without_external_id_gets_a_stable_derived_one(client, ctx, owner):
    project_id = make_project(client, owner)
    body = jsonl({"text": "same content"}, {"data": {"text": "other content"}})
    first = run_import(client, ctx, owner, project_id, body)
    assert first["stats"]["imported"] == 2
    ids = sorted(items_by_external_id(client, owner, project_id))
    assert all(key.startswith("sha256:") and len(key) == 47 for key in ids)
    second = run_import(client, ctx, owner, project_id, body)
    assert second["stats"] == {"lines": 2, "imported": 0, "updated": 0, "skipped": 2, "rejected": 0}
    assert sorted(items_by_external_id(client, owner, project_id)) == ids


def test_image_field_accepts_only_paths_inside_the_media_store(client, ctx, owner):
    project_id = make_project(client, owner, IMAGE_SCHEMA)
    body = jsonl(
        {"external_id": "ok", "data": {"image": "photos/cat.png"}},
        {"external_id": "url", "data": {"image": "http://169.254.169.254/latest/meta-data"}},
        {"external_id": "scheme-less", "data": {"image": "//example.com/cat.png"}},
        {"external_id": "up", "data": {"image": "../secret.png"}},
        {"external_id": "deep", "data": {"image": "photos/../../etc/passwd"}},
        {"external_id": "absolute", "data": {"image": "/etc/passwd"}},
        {"external_id": "windows", "data": {"image": "photos\\..\\..\\x.png"}},
        {"external_id": "nul", "data": {"image": "photos/cat.png\u0000.txt"}},
    )
    job = run_import(client, ctx, owner, project_id, body)
    url = "must be a path inside the media store, not a URL (the server fetches no URL)"
    outside = "must be a relative path inside the media store without '..'"
    assert problems(client, owner, job["id"]) == [
        {"line": 2, "field": "data.image", "reason": url},
        {"line": 3, "field": "data.image", "reason": url},
        {"line": 4, "field": "data.image", "reason": outside},
        {"line": 5, "field": "data.image", "reason": outside},
        {"line": 6, "field": "data.image", "reason": outside},
        {"line": 7, "field": "data.image", "reason": outside},
        {"line": 8, "field": "data.image", "reason": "must not contain a NUL character"},
    ]
    assert list(items_by_external_id(client, owner, project_id)) == ["ok"]


def test_upload_over_the_limit_is_refused_with_413_and_leaves_nothing(client, ctx, owner, settings):
    project_id = make_project(client, owner)
    line = orjson.dumps({"data": {"text": "x" * 100}}) + b"\n"
    body = line * (MAX_UPLOAD // len(line) + 1)
    declared = start_import(client, owner, project_id, body)
    assert declared.status_code == 413
    assert declared.json() == {
        "code": "payload_too_large", "message": f"The upload is {len(body)} bytes; the limit is {MAX_UPLOAD} bytes.",
        "details": {"limit": MAX_UPLOAD},
    }
    streamed = client.post(f"/api/v1/projects/{project_id}/imports", params={"filename": "a.jsonl"},
                           content=iter([body[:40_000], body[40_000:]]), headers=owner.headers)
    assert streamed.status_code == 413
    assert streamed.json()["message"] == f"The upload exceeds the limit of {MAX_UPLOAD} bytes."
    leftovers = [p for p in settings.uploads_dir.rglob("*") if p.is_file()] if settings.uploads_dir.exists() else []
    assert leftovers == []
    ctx.runner.run_until_idle()
    assert items_by_external_id(client, owner, project_id) == {}


def test_unknown_format_and_bad_options_answer_422(client, owner):
    project_id = make_project(client, owner)
    body = jsonl({"data": {"text": "x"}})
    unknown = start_import(client, owner, project_id, body, format="xml")
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "invalid_input"
    assert unknown.json()["message"].startswith("format must be one of ['jsonl', 'json', 'csv'] or another tool's: [")
    unguessable = start_import(client, owner, project_id, body, filename="items.txt")
    assert unguessable.status_code == 422
    assert unguessable.json()["details"] == {"field": "format"}
    conflict = start_import(client, owner, project_id, body, on_conflict="overwrite")
    assert conflict.status_code == 422
    assert conflict.json()["message"] == "on_conflict must be one of ['skip', 'update']."
    empty = start_import(client, owner, project_id, b"")
    assert empty.status_code == 422
    assert empty.json()["message"] == "The upload is empty."


def test_import_into_another_organizations_project_is_not_found(client, ctx, owner, factory):
    from labelvault.testing import make_actor

    project_id = make_project(client, owner)
    stranger = make_actor(factory)
    response = start_import(client, stranger, project_id, jsonl({"data": {"text": "x"}}))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    job = run_import(client, ctx, owner, project_id, jsonl({"data": {"text": 1}}))
    assert client.get(f"/api/v1/jobs/{job['id']}/problems", headers=stranger.headers).status_code == 404
    assert client.get(f"/api/v1/jobs/{job['id']}/problems.jsonl", headers=stranger.headers).status_code == 404
    assert items_by_external_id(client, owner, project_id) == {}


# -- resuming -------------------------------------------------------------------------------------------


class WorkerStopped(BaseException):
    """The worker process ended abruptly (a BaseException, so nothing in the runner catches it)."""


def _resume_file(fmt: str, count: int) -> bytes:
    """`count` items; every 25th is bad (its text is a number)."""
    rows = [{"external_id": f"e{i:04d}", "data": {"text": i if i % 25 == 24 else f"item {i}"}}
            for i in range(count)]
    if fmt == "jsonl":
        return jsonl(*rows)
    if fmt == "json":
        return b"[\n" + b",\n".join(orjson.dumps(row) for row in rows) + b"\n]\n"
    # A CSV cell is always a string: there a bad row is one with a missing column.
    lines = [b"external_id,text"] + [
        (row["external_id"] if isinstance(row["data"]["text"], int) else f"{row['external_id']},{row['data']['text']}")
        .encode() for row in rows
    ]
    return b"\n".join(lines) + b"\n"


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "json"])
def test_a_second_worker_resumes_after_the_last_committed_batch(client, ctx, owner, settings, monkeypatch, fmt):
    project_id = make_project(client, owner)
    count = 60
    response = start_import(client, owner, project_id, _resume_file(fmt, count), format=fmt)
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]

    # The first worker dies while committing its third batch: the items of that batch are written
    # but the transaction never commits.
    committed = {"batches": 0}
    real_progress = jobs.progress

    def progress_then_die(session, job, worker, values):  # type: ignore[no-untyped-def]
        result = real_progress(session, job, worker, values)
        if "checkpoint" in values and "records" in values["checkpoint"]:
            if committed["batches"] == 2:
                raise WorkerStopped()
            committed["batches"] += 1
        return result

    monkeypatch.setattr(jobs, "progress", progress_then_die)
    first_worker = Runner(ctx.factory, {"import": Importer(ctx.uploads, batch_size=BATCH, max_line=MAX_LINE)},
                          stale_seconds=settings.job_stale_seconds, poll_seconds=0.1)
    with pytest.raises(WorkerStopped):
        first_worker.run_once()
    monkeypatch.undo()

    with transaction(ctx.factory) as session:
        job = session.get(Job, job_id)
        assert job is not None and job.state == JobState.running and job.attempts == 1
        stored = session.scalar(select(func.count()).select_from(Item).where(Item.project_id == project_id))
        assert stored == job.stats["imported"] == job.stats["lines"] == 2 * BATCH
        assert job.checkpoint["records"] == 2 * BATCH

    # While its heartbeat is fresh, no other worker takes the job.
    ctx.runner.run_until_idle()
    with transaction(ctx.factory) as session:
        assert session.get(Job, job_id).state == JobState.running  # type: ignore[union-attr]
        # Time passes: the heartbeat is now older than the stale limit.
        job = session.get(Job, job_id)
        assert job is not None and job.heartbeat_at is not None
        session.execute(update(Job).where(Job.id == job_id).values(
            heartbeat_at=job.heartbeat_at - dt.timedelta(seconds=settings.job_stale_seconds + 1)))
    ctx.runner.run_until_idle()

    job = client.get(f"/api/v1/jobs/{job_id}", headers=owner.headers).json()
    assert job["state"] == "succeeded", job["error"]
    bad = [i for i in range(count) if i % 25 == 24]
    assert job["stats"] == {"lines": count, "imported": count - len(bad), "updated": 0, "skipped": 0,
                            "rejected": len(bad)}
    first_line = {"jsonl": 1, "csv": 2, "json": 2}[fmt]
    field, reason = ("", "has 1 columns, the header has 2") if fmt == "csv" else (
        "data.text", "must be a string, got int")
    assert problems(client, owner, job_id) == [
        {"line": first_line + i, "field": field, "reason": reason} for i in bad
    ]
    assert sorted(items_by_external_id(client, owner, project_id)) == [
        f"e{i:04d}" for i in range(count) if i not in bad
    ]
    with transaction(ctx.factory) as session:
        assert session.get(Job, job_id).attempts == 2  # type: ignore[union-attr]
        # Were the first worker to come back, it could not record anything more.
        assert not jobs.progress(session, job_id, first_worker.worker, {"done": 0})


class _SlowFirstRead(LocalBlobStore):
    """The first reading of a file (the all-or-nothing check) is slow, as on a large file."""

    def __init__(self, root: Path, delay: float) -> None:
        super().__init__(root)
        self.delay = delay
        self.opened = 0

    def open_read(self, key: str) -> Any:
        handle = super().open_read(key)
        self.opened += 1
        if self.opened > 1:
            return handle
        delay, readline = self.delay, handle.readline

        def slow_readline(size: int = -1) -> bytes:
            time.sleep(delay)
            return readline(size)

        handle.readline = slow_readline
        return handle


@pytest.mark.slow
def test_a_long_all_or_nothing_check_keeps_its_job(client, ctx, owner, settings):
    project_id = make_project(client, owner)
    rows = [{"external_id": f"k{i}", "data": {"text": f"t{i}"}} for i in range(30)]
    job_id = start_import(client, owner, project_id, jsonl(*rows), all_or_nothing="true").json()["id"]
    # The check reads for more than 3 s, a batch every 0.2 s; the job counts as stale after 2 s
    # without a heartbeat.
    stale = 2
    importer = Importer(_SlowFirstRead(settings.uploads_dir, 0.1), batch_size=2, max_line=MAX_LINE)
    worker = Runner(ctx.factory, {"import": importer}, stale_seconds=stale, poll_seconds=0.1)
    thread = threading.Thread(target=worker.run_once)
    thread.start()
    taken_over = None
    try:
        while thread.is_alive() and taken_over is None:
            time.sleep(0.1)
            with transaction(ctx.factory) as session:
                taken_over = jobs.claim_next(session, "another-worker", stale)
    finally:
        thread.join(10)
    assert taken_over is None, "another worker took over a job whose worker was still checking the file"
    job = client.get(f"/api/v1/jobs/{job_id}", headers=owner.headers).json()
    assert job["state"] == "succeeded" and job["stats"]["imported"] == 30
    with transaction(ctx.factory) as session:
        assert session.get(Job, job_id).attempts == 1  # type: ignore[union-attr]
