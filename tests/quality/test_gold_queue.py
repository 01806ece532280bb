"""Gold items in the queue: mixed in at the project's rate, met at most once per person, outside the overlap
rule, and indistinguishable from real items through the API, the page and the work the server does."""

from __future__ import annotations

from sqlalchemy import event
from tests.quality.test_quality_api import make_project, refresh, submit

from labelvault.accounts.models import Role
from labelvault.quality import service as quality_service


def _next(client, actor, project_id):
    return client.post(f"/api/v1/projects/{project_id}/next", headers=actor.headers)


def _gold(client, owner, project_id, items, rate):
    for item in items:
        assert client.put(f"/api/v1/items/{item['id']}/gold", json={"answers": {"sentiment": "negative"}},
                          headers=owner.headers).status_code == 200
    settings = client.patch(f"/api/v1/projects/{project_id}/quality/settings", json={"gold_rate": rate},
                            headers=owner.headers)
    assert settings.status_code == 200 and settings.json()["gold_rate"] == rate, settings.text


def _answer(client, actor, claimed, sentiment="negative"):
    submit(client, actor, claimed["item"]["id"], {"sentiment": sentiment})


def test_without_a_gold_rate_gold_items_never_come(client, ctx, owner, member_of):
    project_id, items = make_project(client, ctx, owner, items=4)
    _gold(client, owner, project_id, items[:2], 0.0)
    annotator = member_of(owner, Role.annotator)
    seen = []
    while (claimed := _next(client, annotator, project_id)).status_code == 200:
        seen.append(claimed.json()["item"]["id"])
        _answer(client, annotator, claimed.json())
    assert sorted(seen) == sorted(i["id"] for i in items[2:])


def test_each_person_meets_a_gold_item_at_most_once(client, ctx, owner, member_of):
    project_id, items = make_project(client, ctx, owner, items=4)
    gold_ids = {i["id"] for i in items[:2]}
    _gold(client, owner, project_id, items[:2], 1.0)
    annotator = member_of(owner, Role.annotator)
    first = _next(client, annotator, project_id).json()
    assert first["item"]["id"] in gold_ids
    # Given back without an answer: still never offered to this person again.
    assert client.delete(f"/api/v1/leases/{first['lease']['id']}", headers=annotator.headers).status_code == 204
    second = _next(client, annotator, project_id).json()
    assert second["item"]["id"] in gold_ids - {first["item"]["id"]}
    _answer(client, annotator, second)
    rest = []
    while (claimed := _next(client, annotator, project_id)).status_code == 200:
        rest.append(claimed.json()["item"]["id"])
        _answer(client, annotator, claimed.json())
    assert sorted(rest) == sorted(i["id"] for i in items[2:])  # the real items, no gold item again


def test_gold_items_sit_outside_the_overlap_rule(client, ctx, owner, member_of):
    project_id, items = make_project(client, ctx, owner, items=2)  # overlap 3
    _gold(client, owner, project_id, items[:1], 1.0)
    people = [member_of(owner, Role.annotator) for _ in range(5)]
    held = [_next(client, person, project_id).json() for person in people]
    assert {h["item"]["id"] for h in held} == {items[0]["id"]}  # five holders of a gold item, overlap 3
    for person, claimed in zip(people, held, strict=True):
        _answer(client, person, claimed, "negative" if person is not people[0] else "positive")
    # What its holders see stays within what a real item of overlap 3 shows (see the test below).
    item = client.get(f"/api/v1/items/{items[0]['id']}", headers=people[0].headers).json()
    assert item["annotation_count"] <= 3
    # The real item still follows its overlap of three.
    real = [_next(client, person, project_id).json()["item"]["id"] for person in people[:3]]
    assert real == [items[1]["id"]] * 3
    assert _next(client, people[3], project_id).status_code == 204
    # Gold answers that came through the queue are scored by the refresh like any gold answer.
    report = refresh(client, ctx, owner, project_id)
    assert report["state"] == "succeeded"
    scored = client.get(f"/api/v1/projects/{project_id}/quality/report", headers=owner.headers).json()
    assert str(scored).count("gold") > 0


def test_a_gold_item_looks_like_a_real_one(client, ctx, owner, member_of, engine, monkeypatch):
    project_id, items = make_project(client, ctx, owner, items=4)
    _gold(client, owner, project_id, items[:1], 1.0)
    one, other = member_of(owner, Role.annotator), member_of(owner, Role.annotator)
    statements: list[str] = []

    def count(_conn, _cursor, statement, _parameters, _context, _many):
        statements.append(" ".join(statement.split()[:4]).upper())

    event.listen(engine, "before_cursor_execute", count)
    try:
        gold = _next(client, one, project_id)
        gold_statements, statements[:] = list(statements), []
        # The other person's draw asks for a real item this time (the rate is a draw per claim).
        monkeypatch.setattr(quality_service, "wants_gold", lambda _rate: False)
        real = _next(client, other, project_id)
        real_statements = list(statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert gold.json()["item"]["id"] == items[0]["id"] and real.json()["item"]["id"] != items[0]["id"]
    # The same keys and the same kind of values: nothing in the answer marks the gold item.
    assert gold.json().keys() == real.json().keys()
    assert gold.json()["item"].keys() == real.json()["item"].keys()
    assert gold.json()["lease"].keys() == real.json()["lease"].keys()
    for key in ("state", "annotation_count", "overlap", "priority", "metadata"):
        assert gold.json()["item"][key] == real.json()["item"][key], key
    assert "gold" not in gold.text.lower()
    # The same work on the server, statement for statement (no separate path whose latency could tell).
    assert gold_statements == real_statements
    page = client.get(f"/projects/{project_id}/label", headers=one.headers)
    assert page.status_code == 200 and "gold" not in page.text.lower()


def test_wrong_gold_answers_through_the_queue_suspend(client, ctx, owner, member_of):
    project_id, items = make_project(client, ctx, owner, items=4)
    _gold(client, owner, project_id, items[:2], 1.0)
    client.patch(f"/api/v1/projects/{project_id}/quality/settings",
                 json={"auto_suspend": True, "gold_min_items": 2, "gold_window": 5}, headers=owner.headers)
    careless = member_of(owner, Role.annotator)
    for _ in range(2):
        _answer(client, careless, _next(client, careless, project_id).json(), "positive")
    assert refresh(client, ctx, owner, project_id)["stats"]["suspended"] == 1
    assert _next(client, careless, project_id).status_code == 403


def _views(client, people, project_id):
    """What each person sees of the item they are handed: when claimed, and once they have submitted it."""
    seen = []
    for person in people:
        claimed = _next(client, person, project_id).json()
        _answer(client, person, claimed)
        after = client.get(f"/api/v1/items/{claimed['item']['id']}", headers=person.headers).json()
        seen.append(((claimed["item"]["state"], claimed["item"]["annotation_count"]),
                     (after["state"], after["annotation_count"])))
    return seen


def test_a_gold_items_count_and_state_move_like_a_real_ones(client, ctx, owner, member_of):
    """Earlier a gold item's count stayed at 0 (and it never completed) however many answered it: a person who
    submitted one and looked again could tell. Now one person after another sees the same as on a real item."""
    people = [member_of(owner, Role.annotator) for _ in range(7)]
    real_project, _ = make_project(client, ctx, owner, items=3)  # overlap 3
    gold_project, gold_items = make_project(client, ctx, owner, items=3)
    _gold(client, owner, gold_project, gold_items[:1], 1.0)
    real = _views(client, people, real_project)
    gold = _views(client, people, gold_project)
    assert gold == real
    assert real[2][1] == ("completed", 3) and real[3][0] == ("in_progress", 0)
    # The gold item's answers are all there for the quality domain: seven of them, scored by the refresh.
    job = refresh(client, ctx, owner, gold_project)
    assert job["stats"]["gold_scores"] == 7


def test_submitting_a_gold_item_does_the_same_work_as_a_real_one(client, ctx, owner, member_of, engine, monkeypatch):
    project_id, items = make_project(client, ctx, owner, items=4)
    _gold(client, owner, project_id, items[:1], 1.0)
    one, other = member_of(owner, Role.annotator), member_of(owner, Role.annotator)
    gold = _next(client, one, project_id).json()
    monkeypatch.setattr(quality_service, "wants_gold", lambda _rate: False)
    real = _next(client, other, project_id).json()
    assert gold["item"]["id"] == items[0]["id"] and real["item"]["id"] != items[0]["id"]
    statements: list[str] = []

    def count(_conn, _cursor, statement, _parameters, _context, _many):
        statements.append(" ".join(statement.split()[:4]).upper())

    # The project's data key is read once per process and then cached: a first seal would read it, so one
    # annotation is written before counting (neither submission below then reads it).
    warm = client.post(f"/api/v1/items/{items[-1]['id']}/annotations", json={"answers": {}, "draft": True},
                       headers=member_of(owner, Role.annotator).headers)
    assert warm.status_code == 201, warm.text
    event.listen(engine, "before_cursor_execute", count)
    try:
        # A refresh is pending already (the settings change queued it), so neither submission queues one.
        _answer(client, one, gold)
        gold_statements, statements[:] = list(statements), []
        _answer(client, other, real)
        real_statements = list(statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert gold_statements == real_statements
