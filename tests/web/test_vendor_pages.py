"""In Chromium: a manager adds a vendor, routes items to it, looks up who saw an item and revokes the vendor;
the vendor's person sees only redacted, routed content and loses access at once."""

from __future__ import annotations

import json

import pytest
from tests.web.conftest import screenshot
from tests.web.test_review_browser import sign_in_as

from labelvault.accounts.models import Role
from labelvault.sdk.client import ApiError, Client
from labelvault.testing import VENDOR_SCHEMA, make_actor, vendor_items


def test_manager_routes_to_a_vendor_and_revokes_it(page, seed, web_factory):
    seeded = seed({"name": "Vendor work", "schema": VENDOR_SCHEMA, "items": vendor_items()})
    sign_in_as(page, seeded.url, seeded.owner, "/vendors")
    page.get_by_label("New vendor").fill("Acme <b>Labeling</b>")
    page.get_by_role("button", name="Add vendor").click()
    page.wait_for_selector("#vendors tr[data-vendor-id]")
    vendor_id = page.locator("#vendors tr[data-vendor-id]").first.get_attribute("data-vendor-id")
    assert "Acme <b>Labeling</b>" in page.locator("#vendors").inner_text()  # shown as text, never as markup
    page.get_by_label("Share of Acme <b>Labeling</b>'s work its own reviewers check (percent)").fill("40")
    page.get_by_role("button", name="Set").click()
    page.wait_for_function("() => document.getElementById('status').textContent.includes('check 40 %')")
    with Client(seeded.url, seeded.owner.token) as client:
        assert [v["review_percent"] for v in client.vendors()] == [40]

    page.goto(f"{seeded.url}/projects/{seeded.project_id}/routing")
    page.get_by_label("Rules (JSON)").fill("[{")
    page.get_by_role("button", name="Save rules").click()
    assert "Not JSON" in page.locator("#rules-error").inner_text()
    page.get_by_label("Rules (JSON)").fill('[{"workforce_id": "nope", "match": {}}]')
    page.get_by_role("button", name="Save rules").click()
    page.wait_for_function("() => document.getElementById('rules-error').textContent.includes('rules[0]')")
    page.get_by_label("Rules (JSON)").fill(json.dumps([{"workforce_id": vendor_id,
                                                        "match": {"metadata": {"lang": "de"}}}]))
    page.get_by_role("button", name="Save rules").click()
    page.wait_for_function("() => document.getElementById('status').textContent.includes('2 pending items')")
    screenshot(page, "routing")

    worker = make_actor(web_factory, Role.annotator, organization_id=seeded.owner.organization_id,
                        vendor_id=vendor_id)
    with Client(seeded.url, worker.token) as client:
        got = client.next_item(seeded.project_id)
        assert got is not None and got["item"]["data"] == {"text": "Mail [EMAIL] now"}
        seen = got["item"]["id"]

    page.goto(f"{seeded.url}/vendors")
    page.get_by_label("Item id").fill(seen)
    page.get_by_role("button", name="Show").click()
    page.wait_for_selector("#exposure-rows:not(.hidden) tbody tr")
    assert worker.email in page.locator("#exposure-rows").inner_text()
    page.get_by_role("button", name="Revoke…").click()
    page.get_by_role("button", name="Revoke now").click()
    page.wait_for_function("() => document.getElementById('status').textContent.includes('revoked')")
    assert "1 people lost access" in page.locator("#status").inner_text()
    screenshot(page, "vendors")
    with Client(seeded.url, worker.token) as client, pytest.raises(ApiError) as refused:
        list(client.projects())
    assert refused.value.status == 401


def test_annotators_and_vendor_managers_cannot_open_the_workforce_pages(page, seed, web_factory):
    seeded = seed({"name": "Closed", "schema": VENDOR_SCHEMA, "items": vendor_items()})
    sign_in_as(page, seeded.url, seeded.annotator, "/")
    for path in ("/vendors", f"/projects/{seeded.project_id}/routing"):
        answer = page.goto(f"{seeded.url}{path}")
        assert answer is not None and answer.status in (403, 404), path
