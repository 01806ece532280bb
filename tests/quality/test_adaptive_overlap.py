"""Adaptive overlap: low-confidence items get one more annotation, clear consensus closes items early."""

from __future__ import annotations

from tests.quality.test_quality_api import make_project, refresh, submit

from labelvault.accounts.models import Role


def _item(client, owner, item_id):
    return client.get(f"/api/v1/items/{item_id}", headers=owner.headers).json()


def test_low_confidence_raises_overlap_and_clear_consensus_stops_early(client, ctx, owner, member_of):
    project_id, (unsure, clear, single) = make_project(client, ctx, owner, items=3)  # default overlap 3
    assert client.patch(f"/api/v1/projects/{project_id}/quality/settings",
                        json={"adaptive_overlap": True, "max_overlap": 4},
                        headers=owner.headers).status_code == 200
    people = [member_of(owner, Role.annotator) for _ in range(4)]
    for person, answer in zip(people[:3], ["positive", "positive", "negative"], strict=True):
        submit(client, person, unsure["id"], {"sentiment": answer})
    for person in people[:2]:
        submit(client, person, clear["id"], {"sentiment": "neutral"})
    submit(client, people[0], single["id"], {"sentiment": "neutral"})
    assert _item(client, owner, unsure["id"])["state"] == "completed"
    assert _item(client, owner, clear["id"])["state"] == "in_progress"

    stats = refresh(client, ctx, owner, project_id)["stats"]
    assert stats["overlap_raised"] == 1 and stats["closed_early"] == 1
    raised = _item(client, owner, unsure["id"])
    assert (raised["state"], raised["overlap"]) == ("in_progress", 4)
    closed = _item(client, owner, clear["id"])
    assert (closed["state"], closed["overlap"]) == ("completed", 2)
    untouched = _item(client, owner, single["id"])  # one annotation is no consensus
    assert (untouched["state"], untouched["overlap"]) == ("in_progress", None)

    # The distribution rules apply to the new overlap: a fourth person is handed the raised item.
    handed = client.post(f"/api/v1/projects/{project_id}/next", headers=people[3].headers)
    assert handed.status_code == 200 and handed.json()["item"]["id"] in (unsure["id"], single["id"])
    submit(client, people[3], unsure["id"], {"sentiment": "negative"})
    assert _item(client, owner, unsure["id"])["state"] == "completed"
    # At the project's maximum the overlap is not raised again, however unsure the item stays.
    stats = refresh(client, ctx, owner, project_id)["stats"]
    assert stats["overlap_raised"] == 0
    assert _item(client, owner, unsure["id"])["overlap"] == 4


def test_adaptive_overlap_is_off_by_default(client, ctx, owner, member_of):
    project_id, (item,) = make_project(client, ctx, owner, items=1)
    people = [member_of(owner, Role.annotator) for _ in range(3)]
    for person, answer in zip(people, ["positive", "neutral", "negative"], strict=True):
        submit(client, person, item["id"], {"sentiment": answer})
    stats = refresh(client, ctx, owner, project_id)["stats"]
    assert "overlap_raised" not in stats
    assert _item(client, owner, item["id"])["overlap"] is None
