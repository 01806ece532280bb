"""Automatic suspension: low rolling gold accuracy stops the items until a manager reinstates the person."""

from __future__ import annotations

from tests.quality.test_quality_api import make_project, refresh, submit

from labelvault.accounts.models import Role


def _next(client, actor, project_id):
    return client.post(f"/api/v1/projects/{project_id}/next", headers=actor.headers)


def test_low_gold_accuracy_suspends_until_reinstated(client, ctx, owner, member_of):
    project_id, items = make_project(client, ctx, owner, items=5)
    gold = items[:3]
    for item in gold:
        assert client.put(f"/api/v1/items/{item['id']}/gold", json={"answers": {"sentiment": "negative"}},
                          headers=owner.headers).status_code == 200
    assert client.patch(f"/api/v1/projects/{project_id}/quality/settings",
                        json={"auto_suspend": True, "gold_min_items": 2, "gold_window": 5},
                        headers=owner.headers).status_code == 200
    careless, careful = member_of(owner, Role.annotator), member_of(owner, Role.annotator)
    for item in gold[:2]:
        submit(client, careless, item["id"], {"sentiment": "positive"})
        submit(client, careful, item["id"], {"sentiment": "negative"})
    assert refresh(client, ctx, owner, project_id)["stats"]["suspended"] == 1

    refused = _next(client, careless, project_id)
    assert refused.status_code == 403 and refused.json()["code"] == "suspended"
    assert _next(client, careful, project_id).status_code == 200
    listed = client.get(f"/api/v1/projects/{project_id}/quality/suspensions", headers=owner.headers).json()
    assert [(s["user_id"], s["gold_accuracy"], s["gold_items"], s["reinstated_at"]) for s in listed] \
        == [(careless.user_id, 0.0, 2, None)]
    # Suspended once: a second refresh records no second event.
    assert refresh(client, ctx, owner, project_id)["stats"]["suspended"] == 0

    url = f"/api/v1/projects/{project_id}/quality/suspensions/{listed[0]['id']}/reinstate"
    assert client.post(url, headers=careless.headers).status_code == 403
    reinstated = client.post(url, headers=owner.headers)
    assert reinstated.status_code == 200 and reinstated.json()["reinstated_by_id"] == owner.user_id
    assert client.post(url, headers=owner.headers).status_code == 409
    assert _next(client, careless, project_id).status_code == 200
    # Only gold answers after the reinstatement count: the old ones do not suspend again.
    assert refresh(client, ctx, owner, project_id)["stats"]["suspended"] == 0
    submit(client, careless, gold[2]["id"], {"sentiment": "positive"})
    assert refresh(client, ctx, owner, project_id)["stats"]["suspended"] == 0  # one answer is below the minimum


def test_without_auto_suspend_nobody_is_suspended(client, ctx, owner, member_of):
    project_id, items = make_project(client, ctx, owner, items=3)
    careless = member_of(owner, Role.annotator)
    for item in items:
        client.put(f"/api/v1/items/{item['id']}/gold", json={"answers": {"sentiment": "negative"}},
                   headers=owner.headers)
        submit(client, careless, item["id"], {"sentiment": "positive"})
    assert "suspended" not in refresh(client, ctx, owner, project_id)["stats"]
    assert client.get(f"/api/v1/projects/{project_id}/quality/suspensions", headers=owner.headers).json() == []


def test_direct_submit_without_lease_is_refused_to_suspended_and_unqualified(client, ctx, owner, member_of):
    project_id, items = make_project(client, ctx, owner, items=4)
    for item in items[:2]:
        client.put(f"/api/v1/items/{item['id']}/gold", json={"answers": {"sentiment": "negative"}},
                   headers=owner.headers)
    client.patch(f"/api/v1/projects/{project_id}/quality/settings",
                 json={"auto_suspend": True, "gold_min_items": 2, "gold_window": 5}, headers=owner.headers)
    careless = member_of(owner, Role.annotator)
    for item in items[:2]:
        submit(client, careless, item["id"], {"sentiment": "positive"})
    refresh(client, ctx, owner, project_id)
    refused = client.post(f"/api/v1/items/{items[2]['id']}/annotations",
                          json={"answers": {"sentiment": "neutral"}}, headers=careless.headers)
    assert refused.status_code == 403 and refused.json()["code"] == "suspended"

    newcomer = member_of(owner, Role.annotator)
    client.patch(f"/api/v1/projects/{project_id}/quality/settings", json={"qualification_required": True},
                 headers=owner.headers)
    refused = client.post(f"/api/v1/items/{items[3]['id']}/annotations",
                          json={"answers": {"sentiment": "neutral"}}, headers=newcomer.headers)
    assert refused.status_code == 403 and refused.json()["code"] == "qualification_required"
    # A draft takes no slot: it is kept.
    draft = client.post(f"/api/v1/items/{items[3]['id']}/annotations",
                        json={"answers": {"sentiment": "neutral"}, "draft": True}, headers=newcomer.headers)
    assert draft.status_code == 201, draft.text
