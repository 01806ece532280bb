"""A vendor's managers handle their own people and nothing else; revoking a vendor ends its access at once."""

from __future__ import annotations

from labelvault.accounts.models import Role
from labelvault.testing import api_drain


def test_a_vendor_manager_sees_and_manages_only_their_own_people(client, owner, routed, member_of):
    manager = member_of(owner, Role.manager, routed.vendor_a)
    members = client.get("/api/v1/members", headers=manager.headers).json()
    assert {m["user_id"] for m in members} == {manager.user_id, routed.a_annotator.user_id}
    assert all(m["vendor_id"] == routed.vendor_a for m in members)
    vendors = client.get("/api/v1/vendors", headers=manager.headers).json()
    assert [v["id"] for v in vendors] == [routed.vendor_a]  # no other vendor's existence
    # Invitations go to the manager's own vendor, whatever is asked for.
    invited = client.post("/api/v1/invitations", json={"email": "new@vendor.test", "role": "annotator",
                                                       "vendor_id": routed.vendor_b}, headers=manager.headers)
    assert invited.status_code == 201, invited.text
    accepted = client.post(f"/api/v1/invitations/{invited.json()['link'].rsplit('/', 1)[1]}/accept",
                           json={"password": "a long enough passphrase", "name": "New"})
    assert accepted.status_code in (200, 201), accepted.text
    assert accepted.json()["vendor_id"] == routed.vendor_a
    assert client.post("/api/v1/invitations", json={"email": "boss@vendor.test", "role": "owner"},
                       headers=manager.headers).status_code == 403
    # Someone else's people answer as unknown.
    for other in (routed.b_annotator, routed.in_house, owner):
        assert client.patch(f"/api/v1/members/{other.user_id}", json={"role": "reviewer"},
                            headers=manager.headers).status_code == 404
        assert client.delete(f"/api/v1/members/{other.user_id}", headers=manager.headers).status_code == 404
    assert client.patch(f"/api/v1/members/{routed.a_annotator.user_id}", json={"role": "reviewer"},
                        headers=manager.headers).status_code == 200
    assert client.put(f"/api/v1/members/{routed.a_annotator.user_id}/skills", json={"skills": ["german"]},
                      headers=manager.headers).status_code == 200


def test_a_vendors_people_never_manage_the_owners_things(client, owner, routed, member_of):
    manager = member_of(owner, Role.manager, routed.vendor_a)
    p = routed.project_id
    refused = [
        client.post("/api/v1/projects", json={"name": "x", "schema": {}}, headers=manager.headers),
        client.patch(f"/api/v1/projects/{p}", json={"name": "x"}, headers=manager.headers),
        client.get(f"/api/v1/projects/{p}/export", headers=manager.headers),
        client.get(f"/api/v1/projects/{p}/routing", headers=manager.headers),
        client.post("/api/v1/vendors", json={"name": "x"}, headers=manager.headers),
        client.get("/api/v1/teams", headers=manager.headers),
        client.get(f"/api/v1/exposure/vendors/{routed.vendor_a}", headers=manager.headers),
        client.get(f"/api/v1/projects/{p}/gold", headers=manager.headers),
        client.post(f"/api/v1/vendors/{routed.vendor_b}/revoke", headers=manager.headers),
    ]
    assert [r.status_code for r in refused] == [403] * len(refused)


def test_revoking_a_vendor_ends_access_returns_work_and_keeps_drafts(client, owner, routed):
    a = routed.a_annotator
    held = client.post(f"/api/v1/projects/{routed.project_id}/next", headers=a.headers).json()["item"]
    draft = client.post(f"/api/v1/items/{held['id']}/annotations", json={"answers": {"sentiment": "neg"},
                                                                         "draft": True}, headers=a.headers)
    assert draft.status_code == 201, draft.text
    unknown_token = client.get("/api/v1/me", headers={"Authorization": "Bearer lv_unknown"})
    unknown_login = client.post("/api/v1/auth/login", json={"email": "nobody@example.test", "password": "x" * 12})

    done = client.post(f"/api/v1/vendors/{routed.vendor_a}/revoke", headers=owner.headers)
    assert done.status_code == 200, done.text
    report = done.json()
    assert report["people"] == 1 and report["leases_released"] == 1 and report["items_returned"] == 2
    assert report["exposure_items"] == 1 and report["vendor"]["revoked_at"]

    # The revoked person gets exactly what an unknown one gets.
    after = client.get("/api/v1/me", headers=a.headers)
    assert (after.status_code, after.json()) == (unknown_token.status_code, unknown_token.json())
    login = client.post("/api/v1/auth/login", json={"email": a.email, "password": a.password})
    assert (login.status_code, login.json()) == (unknown_login.status_code, unknown_login.json())
    # The draft stays with the owner; the items come back to the organization's own people.
    kept = client.get(f"/api/v1/items/{held['id']}/annotations", headers=owner.headers).json()
    assert [k["status"] for k in kept] == ["draft"] and kept[0]["answers"] == {"sentiment": "neg"}
    assert sorted(api_drain(client, routed.in_house, routed.project_id)) == ["de0", "de3", "fr2", "fr5"]
    # The exposure report names what the vendor's people saw.
    csv = client.get(report["exposure_report"], headers=owner.headers)
    assert csv.status_code == 200 and held["id"] in csv.text
    again = client.post(f"/api/v1/vendors/{routed.vendor_a}/revoke", headers=owner.headers)
    assert again.status_code == 409 and again.json()["code"] == "vendor_revoked"


def test_queue_status_shows_a_vendor_only_its_own_people(client, owner, routed, member_of):
    for actor in (routed.a_annotator, routed.b_annotator, routed.in_house):
        client.post(f"/api/v1/projects/{routed.project_id}/next", headers=actor.headers)
    reviewer = member_of(owner, Role.reviewer, routed.vendor_a)
    status = client.get(f"/api/v1/projects/{routed.project_id}/status", headers=reviewer.headers)
    assert status.status_code == 200, status.text
    assert [p["user_id"] for p in status.json()["annotators"]] == [routed.a_annotator.user_id]
    assert status.json()["items"] == {}
    full = client.get(f"/api/v1/projects/{routed.project_id}/status", headers=owner.headers).json()
    assert len(full["annotators"]) == 3 and sum(full["items"].values()) == 6


def test_scorecards_per_vendor_and_a_vendor_manager_sees_only_its_own(client, ctx, owner, routed, member_of):
    api_drain(client, routed.a_annotator, routed.project_id)
    api_drain(client, routed.b_annotator, routed.project_id)
    api_drain(client, routed.in_house, routed.project_id)
    started = client.post(f"/api/v1/projects/{routed.project_id}/quality/refresh", headers=owner.headers)
    assert started.status_code in (200, 202), started.text
    ctx.runner.run_until_idle()
    cards = client.get(f"/api/v1/projects/{routed.project_id}/scorecards", headers=owner.headers)
    assert cards.status_code == 200, cards.text
    vendors = {v["vendor"]: v for v in cards.json()["vendors"]}
    assert set(vendors) == {"Acme Labeling", "Beta Data", None}
    assert vendors["Acme Labeling"]["annotations"] == 2 and vendors["Acme Labeling"]["annotators"] == 1
    assert len(cards.json()["annotators"]) == 3
    manager = member_of(owner, Role.manager, routed.vendor_a)
    own = client.get(f"/api/v1/projects/{routed.project_id}/scorecards", headers=manager.headers).json()
    assert [c["user_id"] for c in own["annotators"]] == [routed.a_annotator.user_id]
    assert [v["vendor"] for v in own["vendors"]] == ["Acme Labeling"]
    assert client.get(f"/api/v1/projects/{routed.project_id}/scorecards",
                      headers=routed.a_annotator.headers).status_code == 403


def test_the_overview_page_compares_vendors(client, ctx, owner, routed):
    api_drain(client, routed.a_annotator, routed.project_id)
    api_drain(client, routed.in_house, routed.project_id)
    client.post(f"/api/v1/projects/{routed.project_id}/quality/refresh", headers=owner.headers)
    ctx.runner.run_until_idle()
    signed = client.post("/sign-in", data={"email": owner.email, "password": owner.password, "next": "/"})
    assert signed.status_code == 200
    page = client.get(f"/projects/{routed.project_id}/overview")
    assert page.status_code == 200 and 'id="vendor-scorecards"' in page.text
    assert "Acme Labeling" in page.text and "Your own people" in page.text
