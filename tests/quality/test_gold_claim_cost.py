"""The claim of a gold item costs the same with 10 gold items as with 10,000, however many of them the person
has met already: it reads one step along the gold index from their place in the walk.

Measured as work done by the database, not time: SQLite's virtual machine instructions (a progress handler
called on each one), PostgreSQL's rows read by every plan node (EXPLAIN ANALYZE of the claim statement)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import event, insert, text

from labelvault.annotations.models import Annotation
from labelvault.assignments import repository as repo
from labelvault.db.engine import transaction
from labelvault.items.models import Item, random_rank
from labelvault.kit.clock import utcnow
from labelvault.kit.ids import new_id
from labelvault.quality.gold_walk import move_gold_cursor
from labelvault.quality.models import GoldAnswer, GoldExposure
from labelvault.testing import TEXT_SCHEMA


def _project_with_gold(client, owner, factory, engine, gold: int) -> tuple[str, list[str]]:
    """A project of `gold` gold items (and as many real ones), all but the last gold item met by the owner:
    the first half answered, the rest held and given back. Then a second project, whose gold items come
    after the first's in id order."""
    projects = [client.post("/api/v1/projects", json={"name": f"G{gold}-{n}", "schema": TEXT_SCHEMA},
                            headers=owner.headers).json()["id"] for n in range(2)]
    now = utcnow()
    gold_of: dict[str, list[str]] = {}
    with transaction(factory) as session:
        for project_id in projects:
            item_ids = [new_id() for _ in range(2 * gold)]
            gold_of[project_id] = item_ids[:gold]
            session.execute(insert(Item), [{
                "id": item_id, "organization_id": owner.organization_id, "project_id": project_id,
                "external_id": f"e{n}", "data": {"text": "t"}, "meta": {}, "priority": 0, "state": "new",
                "annotation_count": 0, "queue_rank": random_rank(), "created_at": now, "updated_at": now,
            } for n, item_id in enumerate(item_ids)])
            session.execute(insert(GoldAnswer), [{
                "id": new_id(), "organization_id": owner.organization_id, "project_id": project_id,
                "item_id": item_id, "answers": {}, "created_by_id": owner.user_id, "created_at": now,
                "updated_at": now} for item_id in gold_of[project_id]])
        met = gold_of[projects[0]][:-1]
        answered, given_back = met[:len(met) // 2], met[len(met) // 2:]
        session.execute(insert(Annotation), [{
            "id": new_id(), "organization_id": owner.organization_id, "project_id": projects[0], "item_id": item_id,
            "author_id": owner.user_id, "schema_version": 1, "answers": {}, "status": "submitted",
            "time_spent_ms": 0, "revision_count": 0, "created_at": now, "updated_at": now, "submitted_at": now,
        } for item_id in answered])
        session.execute(insert(GoldExposure), [{
            "item_id": item_id, "user_id": owner.user_id, "organization_id": owner.organization_id,
            "created_at": now} for item_id in given_back])
        move_gold_cursor(session, owner.organization_id, met[-1], owner.user_id)
        if engine.dialect.name == "postgresql":
            for table in ("items", "gold_answers", "gold_exposures", "annotations"):
                session.execute(text(f"ANALYZE {table}"))
    return projects[0], gold_of[projects[0]]


def _sqlite_steps(factory, claim) -> tuple[int, str | None]:
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    with factory() as session:
        raw = session.connection().connection.dbapi_connection
        raw.set_progress_handler(count, 1)
        try:
            item = claim(session)
        finally:
            raw.set_progress_handler(None, 1)
        claimed = item.id if item is not None else None
        session.rollback()
    return steps[0], claimed


def _postgresql_rows(engine, factory, claim) -> tuple[int, str | None]:
    captured = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        if statement.lstrip().upper().startswith("UPDATE ITEMS"):
            captured.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        with factory() as session:
            item = claim(session)
            claimed = item.id if item is not None else None
            session.rollback()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    statement, parameters = captured[-1]
    with factory() as session:
        plan = session.connection().exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement,
                                                    parameters).scalar()
        session.rollback()
    plan = json.loads(plan) if isinstance(plan, str) else plan

    def rows(node) -> int:
        own = int(node.get("Actual Rows", 0)) * int(node.get("Actual Loops", 1))
        return own + sum(rows(child) for child in node.get("Plans", []))

    return rows(plan[0]["Plan"]), claimed


@pytest.mark.slow
def test_a_gold_claim_does_not_grow_with_gold_items_met(client, owner, engine, factory):
    work = {}
    for gold in (10, 10_000):
        project_id, gold_items = _project_with_gold(client, owner, factory, engine, gold)

        def claim(session, project_id=project_id):
            return repo.claim_gold(session, owner.organization_id, project_id, owner.user_id)

        if engine.dialect.name == "sqlite":
            work[gold], claimed = _sqlite_steps(factory, claim)
        else:
            work[gold], claimed = _postgresql_rows(engine, factory, claim)
        assert claimed == gold_items[-1]  # the one gold item not met yet
    # The same work give or take a few B-tree levels; a walk over the met ones would read about 10,000 rows
    # (or take about a hundred thousand instructions) more.
    assert work[10_000] <= work[10] * 1.5 + 20, work

