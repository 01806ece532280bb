"""In Chromium: an owner invites a member, changes a role and removes a member after confirming; creates a
token (its secret shown once, and working) and revokes it."""

from __future__ import annotations

import pytest
from tests.web.conftest import screenshot
from tests.web.test_review_browser import SPECS, sign_in_as

from labelvault.accounts.models import Role
from labelvault.sdk import Client
from labelvault.sdk.client import ApiError
from labelvault.testing import make_actor


def test_owner_invites_changes_a_role_and_removes_a_member(page, seed, web_factory):
    seeded = seed(SPECS[0])
    other = make_actor(web_factory, Role.annotator, organization_id=seeded.owner.organization_id)
    sign_in_as(page, seeded.url, seeded.owner, "/members")
    members = page.locator("#members")
    assert members.get_by_role("cell", name=seeded.annotator.email, exact=True).is_visible()

    page.get_by_label("E-mail").fill("newcomer@example.test")
    page.locator("#invite-role").select_option("reviewer")
    page.get_by_role("button", name="Invite").click()
    page.wait_for_selector("#invite-result:not(.hidden)")
    link = page.locator("#invite-link").inner_text()
    assert "/invite/" in link and "Invited newcomer@example.test as reviewer" in page.locator("#status").inner_text()

    page.get_by_label(f"Role of {seeded.annotator.email}").select_option("manager")
    page.wait_for_selector(f"#status:text('{seeded.annotator.email} is now manager.')")

    page.get_by_role("button", name=f"Remove {other.email}").click()
    assert other.email in page.locator("#remove-text").inner_text()
    page.get_by_role("button", name="Cancel").click()
    assert page.locator(f"tr[data-user='{other.user_id}']").count() == 1  # nothing without confirming
    page.get_by_role("button", name=f"Remove {other.email}").click()
    page.locator("#remove-confirm").click()
    page.wait_for_selector(f"tr[data-user='{other.user_id}']", state="detached")
    screenshot(page, "members")

    with seeded.sdk() as client:
        roles = {m["email"]: m["role"] for m in client.members()}
    assert roles[seeded.annotator.email] == "manager" and other.email not in roles
    with Client(seeded.url, other.token) as removed, pytest.raises(ApiError):
        removed.me()  # a removed member's token stops working here at once
    assert page.watch.errors == [] and page.watch.dialogs == []


def test_owner_creates_a_token_sees_its_secret_once_and_revokes_it(page, seed):
    seeded = seed(SPECS[0])
    sign_in_as(page, seeded.url, seeded.owner, "/members")
    page.get_by_label("Name", exact=True).fill("nightly export")
    page.get_by_label("Scope").select_option("read")
    page.get_by_label("Expires in days").fill("7")
    page.get_by_role("button", name="Create token").click()
    page.wait_for_selector("#token-result:not(.hidden)")
    secret = page.locator("#token-secret").inner_text()
    with Client(seeded.url, secret) as client:
        assert client.me()["email"] == seeded.owner.email
    row = page.locator("#token-rows tr", has_text="nightly export")
    assert "read" in row.inner_text() and "active" in row.inner_text()
    page.reload()  # the secret is never shown again
    assert secret not in page.content()
    row = page.locator("#token-rows tr", has_text="nightly export")
    row.get_by_role("button", name="Revoke nightly export").click()
    row.locator(".token-state:text('revoked')").wait_for()
    screenshot(page, "tokens")
    with Client(seeded.url, secret) as client, pytest.raises(ApiError):
        client.me()
    assert page.watch.errors == [] and page.watch.dialogs == []
