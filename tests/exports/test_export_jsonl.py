"""The JSONL export, read back line by line against what the database holds (through the ORM)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import pytest
from sqlalchemy import delete, insert, select, text, update

from labelvault.accounts import service as accounts
from labelvault.accounts.models import Membership, Role, User
from labelvault.annotations import service as annotations
from labelvault.annotations.models import Annotation, AnnotationRevision
from labelvault.db.engine import transaction
from labelvault.exports import jsonl
from labelvault.exports.jsonl import ExportFilter, stream_jsonl
from labelvault.items.models import Item
from labelvault.kit.clock import utcnow
from labelvault.kit.ids import new_id
from labelvault.projects import service as projects
from labelvault.testing import TEXT_SCHEMA, make_actor

EXTERNAL_IDS = ['quote " backslash \\ newline \n tab \t', "é漢😀\u2028", "plain"]


def _iso(value: dt.datetime | None, dialect: str) -> str | None:
    """As exported: SQLite's stored text always has six fraction digits; PostgreSQL's times are written as
    Python's isoformat writes them (no fraction when it is zero)."""
    if value is None:
        return None
    wall = value.astimezone(dt.UTC).replace(tzinfo=None)
    return (wall.isoformat() if dialect == "postgresql" else wall.strftime("%Y-%m-%dT%H:%M:%S.%f")) + "Z"


@pytest.fixture
def project(factory):  # type: ignore[no-untyped-def]
    """12 items (three with tricky external ids); annotations by three annotators, one of whom has left;
    drafts, revisions, and times with a zero and a trailing-zero fraction."""
    owner = make_actor(factory, Role.owner)
    authors = [make_actor(factory, Role.annotator, organization_id=owner.organization_id,
                          email='left-"é"@example.test' if n == 0 else None) for n in range(3)]
    now = utcnow()
    with transaction(factory) as session:
        principal = accounts.principal_for(session, session.get(User, owner.user_id), owner.organization_id)
        project = projects.create_project(session, principal, name="Export", schema=TEXT_SCHEMA, default_overlap=3)
        rows = [{
            "id": new_id(), "organization_id": owner.organization_id, "project_id": project.id,
            "external_id": EXTERNAL_IDS[n] if n < len(EXTERNAL_IDS) else f"item-{n}",
            "data": {"text": f"Alice met Bob in Paris, item {n}."}, "metadata": {"n": n} if n % 2 else {},
            "overlap": 3 if n % 4 == 0 else None, "priority": n - 5, "state": "new", "annotation_count": 0,
            "import_job_id": None, "created_at": now + dt.timedelta(seconds=n), "updated_at": now,
        } for n in range(12)]
        session.execute(insert(Item), [{**r, "meta": r.pop("metadata")} for r in rows])
    with transaction(factory) as session:
        for n, row in enumerate(rows[:9]):
            item = session.get(Item, row["id"])
            for k, author in enumerate(authors[: n % 4]):
                who = accounts.principal_for(session, session.get(User, author.user_id), owner.organization_id)
                answers: dict[str, Any] = {"sentiment": "positive",
                                           "entities": [{"start": 0, "end": 5, "label": "PER"}]}
                draft = (n + k) % 5 == 0
                annotations.save_annotation(session, who, project, item, answers=answers, draft=draft, time_spent_ms=n)
                if not draft and (n + k) % 3 == 0:
                    changed = {**answers, "sentiment": "neutral"}
                    annotations.save_annotation(session, who, project, item, answers=changed, time_spent_ms=1)
                session.flush()
    with transaction(factory) as session:
        # Stored in the reverse order of their ids: the export still lists an item's annotations by id.
        ids = sorted(new_id() for _ in authors)
        session.execute(insert(Annotation), [{
            "id": annotation_id, "organization_id": owner.organization_id, "project_id": project.id,
            "item_id": rows[9]["id"], "author_id": author.user_id, "schema_version": 1, "status": "submitted",
            "answers": {"sentiment": "neutral"}, "time_spent_ms": 7, "revision_count": 0, "created_at": now,
            "updated_at": now, "submitted_at": now,
        } for annotation_id, author in reversed(list(zip(ids, authors, strict=True)))])
    with transaction(factory) as session:
        ids = session.scalars(select(Annotation.id).order_by(Annotation.id)).all()
        session.execute(update(Annotation).where(Annotation.id == ids[0]).values(
            created_at=dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC), updated_at=now.replace(microsecond=500_000)))
        session.execute(delete(Membership).where(Membership.user_id == authors[0].user_id))
    return owner.organization_id, project.id


def _expected(factory, organization_id: str, project_id: str, *, include_drafts: bool = False,
              revisions: bool = False, states: list[str] | None = None) -> list[dict[str, Any]]:
    statuses = ["submitted", "draft"] if include_drafts else ["submitted"]
    with factory() as session:
        dialect = session.get_bind().dialect.name

        def iso(value: dt.datetime | None) -> str | None:
            return _iso(value, dialect)

        emails = dict(session.execute(select(User.id, User.email)).all())
        items = session.scalars(select(Item).where(Item.project_id == project_id).order_by(Item.id)).all()
        lines = []
        for item in items:
            if states and item.state not in states:
                continue
            anns = session.scalars(select(Annotation).where(Annotation.item_id == item.id,
                                                            Annotation.status.in_(statuses)).order_by(Annotation.id)).all()
            out = []
            for a in anns:
                entry = {"id": a.id, "author_id": a.author_id, "author": emails[a.author_id],
                         "schema_version": a.schema_version, "status": a.status, "answers": a.answers,
                         "time_spent_ms": a.time_spent_ms, "created_at": iso(a.created_at),
                         "updated_at": iso(a.updated_at), "submitted_at": iso(a.submitted_at)}
                if revisions:
                    revs = session.scalars(select(AnnotationRevision).where(AnnotationRevision.annotation_id == a.id)
                                           .order_by(AnnotationRevision.number)).all()
                    entry["revisions"] = [{"number": r.number, "schema_version": r.schema_version, "status": r.status,
                                           "answers": r.answers, "time_spent_ms": r.time_spent_ms,
                                           "made_at": iso(r.made_at), "superseded_at": iso(r.superseded_at)}
                                          for r in revs]
                out.append(entry)
            lines.append({"id": item.id, "external_id": item.external_id, "data": item.data, "metadata": item.meta,
                          "overlap": item.overlap, "priority": item.priority, "state": item.state,
                          "created_at": iso(item.created_at), "annotations": out})
    assert organization_id
    return lines


def _export(factory, organization_id: str, project_id: str, **filters: Any) -> list[dict[str, Any]]:
    body = b"".join(stream_jsonl(factory, organization_id, project_id, ExportFilter(**filters)))
    assert body.endswith(b"\n")
    return [orjson.loads(line) for line in body.split(b"\n") if line]


@pytest.mark.parametrize("batch", [2, 1000])
@pytest.mark.parametrize("filters", [{}, {"include_drafts": True}, {"revisions": True},
                                     {"revisions": True, "include_drafts": True, "states": ["in_progress"]},
                                     {"states": ["new", "completed"]}])
def test_every_item_and_annotation_as_stored(factory, project, monkeypatch, batch, filters):
    monkeypatch.setattr(jsonl, "BATCH", batch)
    exported = _export(factory, *project, **filters)
    expected = _expected(factory, *project, **filters)
    assert exported == expected
    # Key order is part of the format.
    assert [list(line) for line in exported] == [list(line) for line in expected]
    annotated = [a for line in exported for a in line["annotations"]]
    assert annotated and all(("revisions" in a) == bool(filters.get("revisions")) for a in annotated)
    for line in exported:
        assert [a["id"] for a in line["annotations"]] == sorted(a["id"] for a in line["annotations"])
    if filters == {"revisions": True}:
        assert any(a["revisions"] for a in annotated)


def test_times_keep_their_precision(factory, project, engine):
    exported = [a for line in _export(factory, *project) for a in line["annotations"]]
    on_the_second = "2024-05-01T12:00:00.000000Z" if engine.dialect.name == "sqlite" else "2024-05-01T12:00:00Z"
    assert on_the_second in {a["created_at"] for a in exported}
    assert any(a["updated_at"].endswith(".500000Z") for a in exported)  # trailing zeros of the fraction kept


def test_external_ids_and_emails_are_escaped_as_json(factory, project):
    exported = _export(factory, *project)
    assert {line["external_id"] for line in exported} >= set(EXTERNAL_IDS)
    assert 'left-"é"@example.test' in {a["author"] for line in exported for a in line["annotations"]}


def test_only_annotated_and_date_filters_leave_out_items_without_matches(factory, project):
    everything = _export(factory, *project)
    annotated = _export(factory, *project, only_annotated=True)
    assert annotated == [line for line in everything if line["annotations"]]
    cut = sorted(a["updated_at"] for line in everything for a in line["annotations"])[3]
    since = dt.datetime.fromisoformat(cut.replace("Z", "+00:00"))
    later = _export(factory, *project, since=since)
    assert all(a["updated_at"] >= cut for line in later for a in line["annotations"])
    assert sum(len(line["annotations"]) for line in later) == sum(
        1 for line in everything for a in line["annotations"] if a["updated_at"] >= cut)


def test_an_abandoned_export_leaves_its_connection_clean(factory, project, engine, monkeypatch):
    monkeypatch.setattr(jsonl, "BATCH", 2)
    chunks = stream_jsonl(factory, *project, ExportFilter(revisions=True))
    next(chunks)
    chunks.close()  # the client went away
    with factory() as session:
        if engine.dialect.name == "postgresql":
            assert session.execute(text("SELECT count(*) FROM pg_cursors")).scalar() == 0
            assert session.execute(text("SHOW client_encoding")).scalar() == "UTF8"
        assert isinstance(session.execute(text("SELECT 'x'")).scalar(), str)
    with transaction(factory) as session:  # and writing works again
        session.execute(update(Item).where(Item.project_id == project[1]).values(priority=0))
