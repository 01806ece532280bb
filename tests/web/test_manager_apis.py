"""What the manager pages call beyond the existing API: the schema dry run, and people named (not by id) in
the item detail and the review queue, in a fixed number of queries."""

from __future__ import annotations

from tests.quality.test_quality_api import SCHEMA, make_project, submit
from tests.web.test_manager_pages import counting

from labelvault.accounts.models import Role, User
from labelvault.db.engine import transaction

BAD = {"fields": [{"name": "text", "kind": "text"}], "questions": [
    {"name": "q", "type": "single_choice", "options": [{"value": "a"}, {"value": "a"}]},
    {"name": "Not A Name", "type": "free_text"}]}


def _name(factory, actor, name: str) -> None:
    with transaction(factory) as session:
        user = session.get(User, actor.user_id)
        assert user is not None
        user.name = name


def test_schema_dry_run_names_each_problem_and_saves_nothing(client, ctx, owner, member_of):
    project_id, _ = make_project(client, ctx, owner, items=1)
    url = f"/api/v1/projects/{project_id}/schema/validate"
    bad = client.post(url, json=BAD, headers=owner.headers)
    assert bad.status_code == 200 and bad.json()["valid"] is False
    problems = {p["field"]: p["reason"] for p in bad.json()["problems"]}
    assert "duplicate option 'a'" in problems["questions.0.options.1.value"]
    assert "questions.1.name" in problems
    refused = client.put(f"/api/v1/projects/{project_id}/schema", json=BAD, headers=owner.headers)
    assert refused.status_code == 422  # the same checks as saving
    assert {p["field"] for p in refused.json()["details"]["problems"]} == set(problems)
    good = client.post(url, json=SCHEMA, headers=owner.headers)
    assert good.status_code == 200 and good.json() == {"valid": True, "problems": []}
    versions = client.get(f"/api/v1/projects/{project_id}/schema/versions", headers=owner.headers).json()
    assert [v["version"] for v in versions] == [1]  # the dry run saved nothing
    for role in (Role.annotator, Role.reviewer):
        assert client.post(url, json=SCHEMA, headers=member_of(owner, role).headers).status_code == 403


def test_item_detail_names_authors_and_reviewers_in_fixed_queries(client, ctx, owner, member_of, factory, engine):
    project_id, items = make_project(client, ctx, owner, items=2)
    people = [member_of(owner, Role.annotator) for _ in range(3)]
    for index, person in enumerate(people):
        _name(factory, person, f"Person <b>{index}</b>")
    submit(client, people[0], items[0]["id"], {"sentiment": "positive", "stars": 4})
    for person in people:
        submit(client, person, items[1]["id"], {"sentiment": "negative", "stars": 2})
    counts = []
    for item in items:
        with counting(engine) as statements:
            detail = client.get(f"/api/v1/items/{item['id']}/detail", headers=owner.headers)
        assert detail.status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1], counts  # one annotation or three: the same queries
    named = {a["author_id"]: a["author_name"] for a in detail.json()["annotations"]}
    assert named == {p.user_id: f"Person <b>{i}</b>" for i, p in enumerate(people)}


def test_review_queue_names_the_author_unless_blind(client, ctx, owner, member_of, factory):
    project_id, items = make_project(client, ctx, owner, items=1)
    client.patch(f"/api/v1/projects/{project_id}", json={"review_mode": "all"}, headers=owner.headers)
    author, reviewer = member_of(owner, Role.annotator), member_of(owner, Role.reviewer)
    _name(factory, author, "Ada")
    submit(client, author, items[0]["id"], {"sentiment": "positive", "stars": 4})
    task = client.post(f"/api/v1/projects/{project_id}/review/next", headers=reviewer.headers)
    assert task.status_code == 200, task.text
    assert task.json()["annotation"]["author_name"] == "Ada"
    client.patch(f"/api/v1/projects/{project_id}", json={"blind_review": True}, headers=owner.headers)
    task = client.post(f"/api/v1/projects/{project_id}/review/next", headers=reviewer.headers)
    assert task.json()["annotation"]["author_id"] is None and task.json()["annotation"]["author_name"] is None
