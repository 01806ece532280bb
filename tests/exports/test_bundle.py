"""The exit bundle: made as a job, checked file by file on restore, refused when changed or when a name could
escape, sealed on request; restored into the other database it gives the same exports, byte for byte."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import orjson
import pytest
import zstandard
from sqlalchemy import func, select

from labelvault.accounts.models import Role
from labelvault.db.engine import build_engine
from labelvault.db.migrate import upgrade
from labelvault.demo import png
from labelvault.errors import Conflict
from labelvault.exports.bundle import BundleRefused
from labelvault.exports.jsonl import ExportFilter, stream_jsonl
from labelvault.exports.records import ExportOptions, aggregated_jsonl, export_records
from labelvault.exports.restore import restore_file
from labelvault.formats.base import Report
from labelvault.formats.registry import FORMATS
from labelvault.items.models import ItemStateCount
from labelvault.kit.sealing import new_key_pair
from labelvault.ledger.models import LedgerEntry
from labelvault.projects.label_schema import LabelSchema
from labelvault.storage import LocalBlobStore
from labelvault.testing import another_instance, api_annotate, api_project, fresh_database

SCHEMA = {
    "fields": [{"name": "text", "kind": "text"}, {"name": "image", "kind": "image", "required": False}],
    "questions": [
        {"name": "sentiment", "type": "single_choice", "options": [{"value": "positive"}, {"value": "negative"}]},
        {"name": "entities", "type": "spans", "field": "text", "required": False, "labels": [{"value": "PER"}]},
        {"name": "objects", "type": "boxes", "field": "image", "required": False, "labels": [{"value": "cat"}]},
    ],
}


def _bundle(client, ctx, actor, project_id) -> bytes:
    started = client.post(f"/api/v1/projects/{project_id}/bundles", headers=actor.headers)
    assert started.status_code == 202, started.text
    ctx.runner.run_until_idle()
    job = client.get(f"/api/v1/jobs/{started.json()['id']}", headers=actor.headers).json()
    assert job["state"] == "succeeded", job
    download = client.get(f"/api/v1/exports/{job['id']}/file", headers=actor.headers)
    assert download.status_code == 200
    return download.content


@pytest.fixture
def project(client, ctx, owner, member_of):
    """Items with media, annotations by two people (one changed: a revision), a review, a skip, predictions, and
    quality results: settings, a gold item, an exam item with an attempt, scores, aggregates and a report."""
    items = [{"external_id": f"e{i}", "data": {"text": f"Ada number {i}", "image": f"img/{i}.png"},
              "metadata": {"split": "train"}, "predictions": [
                  {"model_name": "m", "model_version": "1", "answers": {"sentiment": "positive"}}]} for i in range(5)]
    project_id = api_project(client, owner, SCHEMA, items, ctx.runner)
    client.patch(f"/api/v1/projects/{project_id}", json={"review_mode": "all", "default_overlap": 2},
                 headers=owner.headers)
    for i in range(3):
        client.put(f"/api/v1/projects/{project_id}/media/img/{i}.png", content=png(8 + i, 6, (9, 9, 9), (0, 0, 2, 2)),
                   headers=owner.headers)
    reviewer = member_of(owner, Role.reviewer)
    answers = {"sentiment": "positive", "entities": [{"start": 0, "end": 3, "label": "PER"}],
               "objects": [{"x": 0.1, "y": 0.1, "width": 0.5, "height": 0.5, "label": "cat"}]}
    api_annotate(client, owner, project_id, {"e0": answers, "e1": {"sentiment": "negative"}})
    api_annotate(client, owner, project_id, {"e1": {"sentiment": "positive"}})
    api_annotate(client, reviewer, project_id, {"e0": {"sentiment": "negative"}})
    item = client.get(f"/api/v1/projects/{project_id}/items", headers=owner.headers).json()["items"][0]
    [mine] = [a for a in client.get(f"/api/v1/items/{item['id']}/annotations", headers=owner.headers).json()
              if a["author_id"] == owner.user_id]
    reviewed = client.post(f"/api/v1/annotations/{mine['id']}/review", json={"decision": "accept"},
                           headers=reviewer.headers)
    assert reviewed.status_code in (200, 201), reviewed.text
    last = client.get(f"/api/v1/projects/{project_id}/items", headers=owner.headers).json()["items"][-1]
    assert client.post(f"/api/v1/items/{last['id']}/skip", json={"reason": "unclear"},
                       headers=reviewer.headers).status_code in (200, 201)
    assert client.patch(f"/api/v1/projects/{project_id}/quality/settings", json={"gold_threshold": 0.6},
                        headers=owner.headers).status_code == 200
    gold = client.get(f"/api/v1/projects/{project_id}/items", headers=owner.headers).json()["items"][2]
    assert client.put(f"/api/v1/items/{gold['id']}/gold", json={"answers": {"sentiment": "negative"}},
                      headers=owner.headers).status_code == 200
    api_annotate(client, reviewer, project_id, {gold["external_id"]: {"sentiment": "negative"}})
    exam = client.post(f"/api/v1/projects/{project_id}/qualification/items",
                       json={"data": {"text": "Exam text"}, "answers": {"sentiment": "positive"}},
                       headers=owner.headers)
    assert exam.status_code == 201, exam.text
    attempt = client.post(f"/api/v1/projects/{project_id}/qualification/attempts",
                          json={"answers": {exam.json()["id"]: {"sentiment": "positive"}}}, headers=reviewer.headers)
    assert attempt.status_code == 201, attempt.text
    assert client.post(f"/api/v1/projects/{project_id}/quality/refresh", headers=owner.headers).status_code == 202
    ctx.runner.run_until_idle()
    return project_id


def _exports(factory, organization_id: str, project_id: str, media) -> dict[str, bytes]:
    """Every format that fits the schema, and the native JSONL as parsed lines."""
    with factory() as session:
        from labelvault.projects import service as projects

        project = projects.project_for_job(session, organization_id, project_id)
        schema: LabelSchema = projects.current_label_schema(session, project)
    out: dict[str, bytes] = {}
    for name, fmt in FORMATS.items():
        if fmt.check_schema(schema):
            continue
        buffer = io.BytesIO()
        records = export_records(factory, organization_id, project_id, ExportOptions(predictions=True),
                                 image_fields=["image"], media=media)
        fmt.write(records, schema, buffer, Report())
        out[name] = buffer.getvalue()
        if name in ("csv", "hf_jsonl", "hf_parquet", "label_studio"):
            buffer = io.BytesIO()
            records = export_records(factory, organization_id, project_id,
                                     ExportOptions(aggregated=True, include_gold=name != "csv"))
            fmt.write(records, schema, buffer, Report())
            out[f"{name} (aggregated)"] = buffer.getvalue()
    native = b"".join(stream_jsonl(factory, organization_id, project_id, ExportFilter(revisions=True)))
    # The native export splices the stored JSON text: equal as JSON values (PostgreSQL orders jsonb keys its way).
    out["jsonl (parsed)"] = orjson.dumps([orjson.loads(line) for line in native.splitlines()],
                                         option=orjson.OPT_SORT_KEYS)
    out["jsonl (aggregated)"] = b"".join(aggregated_jsonl(factory, organization_id, project_id, ExportFilter(),
                                                          include_gold=True))
    out["quality"] = _quality(factory, organization_id, project_id)
    return out


def _quality(factory, organization_id: str, project_id: str) -> bytes:
    """Quality control's stored results of the project, as its service gives them."""
    from labelvault.projects import service as projects
    from labelvault.quality import service as quality

    with factory() as session:
        project = projects.project_for_job(session, organization_id, project_id)
        settings = quality.settings_of(session, project)
        columns = [c.name for c in settings.__table__.columns if c.name != "organization_id"]
        return orjson.dumps({
            "settings": {c: getattr(settings, c) for c in columns},
            "gold": [(g.item_id, g.answers) for g in quality.gold_page(session, project, None, 100)],
            "aggregates": [(a.item_id, a.question, a.value, a.confidence, a.method, a.annotations)
                           for a in quality.aggregates_page(session, project, None, 100, None)],
            "report": quality.get_report(session, project).report,
            "suspensions": [(s.user_id, s.gold_accuracy) for s in quality.list_suspensions(session, project)],
        }, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


@pytest.mark.slow
def test_restore_into_the_other_database_gives_the_same_exports(client, ctx, owner, project, db_kind, pg_admin_url,
                                                                  tmp_path):
    content = _bundle(client, ctx, owner, project)
    path = tmp_path / "p.tar.zst"
    path.write_bytes(content)
    before = _exports(ctx.factory, owner.organization_id, project, ctx.media)
    assert {"csv", "hf_parquet", "label_studio", "coco", "conll", "yolo"} <= set(before)
    other = "postgresql" if db_kind == "sqlite" else "sqlite"
    with fresh_database(other, tmp_path, pg_admin_url) as url:
        upgrade(url)
        engine = build_engine(url)
        try:
            # Another instance: its own key-encryption keys; content and media are sealed again with them.
            factory, media = another_instance(engine, tmp_path / "other")
            restored = restore_file(factory, media, path)
            assert restored.project_id == project and restored.media == 3
            assert restored.rows["annotations"] == 4 and restored.rows["annotation_revisions"] == 1
            assert restored.rows["reviews"] == 1 and restored.rows["skips"] == 1 and restored.rows["predictions"] == 5
            assert restored.rows["gold_answers"] == 1 and restored.rows["quality_settings"] == 1
            assert restored.rows["qualification_items"] == 1 and restored.rows["qualification_attempts"] == 1
            assert restored.rows["item_aggregates"] > 0 and restored.rows["quality_reports"] == 1
            assert restored.rows["annotation_scores"] > 0
            # The ledger slice is kept as an archived file, not put into this instance's chain.
            assert restored.ledger_archive is not None and restored.rows["ledger_entries"] > 0
            with media.open_read(restored.ledger_archive) as handle:
                entries = [orjson.loads(line) for line in handle.read().splitlines()]
            assert len(entries) == restored.rows["ledger_entries"]
            assert {e["project_id"] for e in entries} == {project}
            with factory() as session:
                assert session.scalar(select(func.count()).select_from(LedgerEntry)) == 0
            after = _exports(factory, restored.organization_id, project, media)
            assert b'"method":"gold"' in before["jsonl (aggregated)"]
            for name in before:
                assert after[name] == before[name], name
            with factory() as session:
                counts = {s: n for s, n in session.execute(select(ItemStateCount.state, ItemStateCount.n)).all()}
            assert sum(counts.values()) == 5
            with pytest.raises(Conflict):
                restore_file(factory, media, path)
        finally:
            engine.dispose()


def _members(content: bytes) -> dict[str, bytes]:
    with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(content)) as raw, \
            tarfile.open(fileobj=raw, mode="r|") as tar:
        return {info.name: tar.extractfile(info).read() for info in tar}  # type: ignore[union-attr]


def _pack(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zstandard.ZstdCompressor().stream_writer(out, closefd=False) as packed, \
            tarfile.open(fileobj=packed, mode="w|") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _restore(ctx, tmp_path: Path, content: bytes, **keys):
    path = tmp_path / "b.tar.zst"
    path.write_bytes(content)
    return restore_file(ctx.factory, LocalBlobStore(tmp_path / "m"), path, **keys)


def test_the_manifest_lists_every_file_with_its_checksum(client, ctx, owner, project):
    members = _members(_bundle(client, ctx, owner, project))
    manifest = orjson.loads(members.pop("manifest.json"))
    assert manifest["format"] == "labelvault-bundle" and manifest["project_id"] == project
    assert set(manifest["files"]) == set(members)
    assert {"tables/items.jsonl", "tables/annotations.jsonl", "tables/annotation_revisions.jsonl",
            "tables/project_schemas.jsonl", "tables/reviews.jsonl", "people.jsonl", "media/img/0.png"} <= set(members)
    assert manifest["files"]["tables/items.jsonl"]["rows"] == 5
    assert {"tables/quality_settings.jsonl", "tables/gold_answers.jsonl", "tables/qualification_items.jsonl",
            "tables/qualification_attempts.jsonl", "tables/item_aggregates.jsonl", "tables/quality_suspensions.jsonl",
            "tables/quality_reports.jsonl", "ledger.jsonl"} <= set(members)
    assert "quality" not in manifest["not_included"] and "ledger" not in manifest["not_included"]
    entries = [orjson.loads(line) for line in members["ledger.jsonl"].splitlines()]
    assert entries and {e["project_id"] for e in entries} == {project}
    assert manifest["files"]["ledger.jsonl"]["rows"] == len(entries)
    people = [orjson.loads(line) for line in members["people.jsonl"].splitlines()]
    assert all(set(p) == {"id", "email", "name", "role", "vendor_id", "skills"} for p in people)  # never a password
    assert "workforces.jsonl" in members and "tables/routing_rules.jsonl" in members


def test_a_changed_file_is_refused_by_name_and_nothing_is_written(client, ctx, owner, project, tmp_path):
    members = _members(_bundle(client, ctx, owner, project))
    members["tables/annotations.jsonl"] = members["tables/annotations.jsonl"].replace(b"positive", b"negative")
    with pytest.raises(BundleRefused) as refused:
        _restore(ctx, tmp_path, _pack(members))
    assert refused.value.details == {"file": "tables/annotations.jsonl"}
    assert "tables/annotations.jsonl fails its SHA-256 checksum" in refused.value.message
    extra = {**_members(_bundle(client, ctx, owner, project)), "tables/extra.jsonl": b"{}"}
    with pytest.raises(BundleRefused, match="does not list"):
        _restore(ctx, tmp_path, _pack(extra))


@pytest.mark.parametrize("name", ["../escaped.txt", "/tmp/absolute.txt", "media/../../up.txt", "a\\b"])
def test_names_that_could_escape_are_refused(ctx, tmp_path, name):
    with pytest.raises(BundleRefused) as refused:
        _restore(ctx, tmp_path, _pack({name: b"x", "manifest.json": b"{}"}))
    assert refused.value.details == {"file": name}
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path.parent / "escaped.txt").exists()


def test_a_link_is_refused(ctx, tmp_path):
    out = io.BytesIO()
    with zstandard.ZstdCompressor().stream_writer(out, closefd=False) as packed, \
            tarfile.open(fileobj=packed, mode="w|") as tar:
        info = tarfile.TarInfo("tables/items.jsonl")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(info)
    with pytest.raises(BundleRefused, match="not a regular file"):
        _restore(ctx, tmp_path, out.getvalue())


def test_sealed_bundles_open_only_with_their_key(client, ctx, owner, project, tmp_path):
    from labelvault.kit.sealing import seal

    content = _bundle(client, ctx, owner, project)
    private, public = new_key_pair()
    sealed = io.BytesIO()
    seal(io.BytesIO(content), sealed, recipient=public)
    assert b"tables/items.jsonl" not in sealed.getvalue()
    with pytest.raises(BundleRefused, match="private key"):
        _restore(ctx, tmp_path, sealed.getvalue())
    other_private, _ = new_key_pair()
    with pytest.raises(BundleRefused, match="wrong passphrase or key"):
        _restore(ctx, tmp_path, sealed.getvalue(), identity=other_private)
    damaged = bytearray(sealed.getvalue())
    damaged[-20] ^= 1
    with pytest.raises(BundleRefused, match="was changed"):
        _restore(ctx, tmp_path, bytes(damaged), identity=private)
    with_passphrase = io.BytesIO()
    seal(io.BytesIO(content), with_passphrase, passphrase=b"correct horse")
    with pytest.raises(BundleRefused, match="wrong passphrase"):
        _restore(ctx, tmp_path, with_passphrase.getvalue(), passphrase=b"wrong")
    # Opened and checked: it gets as far as finding the project here already.
    with pytest.raises(Conflict):
        _restore(ctx, tmp_path, sealed.getvalue(), identity=private)
    with pytest.raises(Conflict):
        _restore(ctx, tmp_path, with_passphrase.getvalue(), passphrase=b"correct horse")


def test_a_bundle_made_before_quality_results_travelled_still_restores(client, ctx, owner, project, db_kind,
                                                                       pg_admin_url, tmp_path):
    members = _members(_bundle(client, ctx, owner, project))
    manifest = orjson.loads(members.pop("manifest.json"))
    for name in [n for n in members if n.startswith(("tables/quality", "tables/gold", "tables/qualification",
                                                      "tables/annotation_scores", "tables/item_aggregates"))]:
        del members[name]
        del manifest["files"][name]
    for name in ("ledger.jsonl", "workforces.jsonl", "tables/routing_rules.jsonl"):
        del members[name]
        del manifest["files"][name]
    members["manifest.json"] = orjson.dumps(manifest)
    path = tmp_path / "old.tar.zst"
    path.write_bytes(_pack(members))
    with fresh_database(db_kind, tmp_path, pg_admin_url) as url:
        upgrade(url)
        engine = build_engine(url)
        try:
            factory, media = another_instance(engine, tmp_path / "old")
            restored = restore_file(factory, media, path)
        finally:
            engine.dispose()
    assert restored.rows["items"] == 5 and restored.rows["gold_answers"] == 0
    assert restored.ledger_archive is None and "ledger_entries" not in restored.rows
