"""Routing rules decide which team or vendor receives which items; a vendor sees only what is routed to it."""

from __future__ import annotations

from labelvault.accounts.models import Role
from labelvault.testing import (
    VENDOR_SCHEMA,
    api_drain,
    api_item_ids,
    api_project,
    api_route,
    api_vendor,
    vendor_items,
)


def test_each_vendor_receives_only_its_items_and_the_rest_stays_in_house(client, routed):
    assert sorted(api_drain(client, routed.a_annotator, routed.project_id)) == ["de0", "de3"]
    assert sorted(api_drain(client, routed.b_annotator, routed.project_id)) == ["en1", "en4"]
    # Items that match no rule stay with the organization's own people.
    assert sorted(api_drain(client, routed.in_house, routed.project_id)) == ["fr2", "fr5"]


def test_a_vendor_sees_nothing_outside_its_routes(client, ctx, owner, routed):
    other = api_project(client, owner, VENDOR_SCHEMA, vendor_items(), ctx.runner, name="Not routed")
    a = routed.a_annotator
    listed = client.get("/api/v1/projects", headers=a.headers).json()["items"]
    assert [p["id"] for p in listed] == [routed.project_id]
    for path in (f"/api/v1/projects/{other}", f"/api/v1/projects/{other}/items"):
        answer = client.get(path, headers=a.headers)
        assert answer.status_code == 404 and answer.json()["code"] == "not_found", path
    assert client.post(f"/api/v1/projects/{other}/next", headers=a.headers).status_code == 404
    assert sorted(api_item_ids(client, a, routed.project_id)) == ["de0", "de3"]
    for external_id in ("en1", "fr2"):
        foreign = client.get(f"/api/v1/items/{routed.ids[external_id]}", headers=a.headers)
        missing = client.get("/api/v1/items/01a00000-0000-7000-8000-000000000000", headers=a.headers)
        assert foreign.status_code == missing.status_code == 404
        assert foreign.json()["message"] == missing.json()["message"]
        assert client.get(f"/api/v1/items/{routed.ids[external_id]}/annotations",
                          headers=a.headers).status_code == 404
    # A vendor's people do not search content or metadata (that would reveal hidden fields).
    assert client.get(f"/api/v1/projects/{routed.project_id}/items", params={"q": "internal"},
                      headers=a.headers).status_code == 403


def test_teams_and_skills_narrow_who_receives_an_item(client, owner, routed, member_of):
    team = client.post("/api/v1/teams", json={"name": "Linguists"}, headers=owner.headers).json()
    expert = member_of(owner, Role.annotator)
    assert client.put(f"/api/v1/teams/{team['id']}/members/{expert.user_id}", headers=owner.headers).status_code == 204
    api_route(client, owner, routed.project_id, [
        {"workforce_id": routed.vendor_a, "match": {"metadata": {"lang": "de"}}},
        {"workforce_id": team["id"], "match": {"metadata": {"lang": "fr"}}, "skill": "french"},
        {"workforce_id": None, "match": {"metadata": {"lang": "en"}}, "skill": "english"},
    ])
    # Without the skill, neither the team's nor the skilled in-house items come.
    assert api_drain(client, expert, routed.project_id) == []
    assert api_drain(client, routed.in_house, routed.project_id) == []
    for person, skills in ((expert, ["french"]), (routed.in_house, ["english"])):
        answer = client.put(f"/api/v1/members/{person.user_id}/skills", json={"skills": skills}, headers=owner.headers)
        assert answer.status_code == 200, answer.text
    assert sorted(api_drain(client, expert, routed.project_id)) == ["en1", "en4", "fr2", "fr5"][2:]
    assert sorted(api_drain(client, routed.in_house, routed.project_id)) == ["en1", "en4"]
    # A vendor's person cannot join a team.
    refused = client.put(f"/api/v1/teams/{team['id']}/members/{routed.a_annotator.user_id}", headers=owner.headers)
    assert refused.status_code == 422


def test_rerouting_moves_pending_items_from_one_vendor_to_another(client, owner, routed):
    first = client.post(f"/api/v1/projects/{routed.project_id}/next", headers=routed.a_annotator.headers).json()
    moved = client.post(f"/api/v1/projects/{routed.project_id}/reroute",
                        json={"from": routed.vendor_a, "to": routed.vendor_b}, headers=owner.headers)
    assert moved.status_code == 200 and moved.json() == {"items_moved": 1}  # the held item stays
    assert sorted(api_drain(client, routed.b_annotator, routed.project_id)) == sorted(
        ["en1", "en4", {"de0": "de3", "de3": "de0"}[first["item"]["external_id"]]])


def test_bad_rules_are_refused_with_where(client, owner, routed):
    cases = [
        ({"workforce_id": "nope", "match": {}}, "rules[0].workforce_id"),
        ({"workforce_id": None, "match": {"colour": "red"}}, "rules[0].match"),
        ({"workforce_id": None, "match": {"tags": "x"}}, "rules[0].match.tags"),
        ({"workforce_id": None, "match": {}, "skill": "a/b"}, "rules[0].skill"),
    ]
    for rule, where in cases:
        answer = client.put(f"/api/v1/projects/{routed.project_id}/routing", json={"rules": [rule]},
                            headers=owner.headers)
        assert answer.status_code == 422 and answer.json()["details"]["field"] == where, answer.text
    # Nothing changed: vendor A still receives its items.
    assert sorted(api_drain(client, routed.a_annotator, routed.project_id)) == ["de0", "de3"]


def test_tags_and_split_route_too(client, ctx, owner, member_of):
    rows = [{"external_id": "t", "metadata": {"tags": ["medical", "x"]}, "data": {"text": "a"}},
            {"external_id": "s", "metadata": {"split": "test"}, "data": {"text": "b"}},
            {"external_id": "n", "metadata": {}, "data": {"text": "c"}}]
    project_id = api_project(client, owner, VENDOR_SCHEMA, rows, ctx.runner)
    v = api_vendor(client, owner, "Tagged")
    api_route(client, owner, project_id, [{"workforce_id": v, "match": {"tags": ["medical"]}},
                                      {"workforce_id": v, "match": {"split": "test"}}])
    assert sorted(api_drain(client, member_of(owner, Role.annotator, v), project_id)) == ["s", "t"]


def test_a_teams_items_are_not_shown_to_annotators_outside_it(client, owner, routed, member_of):
    team = client.post("/api/v1/teams", json={"name": "Inner circle"}, headers=owner.headers).json()
    insider, outsider = member_of(owner, Role.annotator), member_of(owner, Role.annotator)
    client.put(f"/api/v1/teams/{team['id']}/members/{insider.user_id}", headers=owner.headers)
    api_route(client, owner, routed.project_id, [{"workforce_id": team["id"], "match": {"metadata": {"lang": "fr"}}}])
    french = routed.ids["fr2"]
    assert client.get(f"/api/v1/items/{french}", headers=outsider.headers).status_code == 404
    assert client.get(f"/api/v1/items/{french}", headers=insider.headers).status_code == 200
    reviewer = member_of(owner, Role.reviewer)
    assert client.get(f"/api/v1/items/{french}", headers=reviewer.headers).status_code == 200
    assert sorted(api_item_ids(client, outsider, routed.project_id)) == ["de0", "de3", "en1", "en4"]
    assert sorted(api_item_ids(client, insider, routed.project_id)) == ["de0", "de3", "en1", "en4", "fr2", "fr5"]


def test_gold_items_are_routed_like_any_item(client, owner, routed):
    settings = client.patch(f"/api/v1/projects/{routed.project_id}/quality/settings", json={"gold_rate": 1.0},
                            headers=owner.headers)
    assert settings.status_code == 200, settings.text
    for external_id in ("en1", "fr2"):
        made = client.put(f"/api/v1/items/{routed.ids[external_id]}/gold", json={"answers": {"sentiment": "pos"}},
                          headers=owner.headers)
        assert made.status_code in (200, 201), made.text
    # With every claim asking for gold first, vendor A still gets only its own (real) items.
    assert sorted(api_drain(client, routed.a_annotator, routed.project_id)) == ["de0", "de3"]
    got_b = api_drain(client, routed.b_annotator, routed.project_id)
    assert got_b[0] == "en1" and sorted(got_b) == ["en1", "en4"]
