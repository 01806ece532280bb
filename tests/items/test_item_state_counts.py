"""Items per state come from trigger-kept counters; they always equal a real count."""

from __future__ import annotations

import orjson
from sqlalchemy import func, select

from labelvault.accounts.models import Role
from labelvault.db.engine import transaction
from labelvault.items.models import Item
from labelvault.testing import TEXT_SCHEMA


def _actual(factory, project_id):
    with transaction(factory, write=False) as session:
        rows = session.execute(select(Item.state, func.count()).where(Item.project_id == project_id)
                               .group_by(Item.state)).all()
    return {state: n for state, n in rows}


def _reported(client, owner, project_id):
    counts = client.get(f"/api/v1/projects/{project_id}", headers=owner.headers).json()["item_counts"]
    return {state: n for state, n in counts.items() if n}


def test_counts_follow_imports_claims_submits_reviews_and_deletes(client, ctx, owner, member_of, factory):
    project = client.post("/api/v1/projects", json={"name": "C", "schema": TEXT_SCHEMA, "review_mode": "all"},
                          headers=owner.headers).json()
    pid = project["id"]
    body = b"".join(orjson.dumps({"external_id": f"e{i}", "data": {"text": "x"}}) + b"\n" for i in range(40))
    client.post(f"/api/v1/projects/{pid}/imports", params={"filename": "a.jsonl"}, content=body,
                headers=owner.headers)
    ctx.runner.run_until_idle()
    assert _reported(client, owner, pid) == _actual(factory, pid) == {"new": 40}

    annotators = [member_of(owner, Role.annotator) for _ in range(3)]
    reviewer = member_of(owner, Role.reviewer)
    submitted = []
    for person in annotators:
        lease = client.post(f"/api/v1/projects/{pid}/next", headers=person.headers).json()
        answer = client.post(f"/api/v1/items/{lease['item']['id']}/annotations",
                             json={"answers": {"sentiment": "neutral"}}, headers=person.headers).json()
        submitted.append(answer)
    client.post(f"/api/v1/projects/{pid}/next", headers=annotators[0].headers)
    task = client.post(f"/api/v1/projects/{pid}/review/next", headers=reviewer.headers).json()
    client.post(f"/api/v1/annotations/{task['annotation']['id']}/review", json={"decision": "accept"},
                headers=reviewer.headers)
    second = client.post(f"/api/v1/projects/{pid}/review/next", headers=reviewer.headers).json()
    client.post(f"/api/v1/annotations/{second['annotation']['id']}/review",
                json={"decision": "reject", "comment": "no"}, headers=reviewer.headers)
    client.delete(f"/api/v1/items/{submitted[2]['item_id']}", params={"confirm": "true"}, headers=owner.headers)

    expected = {"new": 36, "in_progress": 1, "accepted": 1, "rejected": 1}
    assert _actual(factory, pid) == expected
    assert _reported(client, owner, pid) == expected
