"""In Chromium: a reviewer sees every question type read-only over its item, rejects with a comment, and the
annotator reads the comment on the returned-work page, fixes and submits again; fixing and accepting by key."""

from __future__ import annotations

from typing import Any

import pytest
from tests.web.conftest import Seeded, screenshot

from labelvault import demo
from labelvault.accounts.models import Role
from labelvault.sdk import Client
from labelvault.testing import Actor, make_actor

SPECS = demo.projects(count=1, seed=11)


def answers_for(spec: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """A complete, valid answer to every question of a demo spec, made from the item's data."""
    out: dict[str, Any] = {}
    for q in spec["schema"]["questions"]:
        kind = q["type"]
        if kind == "single_choice":
            out[q["name"]] = q["options"][-1]["value"]
        elif kind == "multiple_choice":
            out[q["name"]] = [q["options"][0]["value"]]
        elif kind == "rating":
            out[q["name"]] = q["scale"][1]["value"]
        elif kind == "rubric":
            out[q["name"]] = {c["name"]: {"score": c["scale"][0]["value"]} for c in q["criteria"]}
        elif kind == "pairwise":
            out[q["name"]] = {"choice": "b", "strength": "clearly"}
        elif kind == "ranking":
            out[q["name"]] = list(reversed(range(len(data[q["field"]]))))
        elif kind == "free_text":
            source = data.get(q.get("source_field", ""), "")
            out[q["name"]] = f"{source} Reviewed words." if source else "A written answer long enough."
        elif kind == "chat_evaluation":
            roles = q.get("rate_roles", ["assistant"])
            turns = {str(i): q["turn_scale"][-1]["value"] for i, m in enumerate(data[q["field"]]) if m["role"] in roles}
            out[q["name"]] = {"turns": turns, "verdict": q["verdicts"][-1]["value"]}
        elif kind == "spans":
            out[q["name"]] = [{"start": 0, "end": 3, "label": q["labels"][1]["value"]}]
        elif kind == "boxes":
            out[q["name"]] = [{"x": 0.1, "y": 0.2, "width": 0.3, "height": 0.25, "label": q["labels"][0]["value"]}]
    return out


def assert_drawn(box: Any, question: dict[str, Any], answer: Any) -> None:
    """The answer shows in its read-only question: what is chosen, ranked, marked or written."""
    kind = question["type"]
    if kind in ("spans", "boxes"):
        assert box.locator(".span-list li").count() == len(answer)
    elif kind == "ranking":
        assert box.locator("ol.ranking li").first.get_attribute("data-index") == str(answer[0])
    elif kind == "free_text":
        assert box.locator("textarea").input_value() == answer
    else:
        assert box.locator("input:checked").count() >= 1
    assert all(control.is_disabled() for control in box.locator("input, textarea, button").all())


def sign_in_as(page: Any, url: str, actor: Actor, path: str) -> None:
    page.goto(f"{url}{path}")
    page.fill("input[name=email]", actor.email)
    page.fill("input[name=password]", actor.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}{path}")


def submitted_for_review(seed: Any, web_factory: Any, spec: dict[str, Any]) -> tuple[Seeded, Actor, dict[str, Any]]:
    """A project reviewing everything, one annotation submitted by its annotator, and a reviewer."""
    seeded = seed(spec)
    reviewer = make_actor(web_factory, Role.reviewer, organization_id=seeded.owner.organization_id)
    with seeded.sdk() as owner:
        owner.update_project(seeded.project_id, review_mode="all")
    with Client(seeded.url, seeded.annotator.token) as annotator:
        claim = annotator.next_item(seeded.project_id)
        assert claim is not None
        answers = answers_for(spec, claim["item"]["data"])
        annotator.submit(claim["item"]["id"], answers)
    return seeded, reviewer, {"item": claim["item"], "answers": answers}


def test_reviewer_rejects_and_the_annotator_fixes(page, browser, seed, web_factory):
    seeded, reviewer, work = submitted_for_review(seed, web_factory, SPECS[0])  # sentiment + conditional reason
    sign_in_as(page, seeded.url, reviewer, f"/projects/{seeded.project_id}/review")
    page.wait_for_function("() => !!document.body.dataset.annotationId")
    chosen = page.get_by_role("radio", name="negative", exact=True)
    assert chosen.is_checked() and chosen.is_disabled()  # drawn read-only
    assert work["item"]["data"]["text"] in page.locator("#item").inner_text()
    assert f"by {seeded.annotator.email}" in page.locator("#item-id").inner_text()  # named (not a blind review)
    page.keyboard.press("h")
    page.wait_for_selector("#history-list p:text('No earlier revisions')")
    page.keyboard.press("r")
    page.get_by_role("button", name="Reject and return").click()
    assert "Say what must change" in page.locator("#reject-problem").inner_text()  # a comment is required
    page.get_by_label("What must the annotator change? (required)").fill("Not negative: <b>look again</b>.")
    screenshot(page, "review-reject")
    page.get_by_role("button", name="Reject and return").click()
    page.wait_for_selector("#done:not(.hidden)")
    assert page.watch.errors == []

    other = browser.new_context(viewport={"width": 1440, "height": 960})
    try:
        tab = other.new_page()
        sign_in_as(tab, seeded.url, seeded.annotator, f"/projects/{seeded.project_id}/returned")
        tab.wait_for_function("() => document.body.dataset.returned === '1'")
        assert tab.locator("#returned-list .comment").inner_text() == "Not negative: <b>look again</b>."
        tab.get_by_role("button", name="Fix").click()
        tab.get_by_role("radio", name="positive", exact=True).check()
        screenshot(tab, "returned-fix")
        tab.keyboard.press("Control+Enter")
        tab.wait_for_function("() => document.body.dataset.returned === '0'")
    finally:
        other.close()
    with seeded.sdk() as client:
        [annotation] = [a for a in client.annotations(work["item"]["id"]) if a["status"] == "submitted"]
        assert annotation["answers"] == {"sentiment": "positive"}
        assert annotation["review_status"] == "pending" and annotation["revision_count"] == 1

    page.reload()  # back in the queue with its history
    page.wait_for_function("() => !!document.body.dataset.annotationId")
    page.keyboard.press("h")
    page.wait_for_selector("#history-list strong:text('Revision 1')")
    assert "Review: reject" in page.locator("#history-list").inner_text()
    page.keyboard.press("a")
    page.wait_for_selector("#done:not(.hidden)")
    with seeded.sdk() as client:
        assert [r["decision"] for r in client.reviews(annotation["id"])] == ["reject", "accept"]


@pytest.mark.parametrize("spec", SPECS[1:], ids=[s["name"] for s in SPECS[1:]])
def test_every_question_type_is_drawn_read_only_and_can_be_fixed(page, seed, web_factory, spec):
    seeded, reviewer, work = submitted_for_review(seed, web_factory, spec)
    sign_in_as(page, seeded.url, reviewer, f"/projects/{seeded.project_id}/review")
    page.wait_for_function("() => !!document.body.dataset.annotationId")
    questions = page.locator("#questions fieldset.question")
    assert questions.count() == len(spec["schema"]["questions"])
    assert all(q.get_attribute("disabled") is not None for q in questions.all())
    for question in spec["schema"]["questions"]:
        assert_drawn(page.locator(f"#questions fieldset[data-question='{question['name']}']"), question,
                     work["answers"][question["name"]])
    screenshot(page, f"review-{spec['name'].lower().replace(' ', '-')}")
    page.keyboard.press("f")
    assert questions.first.get_attribute("disabled") is None
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#done:not(.hidden)")
    with seeded.sdk() as client:
        [annotation] = [a for a in client.annotations(work["item"]["id"]) if a["status"] == "submitted"]
        assert [r["decision"] for r in client.reviews(annotation["id"])] == ["fix"]
        assert annotation["answers"] == work["answers"]
    assert page.watch.errors == []
