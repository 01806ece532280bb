"""In Chromium: hostile content runs nothing, drafts survive reloads and lease expiry, other sites cannot post."""

from __future__ import annotations

import re
import time

from tests.web.conftest import current_item, open_labeling, screenshot, sign_in

from labelvault import demo

PAYLOADS = [
    '<img src=x onerror="window.__pwned=1;alert(1)">',
    "<script>window.__pwned=1;alert(1)</script>",
    '"><svg onload="window.__pwned=1;alert(1)">',
    "[click me](javascript:window.__pwned=1;alert(1))",
    '<a href="javascript:alert(1)">link</a> <iframe src="javascript:alert(1)"></iframe>',
    "`</code><img src=x onerror=alert(1)>` **<b onmouseover=alert(1)>bold</b>**",
]
HOSTILE = " ".join(PAYLOADS)

XSS_SPEC = {
    "name": HOSTILE[:190],
    "guidelines": "# Rules\n\n" + "\n\n".join(PAYLOADS),
    "schema": {
        "fields": [{"name": "text", "kind": "text", "title": PAYLOADS[0]}, {"name": "responses", "kind": "responses"},
                   {"name": "chat", "kind": "chat"}, {"name": "extra", "kind": "json", "required": False}],
        "questions": [
            {"name": "choice", "type": "single_choice", "title": PAYLOADS[1], "help": PAYLOADS[2],
             "options": [{"value": PAYLOADS[0][:100], "label": PAYLOADS[2]}, {"value": "b", "label": PAYLOADS[4]}]},
            {"name": "pref", "type": "pairwise", "field": "responses", "title": PAYLOADS[3], "required": False},
            {"name": "talk", "type": "chat_evaluation", "field": "chat", "required": False,
             "turn_scale": [{"value": 1, "label": PAYLOADS[0]}, {"value": 2}],
             "verdicts": [{"value": "ok", "label": PAYLOADS[1]}, {"value": "bad"}]},
            {"name": "fix", "type": "free_text", "mode": "rewrite", "source_field": "text", "required": False},
        ],
    },
    "items": [{"external_id": f"x-{i}", "data": {
        "text": HOSTILE, "responses": [{"text": p} for p in PAYLOADS[:2]] + [PAYLOADS[3]],
        "chat": [{"role": "user", "content": p} for p in PAYLOADS] + [{"role": "assistant", "content": HOSTILE}],
        "extra": {"html": HOSTILE}}} for i in range(2)],
}


def _assert_inert(page):
    assert page.evaluate("window.__pwned") is None
    assert page.locator("a[href^='javascript' i], iframe, svg, main script:not([type]), main img").count() == 0
    assert page.watch.dialogs == []


def test_hostile_items_schema_and_guidelines_run_nothing(page, seed):
    seeded = seed(XSS_SPEC)
    first = open_labeling(page, seeded)
    assert "<img src=x" in page.locator("#item").inner_text()  # shown as text, not as markup
    page.keyboard.press("g")
    page.keyboard.press("1")
    for link in page.locator("main a").all():
        if link.is_visible():
            link.hover()
    page.keyboard.press("Control+Enter")
    current_item(page, first)
    _assert_inert(page)
    screenshot(page, "xss-payloads")
    page.goto(f"{seeded.url}/")
    _assert_inert(page)


def test_reload_and_a_new_browser_keep_the_draft(page, seed, browser):
    seeded = seed(demo.projects(count=1, seed=3)[8])  # SFT writing
    item = open_labeling(page, seeded)
    page.get_by_role("textbox", name="Write the ideal answer").fill("Half of my answer")
    page.wait_for_selector("#status:text('Draft saved.')")
    page.reload()
    assert current_item(page) == item
    assert page.get_by_role("textbox", name="Write the ideal answer").input_value() == "Half of my answer"
    other = browser.new_context()  # no local storage: the draft comes from the server
    try:
        fresh = other.new_page()
        sign_in(fresh, seeded, f"/projects/{seeded.project_id}/label")
        fresh.wait_for_selector("#status:text('Your draft is back.')")
        assert fresh.get_by_role("textbox", name="Write the ideal answer").input_value() == "Half of my answer"
    finally:
        other.close()


def test_lease_expiry_warns_and_keeps_the_draft(page, seed):
    seeded = seed(demo.projects(count=1, seed=4)[8])
    page.clock.install()
    item = open_labeling(page, seeded)
    page.get_by_role("textbox", name="Write the ideal answer").fill("Typed before the lease ran out")
    held = page.evaluate("document.body.dataset.heldUntil")
    page.clock.fast_forward("01:05")  # working: the lease is renewed; then the person walks away
    page.wait_for_function("held => document.body.dataset.heldUntil > held", arg=held)
    page.clock.fast_forward("29:00")
    page.wait_for_selector("#lease-banner:text('ends in')")
    page.clock.fast_forward("02:00")
    page.wait_for_selector("#lease-banner:text('has ended')")
    deadline = time.monotonic() + 5
    with seeded.sdk() as client:
        while time.monotonic() < deadline:
            drafts = [a for a in client.annotations(item) if a["status"] == "draft"]
            if drafts:
                break
            time.sleep(0.1)
    assert drafts and drafts[0]["answers"] == {"response": "Typed before the lease ran out"}
    page.get_by_role("button", name="Continue").click()
    page.wait_for_selector("#lease-banner.hidden", state="attached")
    assert page.get_by_role("textbox", name="Write the ideal answer").input_value() == "Typed before the lease ran out"


def test_cross_site_posts_are_refused(page, seed):
    seeded = seed(demo.projects(count=1, seed=5)[0])
    sign_in(page, seeded)
    evil = ("<!doctype html><form id=f method=post action='" + seeded.url + "/api/v1/auth/logout'>"
            "<button id=go>win a prize</button></form>")
    page.context.route("http://evil.test/**", lambda route: route.fulfill(body=evil, content_type="text/html"))
    page.goto("http://evil.test/")
    with page.expect_navigation():
        page.click("#go")
    assert re.search(r'"code":\s*"not_authenticated"', page.content())  # SameSite: no cookie went along
    forged = page.context.request.post(f"{seeded.url}/api/v1/auth/logout", headers={"origin": "http://evil.test"})
    assert forged.status == 403 and forged.json()["code"] == "csrf_failed"  # cookie but no CSRF token
    page.goto(f"{seeded.url}/")
    assert page.url == f"{seeded.url}/" and page.get_by_role("button", name="Sign out").is_visible()


def test_change_password_then_sign_out_and_back_in(page, seed):
    seeded = seed(demo.projects(count=1, seed=6)[0])
    sign_in(page, seeded, "/account/password")
    page.get_by_label("Current password").fill(seeded.annotator.password)
    page.get_by_label("New password (at least 12 characters)").fill("a-new-long-password-7")
    page.get_by_role("button", name="Change password").click()
    page.wait_for_selector("text=Your password is changed.")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{seeded.url}/sign-in")
    page.goto(f"{seeded.url}/")
    assert page.url.startswith(f"{seeded.url}/sign-in")
    page.fill("input[name=email]", seeded.annotator.email)
    page.fill("input[name=password]", "a-new-long-password-7")
    page.click("button[type=submit]")
    page.wait_for_url(f"{seeded.url}/")
    assert page.get_by_role("heading", name="Your work").is_visible()
