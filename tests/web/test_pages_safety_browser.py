"""In Chromium: hostile item data, schema, names and review comments run nothing on the review, returned-work,
item browser, import, export, schema editor and members pages."""

from __future__ import annotations

import orjson
from tests.web.conftest import screenshot
from tests.web.test_review_browser import sign_in_as, submitted_for_review
from tests.web.test_safety_browser import HOSTILE, PAYLOADS, XSS_SPEC, _assert_inert

from labelvault.accounts.models import User
from labelvault.db.engine import transaction


def test_hostile_content_runs_nothing_on_review_and_manager_pages(page, seed, web_factory):
    seeded, reviewer, work = submitted_for_review(seed, web_factory, XSS_SPEC)
    sign_in_as(page, seeded.url, reviewer, f"/projects/{seeded.project_id}/review")
    page.wait_for_function("() => !!document.body.dataset.annotationId")
    assert "<img src=x" in page.locator("#item").inner_text()
    for key in ("h", "g"):
        page.keyboard.press(key)
    _assert_inert(page)
    page.keyboard.press("r")
    page.get_by_label("What must the annotator change? (required)").fill(HOSTILE)
    page.get_by_role("button", name="Reject and return").click()
    page.wait_for_selector("#done:not(.hidden)")
    _assert_inert(page)
    screenshot(page, "xss-review")

    page.context.clear_cookies()
    sign_in_as(page, seeded.url, seeded.annotator, f"/projects/{seeded.project_id}/returned")
    page.wait_for_function("() => document.body.dataset.returned === '1'")
    assert page.locator("#returned-list .comment").inner_text() == HOSTILE
    page.get_by_role("button", name="Fix").click()
    _assert_inert(page)
    screenshot(page, "xss-returned")

    page.context.clear_cookies()
    sign_in_as(page, seeded.url, seeded.owner, f"/projects/{seeded.project_id}/items")
    page.wait_for_function("() => document.body.dataset.shown === '2'")
    page.get_by_role("button", name=work["item"]["external_id"]).click()
    page.wait_for_selector("#detail article.annotation")
    assert HOSTILE in page.locator("#detail").inner_text()
    _assert_inert(page)
    screenshot(page, "xss-items")
    assert page.watch.errors == []


def test_hostile_content_runs_nothing_on_import_export_schema_and_members_pages(page, seed, web_factory):
    seeded = seed(XSS_SPEC)
    with transaction(web_factory) as session:
        user = session.get(User, seeded.annotator.user_id)
        assert user is not None
        user.name = HOSTILE[:200]
    with seeded.sdk() as client:
        client.create_token(HOSTILE[:200])
    project = f"/projects/{seeded.project_id}"
    sign_in_as(page, seeded.url, seeded.owner, f"{project}/import")
    hostile_lines = b"\n".join([
        orjson.dumps({"external_id": HOSTILE[:200], "data": {"text": 5}}),
        orjson.dumps({"external_id": "y", "data": {"text": "t", "responses": [], "chat": HOSTILE}}),
        HOSTILE.encode(),
    ]) + b"\n"
    page.get_by_label("File (JSONL, JSON or CSV)").set_input_files(
        {"name": f"{PAYLOADS[0]}.jsonl", "mimeType": "application/x-ndjson", "buffer": hostile_lines})
    page.get_by_role("button", name="Upload and import").click()
    page.wait_for_function("() => !!document.body.dataset.importState")
    assert page.locator("#problems tr").count() == 3
    _assert_inert(page)
    screenshot(page, "xss-import")

    page.goto(f"{seeded.url}{project}/export")
    page.wait_for_function("() => Number(document.body.dataset.formats) > 1")
    page.locator("#format").select_option("hf_jsonl")
    page.get_by_label("Split (metadata.split)").fill(HOSTILE[:100])
    page.get_by_role("button", name="Export", exact=True).click()
    page.wait_for_function("() => !!document.body.dataset.exportState")
    _assert_inert(page)
    screenshot(page, "xss-export")

    page.goto(f"{seeded.url}{project}/schema")
    page.wait_for_function("() => !!document.body.dataset.checked")
    assert PAYLOADS[1] in page.locator("#preview").inner_text()  # the hostile titles, drawn as text
    text = page.locator("#definition").input_value()
    page.locator("#definition").fill(text.replace('"name": "choice"', '"name": "<img src=x onerror=alert(1)>"'))
    page.wait_for_function("() => document.body.dataset.checked === 'invalid'")
    _assert_inert(page)
    screenshot(page, "xss-schema")

    page.goto(f"{seeded.url}/members")
    for table in ("#members", "#tokens"):
        assert HOSTILE[:50] in page.locator(table).inner_text()
    page.get_by_label("Name", exact=True).fill(HOSTILE[:200])
    page.get_by_role("button", name="Create token").click()
    page.wait_for_selector("#token-result:not(.hidden)")
    page.get_by_label("E-mail").fill("<img src=x onerror=alert(1)>@example.test")
    page.get_by_role("button", name="Invite").click()
    page.wait_for_selector("#status:not(:empty)")
    _assert_inert(page)
    screenshot(page, "xss-members")
    assert page.watch.errors == []
