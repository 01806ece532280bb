"""A vendor's internal review: its own reviewers check its people's work before the owner's reviewers do."""

from __future__ import annotations

from labelvault.accounts.models import Role


def _submit(client, actor, project_id) -> dict:
    task = client.post(f"/api/v1/projects/{project_id}/next", headers=actor.headers)
    assert task.status_code == 200, task.text
    item = task.json()["item"]
    saved = client.post(f"/api/v1/items/{item['id']}/annotations", json={"answers": {"sentiment": "pos"}},
                        headers=actor.headers)
    assert saved.status_code == 201, saved.text
    return saved.json()


def _next_review(client, reviewer, project_id):
    return client.post(f"/api/v1/projects/{project_id}/review/next", headers=reviewer.headers)


def _decide(client, reviewer, annotation_id, decision, comment=""):
    body = {"decision": decision, **({"comment": comment} if comment else {})}
    return client.post(f"/api/v1/annotations/{annotation_id}/review", json=body, headers=reviewer.headers)


def _internal_review(client, actor, vendor_id, percent):
    return client.patch(f"/api/v1/vendors/{vendor_id}", json={"review_percent": percent}, headers=actor.headers)


def test_vendor_work_passes_the_vendors_review_before_the_owners(client, owner, routed, member_of):
    client.patch(f"/api/v1/projects/{routed.project_id}", json={"review_mode": "all"}, headers=owner.headers)
    assert _internal_review(client, owner, routed.vendor_a, 100).json()["review_percent"] == 100
    a_work = _submit(client, routed.a_annotator, routed.project_id)
    b_work = _submit(client, routed.b_annotator, routed.project_id)
    assert a_work["review_status"] == "vendor_review" and b_work["review_status"] == "pending"
    in_house = member_of(owner, Role.reviewer)
    a_reviewer = member_of(owner, Role.reviewer, routed.vendor_a)

    # The owner's reviewers get only work that passed its vendor's review (vendor B has none).
    first = _next_review(client, in_house, routed.project_id)
    assert first.json()["annotation"]["id"] == b_work["id"]
    assert _decide(client, in_house, b_work["id"], "accept").status_code == 201
    assert _next_review(client, in_house, routed.project_id).status_code == 204
    early = _decide(client, in_house, a_work["id"], "accept")
    assert early.status_code == 409 and early.json()["code"] == "vendor_review_first"
    item_state = client.get(f"/api/v1/items/{a_work['item_id']}", headers=owner.headers).json()["state"]
    assert item_state == "in_review"

    # Vendor A's reviewer checks it; it then goes on to the owner's review.
    task = _next_review(client, a_reviewer, routed.project_id)
    assert task.status_code == 200, task.text
    assert task.json()["annotation"]["id"] == a_work["id"] and task.json()["item"]["metadata"] == {"lang": "de"}
    assert _decide(client, a_reviewer, a_work["id"], "accept").status_code == 201
    assert _next_review(client, a_reviewer, routed.project_id).status_code == 204
    again = _decide(client, a_reviewer, a_work["id"], "reject", "no")
    assert again.status_code == 409  # the owner's turn now, not the vendor's
    task = _next_review(client, in_house, routed.project_id)
    assert task.json()["annotation"]["id"] == a_work["id"]
    assert _decide(client, in_house, a_work["id"], "accept").status_code == 201
    history = client.get(f"/api/v1/annotations/{a_work['id']}/reviews", headers=owner.headers).json()
    assert [r["reviewer_id"] for r in history] == [a_reviewer.user_id, in_house.user_id]
    state = client.get(f"/api/v1/items/{a_work['item_id']}", headers=owner.headers).json()["state"]
    assert state == "accepted"
    # Vendor A's reviewer never sees vendor B's work.
    assert client.get(f"/api/v1/annotations/{b_work['id']}", headers=a_reviewer.headers).status_code == 404


def test_a_vendor_rejection_returns_to_the_author_and_the_correction_to_the_vendor(client, owner, routed,
                                                                                   member_of):
    assert _internal_review(client, owner, routed.vendor_a, 100).status_code == 200
    work = _submit(client, routed.a_annotator, routed.project_id)  # the project itself has no review
    reviewer = member_of(owner, Role.reviewer, routed.vendor_a)
    assert _next_review(client, reviewer, routed.project_id).status_code == 200
    assert _decide(client, reviewer, work["id"], "reject", "Wrong sentiment").status_code == 201
    returned = client.get(f"/api/v1/projects/{routed.project_id}/returned", headers=routed.a_annotator.headers)
    assert [a["id"] for a in returned.json()] == [work["id"]]
    fixed = client.post(f"/api/v1/items/{work['item_id']}/annotations", json={"answers": {"sentiment": "neg"}},
                        headers=routed.a_annotator.headers)
    assert fixed.status_code == 201 and fixed.json()["review_status"] == "vendor_review"
    assert _next_review(client, reviewer, routed.project_id).json()["annotation"]["id"] == work["id"]
    # Without the owner's review the vendor's acceptance is the last word.
    assert _decide(client, reviewer, work["id"], "accept").status_code == 201
    shown = client.get(f"/api/v1/annotations/{work['id']}", headers=owner.headers).json()
    assert shown["review_status"] == "accepted"


def test_only_a_vendors_managers_and_the_owners_set_its_internal_review(client, owner, routed, member_of):
    a_manager = member_of(owner, Role.manager, routed.vendor_a)
    assert _internal_review(client, a_manager, routed.vendor_a, 30).json()["review_percent"] == 30
    assert _internal_review(client, a_manager, routed.vendor_b, 30).status_code == 404
    assert _internal_review(client, routed.a_annotator, routed.vendor_a, 30).status_code == 403
    assert _internal_review(client, owner, routed.vendor_a, 101).status_code == 422
    listed = client.get("/api/v1/vendors", headers=owner.headers).json()
    assert {v["id"]: v["review_percent"] for v in listed} == {routed.vendor_a: 30, routed.vendor_b: 0}
    # Without internal review, vendor work goes straight to the owner's review as before.
    client.patch(f"/api/v1/projects/{routed.project_id}", json={"review_mode": "all"}, headers=owner.headers)
    assert _submit(client, routed.b_annotator, routed.project_id)["review_status"] == "pending"
