"""Content at rest: what the database and the media store hold is ciphertext, bound to its row; key rotation
keeps it readable; crypto-shred makes it unrecoverable. Raw bytes are read on both databases. The content
covers item data, annotation answers (drafts, revisions, review fixes), media, and quality control's copies of
content: gold answers, predictions, aggregates, qualification exam items and attempts."""

from __future__ import annotations

import secrets
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from labelvault.accounts.models import Role
from labelvault.cli.main import app
from labelvault.crypto.content import NoCipher, bind_cipher
from labelvault.crypto.keys import LocalKeyProvider
from labelvault.crypto.service import ContentDamaged, ContentDestroyed, Envelope, FieldScope
from labelvault.db.base import Base
from labelvault.db.engine import session_factory, transaction
from labelvault.predictions.models import Prediction
from labelvault.quality.models import ExamAttempt, ExamItem, GoldAnswer, ItemAggregate
from labelvault.testing import WRITING_SCHEMA, sqlite_file_bytes


@pytest.fixture
def canary() -> str:
    return f"canary-{secrets.token_hex(8)}"


@pytest.fixture
def seeded(client, ctx, owner, member_of, canary):
    """A project whose item data, submitted answers, a revision, a draft, a review fix, a media file, a gold
    answer, a prediction, an exam item and an exam attempt all carry the canary; it has an aggregate too."""
    project = client.post("/api/v1/projects", json={"name": "S", "schema": WRITING_SCHEMA, "review_mode": "all"},
                          headers=owner.headers).json()["id"]
    lines = b"".join(f'{{"external_id": "{n}", "data": {{"prompt": "{canary}-data-{n}", "response": "r"}}}}\n'
                     .encode() for n in ("a", "b"))
    job = client.post(f"/api/v1/projects/{project}/imports", params={"filename": "x.jsonl"}, content=lines,
                      headers=owner.headers)
    assert job.status_code == 202, job.text
    ctx.runner.run_until_idle()
    items = {i["external_id"]: i["id"] for i in
             client.get(f"/api/v1/projects/{project}/items", headers=owner.headers).json()["items"]}
    annotator, other, reviewer = (member_of(owner, r) for r in (Role.annotator, Role.annotator, Role.reviewer))
    for answer in ("first", "second"):  # the second submission keeps the first as a revision
        saved = client.post(f"/api/v1/items/{items['a']}/annotations",
                            json={"answers": {"answer": f"{canary}-{answer}"}}, headers=annotator.headers)
        assert saved.status_code in (200, 201), saved.text
    draft = client.post(f"/api/v1/items/{items['b']}/annotations",
                        json={"answers": {"answer": f"{canary}-draft"}, "draft": True}, headers=other.headers)
    assert draft.status_code in (200, 201), draft.text
    task = client.post(f"/api/v1/projects/{project}/review/next", headers=reviewer.headers).json()
    fixed = client.post(f"/api/v1/annotations/{task['annotation']['id']}/review",
                        json={"decision": "fix", "answers": {"answer": f"{canary}-fix"}}, headers=reviewer.headers)
    assert fixed.status_code == 201, fixed.text
    put = client.put(f"/api/v1/projects/{project}/media/img/one.txt", content=f"{canary}-media".encode(),
                     headers=owner.headers)
    assert put.status_code == 201, put.text
    _seed_quality(client, ctx, owner, member_of, canary, project, items)
    return project, items


def _seed_quality(client, ctx, owner, member_of, canary, project, items):  # type: ignore[no-untyped-def]
    gold = client.put(f"/api/v1/items/{items['b']}/gold", json={"answers": {"answer": f"{canary}-gold"}},
                      headers=owner.headers)
    assert gold.status_code == 200, gold.text
    line = {"external_id": "a", "model_name": "m", "model_version": "1", "answers": {"answer": f"{canary}-prediction"}}
    job = client.post(f"/api/v1/projects/{project}/predictions/imports", params={"filename": "p.jsonl"},
                      content=orjson.dumps(line) + b"\n", headers=owner.headers)
    assert job.status_code == 202, job.text
    exam = client.post(f"/api/v1/projects/{project}/qualification/items", headers=owner.headers, json={
        "data": {"prompt": f"{canary}-exam", "response": "r"}, "answers": {"answer": f"{canary}-exam-answer"}})
    assert exam.status_code == 201, exam.text
    taker = member_of(owner, Role.annotator)
    attempt = client.post(f"/api/v1/projects/{project}/qualification/attempts", headers=taker.headers,
                          json={"answers": {exam.json()["id"]: {"answer": f"{canary}-attempt"}}})
    assert attempt.status_code == 201, attempt.text
    added = client.post(f"/api/v1/projects/{project}/imports", params={"filename": "g.jsonl"}, headers=owner.headers,
                        content=f'{{"external_id": "g", "data": {{"prompt": "{canary}-data-g", "response": "r"}}}}\n'
                        .encode())
    assert added.status_code == 202, added.text
    ctx.runner.run_until_idle()
    (graded_item,) = [i["id"] for i in client.get(f"/api/v1/projects/{project}/items", headers=owner.headers)
                      .json()["items"] if i["external_id"] == "g"]
    grader = member_of(owner, Role.annotator)  # a rubric answer: aggregated (free text is not)
    graded = client.post(f"/api/v1/items/{graded_item}/annotations", headers=grader.headers,
                         json={"answers": {"grades": {"helpful": {"score": 4}, "honest": {"score": 5}}}})
    assert graded.status_code in (200, 201), graded.text
    refresh = client.post(f"/api/v1/projects/{project}/quality/refresh", headers=owner.headers)
    assert refresh.status_code == 202, refresh.text
    ctx.runner.run_until_idle()


SEALED_COLUMNS = (("items", "sealed_data"), ("annotations", "sealed_answers"),
                  ("annotation_revisions", "sealed_answers"), ("reviews", "sealed_answers"),
                  ("gold_answers", "sealed_answers"), ("predictions", "sealed_answers"),
                  ("item_aggregates", "sealed_value"), ("qualification_items", "sealed_data"),
                  ("qualification_items", "sealed_answers"), ("qualification_attempts", "sealed_answers"))


def _raw_database(engine) -> bytes:
    """Every value of every table as the driver hands it over (bytes as stored), and on SQLite also every byte
    of the database file and its WAL."""
    chunks = []
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.exec_driver_sql(f'SELECT * FROM "{table.name}"').all():
                chunks += [v if isinstance(v, bytes) else str(v).encode() for v in row]
    if engine.dialect.name == "sqlite":
        chunks.append(sqlite_file_bytes(engine))
    return b"\n".join(chunks)


def _raw_media(ctx) -> bytes:
    return b"".join(p.read_bytes() for p in Path(ctx.settings.resolved_media_dir).rglob("*") if p.is_file())


def _cli(ctx, content, *args):
    env = {"LABELVAULT_DATA_DIR": str(ctx.settings.data_dir), "LABELVAULT_DATABASE_URL": ctx.settings.database_url,
           "LABELVAULT_KEY_DIR": str(content.envelope.provider.directory), "COLUMNS": "200", "NO_COLOR": "1"}
    return CliRunner().invoke(app, list(args), env=env)


def test_content_is_stored_only_encrypted_and_reads_back(client, ctx, engine, owner, seeded, canary):
    project, items = seeded
    item = client.get(f"/api/v1/items/{items['a']}", headers=owner.headers).json()
    assert item["data"]["prompt"] == f"{canary}-data-a"
    media = client.get(f"/api/v1/projects/{project}/media/img/one.txt", headers=owner.headers)
    assert media.content == f"{canary}-media".encode()
    raw = _raw_database(engine)
    assert b"canary-" not in raw and canary.encode() not in raw
    assert canary.encode() not in _raw_media(ctx) and len(_raw_media(ctx)) > len(f"{canary}-media")
    with transaction(ctx.factory) as session:
        kinds = {f"{t}.{c}": session.execute(text(f"SELECT count(*) FROM {t} WHERE {c} IS NOT NULL")).scalar_one()
                 for t, c in SEALED_COLUMNS}
    assert kinds == {"items.sealed_data": 3, "annotations.sealed_answers": 3,
                     "annotation_revisions.sealed_answers": 2, "reviews.sealed_answers": 1,
                     "gold_answers.sealed_answers": 1, "predictions.sealed_answers": 1,
                     "item_aggregates.sealed_value": 1, "qualification_items.sealed_data": 1,
                     "qualification_items.sealed_answers": 1, "qualification_attempts.sealed_answers": 1}
    assert client.get(f"/api/v1/items/{items['b']}/gold", headers=owner.headers).json()["answers"] == {
        "answer": f"{canary}-gold"}
    (prediction,) = client.get(f"/api/v1/items/{items['a']}/predictions", headers=owner.headers).json()
    assert prediction["answers"] == {"answer": f"{canary}-prediction"}
    (aggregate,) = client.get(f"/api/v1/projects/{project}/aggregates", headers=owner.headers).json()["items"]
    assert aggregate["value"] == {"helpful": {"score": 4}, "honest": {"score": 5}}
    (exam,) = client.get(f"/api/v1/projects/{project}/qualification/items", headers=owner.headers).json()
    assert (exam["data"]["prompt"], exam["answers"]) == (f"{canary}-exam", {"answer": f"{canary}-exam-answer"})
    (attempt,) = client.get(f"/api/v1/projects/{project}/qualification/attempts", headers=owner.headers).json()
    with transaction(ctx.factory) as session:  # the API shows the scores, not the answers
        assert session.get(ExamAttempt, attempt["id"]).answers == {exam["id"]: {"answer": f"{canary}-attempt"}}


def test_a_ciphertext_moved_to_another_row_does_not_open(client, ctx, owner, seeded):
    project, items = seeded
    with transaction(ctx.factory) as session:
        session.execute(text("UPDATE items SET sealed_data = (SELECT sealed_data FROM items WHERE id = :a) "
                             "WHERE id = :b"), {"a": items["a"], "b": items["b"]})
    assert client.get(f"/api/v1/items/{items['a']}", headers=owner.headers).status_code == 200
    moved = client.get(f"/api/v1/items/{items['b']}", headers=owner.headers)
    assert moved.status_code == 500 and moved.json()["code"] == "content_damaged"
    media = Path(ctx.settings.resolved_media_dir) / owner.organization_id / project / "img"
    (media / "two.txt").write_bytes((media / "one.txt").read_bytes())  # another path: bound to the first
    copied = client.get(f"/api/v1/projects/{project}/media/img/two.txt", headers=owner.headers)
    assert copied.status_code == 500 and copied.json()["code"] == "content_damaged"


def test_an_annotation_moved_to_another_row_does_not_open(ctx, owner, seeded):
    _, items = seeded
    with transaction(ctx.factory) as session:
        session.execute(text("UPDATE annotations SET sealed_answers = (SELECT sealed_answers FROM annotations "
                             "WHERE item_id = :a) WHERE item_id = :b"), {"a": items["a"], "b": items["b"]})
    from labelvault.annotations.models import Annotation

    with transaction(ctx.factory) as session:
        (moved,) = session.query(Annotation).filter(Annotation.item_id == items["b"]).all()
        with pytest.raises(ContentDamaged):
            _ = moved.answers


# A copy of a row under another id (and, where a unique key needs it, another value of that key): the copied
# ciphertext is bound to the first row and must not open in the second.
MOVES = ((GoldAnswer, "answers", "item_id", "a"), (Prediction, "answers", "model_version", "2"),
         (ItemAggregate, "document", "question", "moved"), (ExamItem, "data", None, None),
         (ExamItem, "answers", None, None), (ExamAttempt, "answers", None, None))


@pytest.mark.parametrize(("model", "attribute", "unique", "value"), MOVES,
                         ids=[f"{m.__tablename__}.{a}" for m, a, _, _ in MOVES])
def test_quality_content_moved_to_another_row_does_not_open(ctx, seeded, model, attribute, unique, value):
    _, items = seeded
    table = model.__table__
    names = [c.name for c in table.columns]
    chosen = [":new_id" if n == "id" else ":unique" if n == unique else n for n in names]
    with transaction(ctx.factory) as session:
        (original,) = session.execute(text(f"SELECT id FROM {table.name}")).scalars().all()
        session.execute(text(f"INSERT INTO {table.name} ({', '.join(names)}) SELECT {', '.join(chosen)} "
                             f"FROM {table.name} WHERE id = :id"),
                        {"id": original, "new_id": "moved-row", "unique": items.get(value, value)})
    with transaction(ctx.factory) as session:
        assert getattr(session.get(model, original), attribute)  # still opens where it was sealed
        moved = session.get(model, "moved-row")
        with pytest.raises(ContentDamaged):
            getattr(moved, attribute)


def test_crypto_shred_leaves_nothing_recoverable(client, ctx, engine, content, owner, seeded, canary):
    project, items = seeded
    with transaction(ctx.factory) as session:
        sealed = session.execute(text("SELECT sealed_data FROM items WHERE id = :a"), {"a": items["a"]}).scalar_one()
        wrapped = session.execute(text("SELECT wrapped_key FROM project_data_keys WHERE project_id = :p"),
                                  {"p": project}).scalars().all()
    assert wrapped and all(w in _raw_database(engine) for w in wrapped)  # the check below can see a key
    shred = _cli(ctx, content, "project", "shred", project, "--yes")
    assert shred.exit_code == 0, shred.output
    assert "1 data keys destroyed" in shred.output
    content.envelope.forget(owner.organization_id, project)  # as a server's key cache expires
    raw = _raw_database(engine)
    assert not any(w in raw for w in wrapped)
    assert canary.encode() not in raw and canary.encode() not in _raw_media(ctx)
    gone = client.get(f"/api/v1/items/{items['a']}", headers=owner.headers)
    assert gone.status_code == 410 and gone.json()["code"] == "content_destroyed"
    media = client.get(f"/api/v1/projects/{project}/media/img/one.txt", headers=owner.headers)
    assert media.status_code == 410
    for path in (f"/api/v1/items/{items['b']}/gold", f"/api/v1/items/{items['a']}/predictions",
                 f"/api/v1/projects/{project}/aggregates", f"/api/v1/projects/{project}/qualification/items",
                 f"/api/v1/projects/{project}/qualification/exam", f"/api/v1/items/{items['a']}/annotations",
                 f"/api/v1/items/{items['a']}/detail"):
        destroyed = client.get(path, headers=owner.headers)
        assert destroyed.status_code == 410 and destroyed.json()["code"] == "content_destroyed", path
    with transaction(ctx.factory) as session, pytest.raises(ContentDestroyed):
        _ = session.scalars(select(ExamAttempt).where(ExamAttempt.project_id == project)).one().answers
    with transaction(ctx.factory) as session, pytest.raises(ContentDestroyed):
        # Even with the key-encryption keys at hand.
        Envelope(content.envelope.provider).decrypt(
            session, FieldScope(owner.organization_id, project, items["a"], "data"), sealed)


def test_key_rotation_keeps_every_version_readable(client, ctx, content, owner, seeded, canary):
    project, items = seeded
    provider: LocalKeyProvider = content.envelope.provider
    before = set(provider.kek_ids())
    rotated = _cli(ctx, content, "keys", "rotate-project", project)
    assert rotated.exit_code == 0 and "version 2" in rotated.output, rotated.output
    content.envelope.forget(owner.organization_id, project)
    client.post(f"/api/v1/projects/{project}/imports", params={"filename": "y.jsonl"},
                content=b'{"external_id": "c", "data": {"prompt": "new", "response": "r"}}\n', headers=owner.headers)
    ctx.runner.run_until_idle()
    with transaction(ctx.factory) as session:
        versions = dict(session.execute(text("SELECT external_id, substr(sealed_data, 4, 4) FROM items "
                                             "WHERE project_id = :p"), {"p": project}).all())
    assert versions["c"] != versions["a"]
    kek = _cli(ctx, content, "keys", "rotate-kek", "--remove-old")
    assert kek.exit_code == 0, kek.output
    after = provider.kek_ids()
    assert len(after) == 1 and after[0] not in before  # the old KEK wraps nothing any more: removed
    content.envelope.forget(owner.organization_id, project)
    for external_id, expected in (("a", f"{canary}-data-a"), ("c", "new")):
        page = client.get(f"/api/v1/projects/{project}/items", headers=owner.headers).json()["items"]
        (item,) = [i for i in page if i["external_id"] == external_id]
        assert client.get(f"/api/v1/items/{item['id']}", headers=owner.headers).json()["data"]["prompt"] == expected
    assert _cli(ctx, content, "keys", "rotate-project", "no-such-project").exit_code == 1


def test_the_no_op_cipher_does_not_open_sealed_content(engine, seeded):
    _, items = seeded
    plain = bind_cipher(session_factory(engine), NoCipher())
    from labelvault.items.models import Item

    with transaction(plain) as session:
        item = session.get(Item, items["a"])
        with pytest.raises(ContentDamaged):
            _ = item.data
