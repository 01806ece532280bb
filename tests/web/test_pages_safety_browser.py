"""In Chromium: hostile item data, schema, names and review comments run nothing on the review, returned-work
and item browser pages."""

from __future__ import annotations

from tests.web.conftest import screenshot
from tests.web.test_review_browser import sign_in_as, submitted_for_review
from tests.web.test_safety_browser import HOSTILE, XSS_SPEC, _assert_inert


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
