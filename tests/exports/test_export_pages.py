"""Column pages (exports/pages.py) make the same Hugging Face Parquet table as records do, whatever the options."""

from __future__ import annotations

import io

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from labelvault.accounts.models import Role
from labelvault.exports.jsonl import ExportFilter, _postgresql_time, _sqlite_time
from labelvault.exports.pages import export_pages, iso_times, stream_pages
from labelvault.exports.records import ExportOptions, _time, export_records
from labelvault.formats.base import ColumnPage, Report
from labelvault.formats.hf import write_parquet, write_parquet_pages
from labelvault.formats.registry import FORMATS
from labelvault.projects.label_schema import LabelSchema
from labelvault.testing import api_annotate, api_export, api_project

_SCALE = [{"value": 1}, {"value": 2}, {"value": 3}, {"value": 4}, {"value": 5}]
EVERY_TYPE = {
    "fields": [{"name": "text", "kind": "text"}, {"name": "score", "kind": "number", "required": False},
               {"name": "chat", "kind": "chat", "required": False},
               {"name": "extra", "kind": "json", "required": False},
               {"name": "responses", "kind": "responses", "required": False},
               {"name": "image", "kind": "image", "required": False}],
    "questions": [
        {"name": "sentiment", "type": "single_choice", "required": False,
         "options": [{"value": "positive"}, {"value": "negative"}]},
        {"name": "topics", "type": "multiple_choice", "required": False,
         "options": [{"value": "sport"}, {"value": "politics"}]},
        {"name": "entities", "type": "spans", "field": "text", "required": False,
         "labels": [{"value": "PER"}, {"value": "LOC"}]},
        {"name": "objects", "type": "boxes", "field": "image", "required": False,
         "labels": [{"value": "cat"}, {"value": "dog"}]},
        {"name": "stars", "type": "rating", "required": False, "scale": _SCALE},
        {"name": "grades", "type": "rubric", "required": False, "criteria": [{"name": "helpful", "scale": _SCALE}]},
        {"name": "preference", "type": "pairwise", "field": "responses", "required": False},
        {"name": "order", "type": "ranking", "field": "responses", "required": False},
        {"name": "note", "type": "free_text", "required": False},
        {"name": "dialog", "type": "chat_evaluation", "field": "chat", "required": False, "turn_scale": _SCALE[:3],
         "verdicts": [{"value": "good"}, {"value": "bad"}]},
    ],
}
CHAT = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello there"}]
ITEMS = [
    {"external_id": "e0", "data": {"text": "Ada Lovelace met Charles Babbage in London.", "score": 2.5, "chat": CHAT,
                                   "extra": {"z": [1, {"b": 2, "a": 1}], "a": None}, "responses": ["yes", "no"],
                                   "image": "photos/one.png"},
     "metadata": {"z": 1, "a": {"y": [1, 2.5], "b": "é"}, "split": "train"}},
    {"external_id": "e1", "data": {"text": "Nobody annotates this."}},
    {"external_id": "e2", "data": {"text": "Zoë 🙂 went\nhome", "score": 3, "responses": ["a", "b", "c"]},
     "metadata": {"split": "test"}},
    {"external_id": "e3", "data": {"text": "Paris"}, "metadata": {}},
]
FULL = {"sentiment": "positive", "topics": ["sport", "politics"], "entities": [
    {"start": 0, "end": 12, "label": "PER"}, {"start": 36, "end": 42, "label": "LOC"}],
    "objects": [{"x": 0, "y": 0.5, "width": 1, "height": 0.25, "label": "cat"}], "stars": 4,
    "grades": {"helpful": {"score": 5, "comment": "clear"}}, "preference": {"choice": "a", "strength": "clearly"},
    "order": [1, 0], "note": "A \"quoted\" note", "dialog": {"turns": {"1": 3}, "verdict": "good"}}


@pytest.fixture
def project(client, ctx, owner, member_of):
    """Items with two annotators' answers, one without any, one with a draft only, one with a single answer."""
    project_id = api_project(client, owner, EVERY_TYPE, ITEMS, ctx.runner, default_overlap=3)
    api_annotate(client, owner, project_id, {"e0": FULL, "e2": {"stars": 1, "order": [2, 0, 1], "note": "🙂"}})
    other = member_of(owner, Role.annotator)
    api_annotate(client, other, project_id, {"e0": {"sentiment": "negative", "entities": []}})
    drafter = member_of(owner, Role.annotator)
    items = client.get(f"/api/v1/projects/{project_id}/items", headers=owner.headers).json()["items"]
    e3 = next(i["id"] for i in items if i["external_id"] == "e3")
    draft = client.post(f"/api/v1/items/{e3}/annotations", json={"answers": {"note": "later"}, "draft": True},
                        headers=drafter.headers)
    assert draft.status_code in (200, 201), draft.text
    return project_id


def _schema() -> LabelSchema:
    return LabelSchema.model_validate(EVERY_TYPE)


def _from_records(factory, owner, project_id: str, options: ExportOptions) -> pa.Table:
    out, report = io.BytesIO(), Report()
    write_parquet(export_records(factory, owner.organization_id, project_id, options), _schema(), out, report)
    return pq.read_table(io.BytesIO(out.getvalue())), report.counts


def _from_pages(pages, report: Report | None = None) -> pa.Table:
    out, report = io.BytesIO(), report or Report()
    write_parquet_pages(pages, _schema(), out, report)
    return pq.read_table(io.BytesIO(out.getvalue()))


@pytest.mark.parametrize("options", [
    ExportOptions(), ExportOptions(include_drafts=True), ExportOptions(only_annotated=True),
    ExportOptions(only_annotated=True, include_drafts=True), ExportOptions(states=["new"]),
    ExportOptions(since=ExportOptions.from_params({"since": "2000-01-01T00:00:00+00:00"}).since),
    ExportOptions(since=ExportOptions.from_params({"since": "2999-01-01T00:00:00+00:00"}).since),
], ids=["default", "drafts", "only_annotated", "annotated_with_drafts", "state_new", "since_past", "since_future"])
def test_pages_make_the_table_records_make(factory, owner, project, options):
    expected, counts = _from_records(factory, owner, project, options)
    report = Report()
    got = _from_pages(export_pages(factory, owner.organization_id, project, options), report)
    assert got.schema == expected.schema
    assert got.to_pylist() == expected.to_pylist()
    assert report.counts == counts


def test_pages_of_a_few_items_each_give_the_same_rows(factory, owner, project):
    """Annotations of an item arrive with its page even when a page ends between two items' annotations."""
    expected, _ = _from_records(factory, owner, project, ExportOptions(include_drafts=True))
    for size in (1, 2, 3):
        pages = list(stream_pages(factory, owner.organization_id, project, ExportFilter(include_drafts=True),
                                  page=size))
        assert len(pages) == -(-len(ITEMS) // size)
        assert _from_pages(pages).to_pylist() == expected.to_pylist()


def test_export_job_writes_parquet_from_pages(client, ctx, owner, project, factory):
    job, content = api_export(client, owner, project, ctx.runner, "hf_parquet")
    assert job["done"] == job["total"] == 4
    assert job["stats"]["items"] == 4 and job["stats"]["annotations"] == 3
    table = pq.read_table(io.BytesIO(content))
    expected, _ = _from_records(factory, owner, project, ExportOptions())
    assert table.to_pylist() == expected.to_pylist()
    rows = {(r["external_id"], r["author"] is not None): r for r in table.to_pylist()}
    assert orjson.loads(rows["e0", True]["metadata"]) == ITEMS[0]["metadata"]
    assert rows["e0", True]["metadata"].startswith('{"a":{"b":"é","y":[1,2.5]}')  # keys sorted, as in records
    assert rows["e1", False]["answer.stars"] is None and rows["e1", False]["predictions"] == "[]"


def test_options_that_need_records_are_refused():
    assert not ExportOptions(aggregated=True).by_pages() and not ExportOptions(predictions=True).by_pages()
    assert not ExportOptions(split="train").by_pages() and ExportOptions(include_gold=False).by_pages()
    assert FORMATS["hf_parquet"].write_pages is write_parquet_pages


def _page_of(records: list[dict], texts: dict[str, bytes] | None = None) -> ColumnPage:
    """A page of fixed records; `texts` replaces an item's data text (by external id)."""
    parents, annotations = [], []
    for index, record in enumerate(records):
        for annotation in record["annotations"]:
            parents.append(index)
            annotations.append(annotation)

    def strings(values):
        return pa.array(values, pa.string())

    return ColumnPage(
        item_ids=strings([r["id"] for r in records]), external_ids=strings([r["external_id"] for r in records]),
        states=strings([r["state"] for r in records]),
        data=[(texts or {}).get(r["external_id"], orjson.dumps(r["data"])) for r in records],
        metadata=[orjson.dumps(r["metadata"]) for r in records], parents=pa.array(parents, pa.int64()),
        annotation_ids=strings([a["id"] for a in annotations]), authors=strings([a["author"] for a in annotations]),
        statuses=strings([a["status"] for a in annotations]),
        submitted_at=strings([a["submitted_at"] for a in annotations]),
        answers=[orjson.dumps(a["answers"]) for a in annotations])


def test_values_arrows_reader_refuses_are_converted_as_records_are():
    """A rating stored as 4.0 and a data text over two lines: that page is read value by value instead."""
    records = [
        {"id": "i1", "external_id": "x1", "state": "completed", "metadata": {"b": 1, "a": 2},
         "data": {"text": "one", "score": 1}, "annotations": [
             {"id": "a1", "author": "p@example.test", "status": "submitted",
              "submitted_at": "2026-01-02T03:04:05.000000Z",
              "answers": {"stars": 4.0, "objects": [{"x": 0, "y": 1, "width": 0.5, "height": 0.5, "label": "dog"}],
                          "grades": {"helpful": {"score": 2}}}}]},
        {"id": "i2", "external_id": "x2", "state": "new", "metadata": {}, "data": {"text": "two"}, "annotations": []},
    ]
    records = orjson.loads(orjson.dumps(records, option=orjson.OPT_SORT_KEYS))  # as export records are
    out = io.BytesIO()
    write_parquet(iter(records), _schema(), out, Report())
    expected = pq.read_table(io.BytesIO(out.getvalue())).to_pylist()
    assert expected[0]["answer.stars"] == 4 and expected[0]["data.score"] == 1.0
    assert _from_pages([_page_of(records)]).to_pylist() == expected
    pretty = {"x2": b'{"text":\n"two"}'}
    assert _from_pages([_page_of(records, pretty)]).to_pylist() == expected


@pytest.mark.parametrize(("stored", "postgresql"), [
    (b"2024-05-01 12:00:00.250000", False), (b"2024-05-01 12:00:00.250000+00:00", False),
    (b"2024-05-01 12:00:00", False), (b"2024-05-01 12:00:00.25", True), (b"2024-05-01 12:00:00", True),
    (b"2024-05-01 12:00:00.123456", True), (None, True), (None, False)])
def test_times_are_written_as_records_write_them(stored, postgresql):
    quoted = (_postgresql_time if postgresql else _sqlite_time)(stored)
    assert iso_times([stored], postgresql).to_pylist() == [_time(orjson.loads(quoted))]


def test_parquet_from_pages_loads_with_datasets(client, ctx, owner, project, tmp_path):
    import datasets
    _, content = api_export(client, owner, project, ctx.runner, "hf_parquet")
    path = tmp_path / "export.parquet"
    path.write_bytes(content)
    loaded = datasets.load_dataset("parquet", data_files=str(path), split="train", cache_dir=str(tmp_path / "cache"))
    assert loaded.num_rows == 5 and "answer.entities" in loaded.column_names  # e0 twice, e1 to e3 once
    full = next(r for r in loaded if r["external_id"] == "e0" and r["answer.sentiment"] == "positive")
    assert full["answer.entities"] == FULL["entities"] and full["answer.stars"] == 4
