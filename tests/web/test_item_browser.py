"""In Chromium: a manager filters the item browser, pages by cursor, opens an item beside its annotations and
reviews, and deletes items only after confirming."""

from __future__ import annotations

from tests.web.conftest import screenshot
from tests.web.test_review_browser import sign_in_as, submitted_for_review

from labelvault import demo

SPEC = {**demo.projects(count=1, seed=11)[0], "items": [
    {"external_id": f"row-{i:02d}", "data": {"text": f"Sentence {i} about {'trains' if i % 3 else 'boats'}."},
     "metadata": {"batch": "b1" if i < 30 else "b2", "topic": "trains" if i % 3 else "boats"}} for i in range(60)]}


def test_manager_filters_opens_and_bulk_deletes(page, seed, web_factory):
    seeded, reviewer, work = submitted_for_review(seed, web_factory, SPEC)
    sign_in_as(page, seeded.url, seeded.owner, f"/projects/{seeded.project_id}/items")
    page.wait_for_function("() => document.body.dataset.shown === '50'")  # first page
    page.get_by_role("button", name="More").click()
    page.wait_for_function("() => document.body.dataset.shown === '60'")  # the cursor's next page
    assert page.get_by_role("button", name="More").is_hidden()

    page.get_by_label("Text").fill("boats")
    page.get_by_label("Metadata (key:value)").fill("batch:b1")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_function("() => document.body.dataset.shown === '10'")  # 0, 3, ..., 27
    assert set(page.locator("#rows td:nth-child(2)").all_inner_texts()) == {f"row-{i:02d}" for i in range(0, 30, 3)}

    page.get_by_label("Text").fill("")
    page.get_by_label("Metadata (key:value)").fill("")
    page.locator("input[name=annotator]").fill(seeded.annotator.email)  # a person by e-mail, not by id
    page.get_by_role("button", name="Filter").click()
    page.wait_for_function("() => document.body.dataset.shown === '1'")
    page.locator("input[name=annotator]").fill("")
    with seeded.sdk() as client:
        annotated_state = client.item(work["item"]["id"])["state"]
    assert annotated_state != "new"
    page.get_by_label("State").select_option(annotated_state)
    page.get_by_role("button", name="Filter").click()
    page.wait_for_function("() => document.body.dataset.shown === '1'")
    page.get_by_role("button", name=work["item"]["external_id"]).click()
    page.wait_for_selector("#detail article.annotation")
    detail = page.locator("#detail")
    assert work["item"]["data"]["text"] in detail.inner_text()
    assert f"by {seeded.annotator.email}" in detail.inner_text()  # named, not by user id
    assert detail.get_by_role("radio", name="negative", exact=True).is_checked()
    screenshot(page, "item-browser")

    page.get_by_label("State").select_option("")
    page.get_by_label("Text").fill("boats")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_function("() => document.body.dataset.shown === '20'")
    page.get_by_label("Select all shown").check()
    page.get_by_role("button", name="Delete…").click()
    page.get_by_role("button", name="Cancel").click()  # nothing happens without confirming
    assert page.locator("#rows tr").count() == 20
    page.get_by_role("button", name="Delete…").click()
    assert "Delete 20 items" in page.locator("#delete-text").inner_text()
    page.get_by_role("button", name="Delete for good").click()
    page.wait_for_function("() => document.body.dataset.shown === '0'")
    with seeded.sdk() as client:
        assert sum(1 for _ in client.items(seeded.project_id)) == 40
    assert page.watch.errors == [] and page.watch.dialogs == []
    page.goto(f"{seeded.url}/projects/{seeded.project_id}/overview")
    assert page.locator("#states td[data-state='new']").inner_text() == "40"  # row-00 (annotated) was deleted
    screenshot(page, "project-overview")
