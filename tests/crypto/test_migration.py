"""Migrations 0013 and 0015 on a database that holds plaintext content: sealed by the upgrade, readable through
the models, and back to plaintext by the downgrade."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

import orjson
import pytest
from alembic import command
from sqlalchemy import text

from labelvault.accounts import service as accounts
from labelvault.accounts.models import Role
from labelvault.annotations.models import Annotation, AnnotationRevision, Review
from labelvault.crypto.content import EnvelopeCipher, bind_cipher
from labelvault.crypto.keys import LocalKeyProvider
from labelvault.crypto.service import Envelope
from labelvault.db.engine import build_engine, session_factory, transaction
from labelvault.db.migrate import alembic_config, upgrade
from labelvault.items.models import Item
from labelvault.predictions.models import Prediction
from labelvault.projects import service as projects
from labelvault.quality.models import ExamAttempt, ExamItem, GoldAnswer, ItemAggregate
from labelvault.testing import TEXT_SCHEMA, fresh_database, make_actor

NOW = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def _plaintext_rows(factory, actor) -> str:
    with transaction(factory) as session:
        user = accounts.principal_for(session, accounts.get_user(session, actor.user_id), actor.organization_id)
        project = projects.create_project(session, user, name="M", schema=TEXT_SCHEMA).id
    rows = {
        "items": {"id": "i1", "external_id": "e1", "data": '{"text": "secret text"}', "metadata": "{}",
                  "priority": 0, "state": "completed", "annotation_count": 1, "created_at": NOW, "updated_at": NOW},
        "annotations": {"id": "a1", "item_id": "i1", "author_id": actor.user_id, "schema_version": 1,
                        "answers": '{"sentiment": "positive"}', "status": "submitted", "time_spent_ms": 1,
                        "revision_count": 1, "created_at": NOW, "updated_at": NOW},
        "annotation_revisions": {"id": "r1", "annotation_id": "a1", "item_id": "i1", "number": 1,
                                 "author_id": actor.user_id, "schema_version": 1, "answers": '{"sentiment": "neutral"}',
                                 "status": "submitted", "time_spent_ms": 1, "made_at": NOW, "superseded_at": NOW},
        "reviews": {"id": "v1", "item_id": "i1", "annotation_id": "a1", "reviewer_id": actor.user_id,
                    "decision": "fix", "comment": "", "answers": '{"sentiment": "negative"}', "created_at": NOW},
    }
    with factory.kw["bind"].begin() as conn:
        for table, row in rows.items():
            row = {**row, "organization_id": actor.organization_id, "project_id": project}
            names = ", ".join(row)
            values = ", ".join(f"CAST(:{n} AS JSONB)" if n in ("data", "answers", "metadata")
                               and conn.dialect.name == "postgresql" else f":{n}" for n in row)
            conn.execute(text(f"INSERT INTO {table} ({names}) VALUES ({values})"), row)
    return project


def _json(value):  # type: ignore[no-untyped-def]
    return orjson.loads(value) if isinstance(value, str | bytes) else value


@contextmanager
def _plaintext_at_0012(db_kind, pg_admin_url, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """A database at migration 0012 (content still in plaintext) holding a project's rows: (url, engine,
    owner, project id). The instance's keys are in tmp_path/keys, where the migrations look for them."""
    monkeypatch.setenv("LABELVAULT_KEY_DIR", str(tmp_path / "keys"))
    with fresh_database(db_kind, tmp_path, pg_admin_url) as url:
        upgrade(url, "0012")
        engine = build_engine(url)
        try:
            factory = session_factory(engine)
            actor = make_actor(factory, Role.owner)
            yield url, engine, actor, _plaintext_rows(factory, actor)
        finally:
            engine.dispose()


@pytest.mark.slow
def test_upgrade_seals_existing_content_and_downgrade_opens_it(db_kind, pg_admin_url, tmp_path, monkeypatch):
    with _plaintext_at_0012(db_kind, pg_admin_url, tmp_path, monkeypatch) as (url, engine, _, _):
        upgrade(url)
        with engine.connect() as conn:
            raw = b"".join(bytes(v) for v in conn.execute(text(
                "SELECT sealed_data FROM items UNION ALL SELECT sealed_answers FROM annotations "
                "UNION ALL SELECT sealed_answers FROM annotation_revisions "
                "UNION ALL SELECT sealed_answers FROM reviews")).scalars())
        assert raw.count(b"LV1") == 4 and b"secret" not in raw and b"positive" not in raw
        sealed = bind_cipher(session_factory(engine), EnvelopeCipher(Envelope(LocalKeyProvider(tmp_path / "keys"))))
        with transaction(sealed) as session:
            assert session.get(Item, "i1").data == {"text": "secret text"}
            assert session.get(Annotation, "a1").answers == {"sentiment": "positive"}
            assert session.get(AnnotationRevision, "r1").answers == {"sentiment": "neutral"}
            assert session.get(Review, "v1").answers == {"sentiment": "negative"}
        command.downgrade(alembic_config(url), "0012")
        with engine.connect() as conn:
            data = conn.execute(text("SELECT data FROM items")).scalar_one()
            answers = conn.execute(text("SELECT answers FROM reviews")).scalar_one()
        assert [_json(data), _json(answers)] == [{"text": "secret text"}, {"sentiment": "negative"}]


QUALITY_ROWS = {  # as stored before migration 0015, JSON columns by name
    "gold_answers": {"id": "g1", "item_id": "i1", "answers": {"sentiment": "gold-secret"}},
    "predictions": {"id": "p1", "item_id": "i1", "model_name": "m", "model_version": "1",
                    "answers": {"sentiment": "predicted-secret"}},
    "item_aggregates": {"id": "x1", "item_id": "i1", "question": "sentiment", "value": {"value": "agg-secret"},
                        "confidence": 1.0, "method": "majority", "annotations": 1},
    "qualification_items": {"id": "q1", "data": {"text": "exam-secret"}, "answers": {"sentiment": "exam-answer"}},
    "qualification_attempts": {"id": "t1", "answers": {"q1": {"sentiment": "attempt-secret"}}, "scores": {"q1": 1.0},
                               "score": 1.0, "threshold": 0.8, "passed": True},
}
QUALITY_JSON = {"answers", "value", "data", "scores"}


def _quality_rows(engine, actor, project) -> None:  # type: ignore[no-untyped-def]
    people = {"gold_answers": "created_by_id", "qualification_items": "created_by_id",
              "qualification_attempts": "user_id"}
    times = {"gold_answers": ("created_at", "updated_at"), "item_aggregates": ("computed_at",)}
    with engine.begin() as conn:
        for table, given in QUALITY_ROWS.items():
            row = {**given, "organization_id": actor.organization_id, "project_id": project}
            row.update({c: NOW for c in times.get(table, ("created_at",))})
            if table in people:
                row[people[table]] = actor.user_id
            row = {n: orjson.dumps(v).decode() if n in QUALITY_JSON else v for n, v in row.items()}
            values = ", ".join(f"CAST(:{n} AS JSONB)" if n in QUALITY_JSON and conn.dialect.name == "postgresql"
                               else f":{n}" for n in row)
            conn.execute(text(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({values})"), row)


@pytest.mark.slow
def test_upgrade_seals_quality_content_and_downgrade_opens_it(db_kind, pg_admin_url, tmp_path, monkeypatch):
    with _plaintext_at_0012(db_kind, pg_admin_url, tmp_path, monkeypatch) as (url, engine, actor, project):
        _quality_rows(engine, actor, project)
        upgrade(url)
        sealed_columns = {"gold_answers": "sealed_answers", "predictions": "sealed_answers",
                          "item_aggregates": "sealed_value", "qualification_items": "sealed_data",
                          "qualification_attempts": "sealed_answers"}
        with engine.connect() as conn:
            raw = [bytes(conn.execute(text(f"SELECT {c} FROM {t}")).scalar_one())
                   for t, c in sealed_columns.items()]
            raw.append(bytes(conn.execute(text("SELECT sealed_answers FROM qualification_items")).scalar_one()))
        assert all(r.startswith(b"LV1") for r in raw) and not any(b"secret" in r or b"exam" in r for r in raw)
        cipher = EnvelopeCipher(Envelope(LocalKeyProvider(tmp_path / "keys")))
        with transaction(bind_cipher(session_factory(engine), cipher)) as session:
            assert session.get(GoldAnswer, "g1").answers == {"sentiment": "gold-secret"}
            assert session.get(Prediction, "p1").answers == {"sentiment": "predicted-secret"}
            assert session.get(ItemAggregate, "x1").value == "agg-secret"
            exam = session.get(ExamItem, "q1")
            assert (exam.data, exam.answers) == ({"text": "exam-secret"}, {"sentiment": "exam-answer"})
            assert session.get(ExamAttempt, "t1").answers == {"q1": {"sentiment": "attempt-secret"}}
        command.downgrade(alembic_config(url), "0014")
        with engine.connect() as conn:
            for table, given in QUALITY_ROWS.items():
                for name in QUALITY_JSON & set(given) - {"scores"}:
                    stored = conn.execute(text(f"SELECT {name} FROM {table}")).scalar_one()
                    assert _json(stored) == given[name], (table, name)
        upgrade(url)  # and up again: sealed once more
        with transaction(bind_cipher(session_factory(engine), cipher)) as session:
            assert session.get(GoldAnswer, "g1").answers == {"sentiment": "gold-secret"}
