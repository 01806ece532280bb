"""The next-item claim reads one step along a queue index in either order: its cost does not grow with the
number of items (no scan and sort of the project's items per claim)."""

from __future__ import annotations

import pytest
from sqlalchemy import event, insert, select, text

from labelvault.assignments import repository as repo
from labelvault.db.engine import transaction
from labelvault.items.models import Item, random_rank
from labelvault.kit.clock import utcnow
from labelvault.kit.ids import new_id
from labelvault.quality.models import GoldAnswer
from labelvault.testing import TEXT_SCHEMA

ITEMS = 3000


def _plan(engine, factory, organization_id, project_id, user_id, order):
    return _plan_of(engine, factory, lambda session: repo.claim_item(session, organization_id, project_id, user_id,
                                                                     1, order))


def _plan_of(engine, factory, claim):
    captured = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        if statement.lstrip().upper().startswith("UPDATE ITEMS"):
            captured.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        with factory() as session:
            claim(session)
            statement, parameters = captured[-1]
            explain = "EXPLAIN " if engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
            rows = session.connection().exec_driver_sql(explain + statement, parameters).all()
            session.rollback()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    return "\n".join(" ".join(str(value) for value in row) for row in rows)


@pytest.mark.parametrize("order,index", [("import", "ix_items_queue"), ("random", "ix_items_queue_random")])
def test_a_claim_reads_the_queue_index(client, owner, engine, factory, order, index):
    _a_claim_reads_the_queue_index(client, owner, engine, factory, order, index, gold=0)


@pytest.mark.parametrize("order,index", [("import", "ix_items_queue"), ("random", "ix_items_queue_random")])
def test_gold_items_leave_the_claim_on_the_queue_index(client, owner, engine, factory, order, index):
    _a_claim_reads_the_queue_index(client, owner, engine, factory, order, index, gold=300)


def _a_claim_reads_the_queue_index(client, owner, engine, factory, order, index, gold):
    project = client.post("/api/v1/projects", json={"name": "P", "schema": TEXT_SCHEMA, "queue_order": order},
                          headers=owner.headers).json()
    with transaction(factory) as session:
        # A project under way: half of its items are done (only then do the queue indexes differ from the item
        # browser's, for the planner).
        _insert_items(session, owner, project["id"], priority=lambda n: n % 3,
                      state=lambda n: "completed" if n % 2 else "new")
        _make_gold(session, owner, project["id"], gold)
        if engine.dialect.name == "postgresql":
            session.execute(text("ANALYZE items"))
    plan = _plan(engine, factory, owner.organization_id, project["id"], owner.user_id, order)
    assert f"{index} " in plan + " ", plan
    assert "TEMP B-TREE" not in plan.upper() and "Sort" not in plan, plan  # no sort of the candidates


def _insert_items(session, owner, project_id, *, priority, state):
    """ITEMS items of the project, the n-th with `priority(n)` and `state(n)`."""
    now = utcnow()
    session.execute(insert(Item), [{
        "id": new_id(), "organization_id": owner.organization_id, "project_id": project_id,
        "external_id": f"e{n}", "data": {"text": "t"}, "meta": {}, "priority": priority(n), "state": state(n),
        "annotation_count": 0, "queue_rank": random_rank(), "created_at": now, "updated_at": now,
    } for n in range(ITEMS)])


def _make_gold(session, owner, project_id, n):
    if not n:
        return
    item_ids = session.scalars(select(Item.id).where(Item.project_id == project_id).order_by(Item.id).limit(n)).all()
    session.execute(insert(GoldAnswer), [{
        "id": new_id(), "organization_id": owner.organization_id, "project_id": project_id, "item_id": item_id,
        "answers": {}, "created_by_id": owner.user_id, "created_at": utcnow(), "updated_at": utcnow(),
    } for item_id in item_ids])
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE gold_answers"))


def test_a_gold_claim_reads_the_gold_index(client, owner, engine, factory):
    project = client.post("/api/v1/projects", json={"name": "P", "schema": TEXT_SCHEMA},
                          headers=owner.headers).json()
    with transaction(factory) as session:
        _insert_items(session, owner, project["id"], priority=lambda n: 0, state=lambda n: "new")
        _make_gold(session, owner, project["id"], 300)
        if engine.dialect.name == "postgresql":
            session.execute(text("ANALYZE items"))
    plan = _plan_of(engine, factory, lambda session: repo.claim_gold(session, owner.organization_id, project["id"],
                                                                     owner.user_id))
    assert "gold_answers" in plan, plan
    assert "TEMP B-TREE" not in plan.upper() and "Sort" not in plan, plan
    assert "SCAN items" not in plan and "Seq Scan on items" not in plan, plan


@pytest.mark.parametrize("order,index", [("import", "ix_items_queue"), ("random", "ix_items_queue_random")])
def test_postgresql_plans_the_claim_once_per_connection(client, owner, engine, factory, order, index):
    """The claim is prepared on each connection (`db.direct`); PostgreSQL then keeps one generic plan for it when
    that plan is priced no higher than the custom ones. Planning the claim anew took 0.5 to 1.3 ms per call
    under load (a fifth of the database's CPU per annotation), which a bound LIMIT caused."""
    if engine.dialect.name != "postgresql":
        pytest.skip("prepared statements' plans are PostgreSQL's")
    project = client.post("/api/v1/projects", json={"name": "P", "schema": TEXT_SCHEMA, "queue_order": order},
                          headers=owner.headers).json()
    with transaction(factory) as session:
        _insert_items(session, owner, project["id"], priority=lambda n: n % 3, state=lambda n: "new")
        session.execute(text("ANALYZE items"))
    with factory() as session:
        before = _claim_plans(session)
        for _ in range(20):
            assert repo.claim_item(session, owner.organization_id, project["id"], owner.user_id, 1, order) is not None
        after = _claim_plans(session)
        # the claim in this order, prepared once on this connection (which may hold the other order's too)
        (name,) = [name for name, counts in after.items() if before.get(name) != counts]
        plan = "\n".join(row[0] for row in session.execute(text(
            f"EXPLAIN EXECUTE {name}(" + ", ".join(["NULL"] * _parameter_count(session, name)) + ")")))
        session.rollback()
    generic = after[name][0] - before.get(name, (0, 0))[0]
    custom = after[name][1] - before.get(name, (0, 0))[1]
    assert custom <= 5 and generic >= 15, (custom, generic)  # priced 5 times, then one plan reused
    assert f"{index} " in plan + " ", plan


def _claim_plans(session) -> dict[str, tuple[int, int]]:
    """(generic, custom) plans so far of the claim statements prepared on this session's connection."""
    rows = session.execute(text(
        "SELECT name, generic_plans, custom_plans FROM pg_prepared_statements "
        "WHERE statement LIKE 'UPDATE items%' AND statement LIKE '%SKIP LOCKED%'")).all()
    return {name: (generic, custom) for name, generic, custom in rows}


def _parameter_count(session, name: str) -> int:
    return int(session.execute(text(
        "SELECT cardinality(parameter_types) FROM pg_prepared_statements WHERE name = :name"), {"name": name}
    ).scalar_one())
