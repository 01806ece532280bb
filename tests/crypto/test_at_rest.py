"""Content at rest: what the database and the media store hold is ciphertext, bound to its row; key rotation
keeps it readable; crypto-shred makes it unrecoverable. Raw bytes are read on both databases."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from labelvault.accounts.models import Role
from labelvault.cli.main import app
from labelvault.crypto.content import NoCipher, bind_cipher
from labelvault.crypto.keys import LocalKeyProvider
from labelvault.crypto.service import ContentDamaged, ContentDestroyed, Envelope, FieldScope
from labelvault.db.base import Base
from labelvault.db.engine import session_factory, transaction
from labelvault.testing import WRITING_SCHEMA


@pytest.fixture
def canary() -> str:
    return f"canary-{secrets.token_hex(8)}"


@pytest.fixture
def seeded(client, ctx, owner, member_of, canary):
    """A project whose item data, submitted answers, a revision, a draft, a review fix and a media file all carry
    the canary."""
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
    return project, items


def _raw_database(engine) -> bytes:
    """Every value of every table as the driver hands it over (bytes as stored), and on SQLite also every byte
    of the database file and its WAL."""
    chunks = []
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.exec_driver_sql(f'SELECT * FROM "{table.name}"').all():
                chunks += [v if isinstance(v, bytes) else str(v).encode() for v in row]
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        database = Path(engine.url.database or "")
        chunks += [p.read_bytes() for p in database.parent.glob(database.name + "*") if p.is_file()]
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
        kinds = {t: session.execute(text(f"SELECT count(*) FROM {t} WHERE {c} IS NOT NULL")).scalar_one()
                 for t, c in (("items", "sealed_data"), ("annotations", "sealed_answers"),
                              ("annotation_revisions", "sealed_answers"), ("reviews", "sealed_answers"))}
    assert kinds == {"items": 2, "annotations": 2, "annotation_revisions": 2, "reviews": 1}


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
