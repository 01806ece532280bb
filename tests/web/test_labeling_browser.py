"""An annotator completes every demo question type in Chromium: one item by keyboard, one by mouse."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tests.web.conftest import current_item, open_labeling, screenshot

from labelvault import demo

SPECS = {spec["name"]: spec for spec in demo.projects(count=2, seed=11)}


def _press(page: Any, *keys: str) -> None:
    for key in keys:
        page.keyboard.press(key)


def _radio(scope: Any, name: str) -> None:
    scope.get_by_role("radio", name=name, exact=True).check()


# Each scenario: (keyboard steps, answers expected; mouse steps, answers expected). Steps get the page and the
# item's data, so expectations can follow the item (a rewrite keeps the draft it starts from).
Steps = Callable[[Any, dict[str, Any]], dict[str, Any]]


def sentiment_keys(page: Any, data: dict[str, Any]) -> dict[str, Any]:
    _press(page, "1")
    return {"sentiment": "positive"}


def sentiment_mouse(page: Any, data: dict[str, Any]) -> dict[str, Any]:
    _radio(page, "negative")
    page.get_by_role("textbox", name="Why negative?").fill("The train was late.")
    return {"sentiment": "negative", "reason": "The train was late."}


def topics_keys(page: Any, data: dict[str, Any]) -> dict[str, Any]:
    _press(page, "1", "3")
    return {"topics": ["travel", "sport"]}


def topics_mouse(page: Any, data: dict[str, Any]) -> dict[str, Any]:
    page.get_by_role("checkbox", name="food").check()
    return {"topics": ["food"]}


def rating_keys(page: Any, data: dict[str, Any]) -> dict[str, Any]:
    _press(page, "4")
    return {"quality": 4}


def rating_mouse(page: Any, data: dict[str, Any]) -> dict[str, Any]:
    _radio(page, "Excellent")
    return {"quality": 5}


def rubric_keys(page: Any, data: dict[str, Any]) -> dict[str, Any]:
    _press(page, "4", "5", "3")
    return {"rubric": {"helpful": {"score": 4}, "honest": {"score": 5}, "harmless": {"score": 3}}}


def rubric_mouse(page: Any, data: dict[str, Any]) -> dict[str, Any]:
    rows = page.locator(".criterion")
    for index, name in enumerate(["Good", "Fair", "Excellent"]):
        _radio(rows.nth(index), name)
    page.get_by_role("textbox", name="Comment on Honesty").fill("Hedges a lot.")
    return {"rubric": {"helpful": {"score": 4}, "honest": {"score": 3, "comment": "Hedges a lot."},
                       "harmless": {"score": 5}}}


def pairwise_keys(page: Any, data: dict[str, Any]) -> dict[str, Any]:
    _press(page, "b", "2")
    return {"preference": {"choice": "b", "strength": "clearly"}}


def pairwise_mouse(page: Any, data: dict[str, Any]) -> dict[str, Any]:
    _radio(page, "A is better")
    _radio(page, "much")
    page.get_by_role("textbox", name="Reason (optional)").fill("More precise.")
    return {"preference": {"choice": "a", "strength": "much", "reason": "More precise."}}


def ranking_keys(page: Any, data: dict[str, Any]) -> dict[str, Any]:
    _press(page, "3", "1", "4", "2")
    return {"ranking": [2, 0, 3, 1]}


def ranking_mouse(page: Any, data: dict[str, Any]) -> dict[str, Any]:
    cards = page.locator(".ranking li")
    cards.nth(1).drag_to(cards.nth(0))
    page.get_by_role("button", name="Use this order").click()
    return {"ranking": [1, 0, 2, 3]}


WRITTEN = "A careful, complete answer with steps."


def writing_keys(page: Any, data: dict[str, Any]) -> dict[str, Any]:
    _press(page, "Enter")
    page.keyboard.type(WRITTEN)
    return {"response": WRITTEN}


def writing_mouse(page: Any, data: dict[str, Any]) -> dict[str, Any]:
    page.get_by_role("textbox", name="Write the ideal answer").click()
    page.keyboard.type(WRITTEN)
    return {"response": WRITTEN}


def rewrite_keys(page: Any, data: dict[str, Any]) -> dict[str, Any]:
    _press(page, "Enter", "End")
    page.keyboard.type(" Much better.")
    page.wait_for_selector(".diff ins")
    return {"rewrite": data["draft"] + " Much better."}


def rewrite_mouse(page: Any, data: dict[str, Any]) -> dict[str, Any]:
    page.get_by_role("textbox", name="Improve the draft").fill("A new text, rewritten.")
    return {"rewrite": "A new text, rewritten."}


def chat_keys(page: Any, data: dict[str, Any]) -> dict[str, Any]:
    _press(page, "4", "5", "1")
    return {"review": {"turns": {"1": 4, "3": 5}, "verdict": "pass"}}


def chat_mouse(page: Any, data: dict[str, Any]) -> dict[str, Any]:
    turns = page.locator(".turn.assistant")
    _radio(turns.nth(0), "Poor")
    _radio(turns.nth(1), "Fair")
    _radio(page, "fail")
    page.get_by_role("textbox", name="Comment (optional)").fill("Second turn drifts.")
    return {"review": {"turns": {"1": 2, "3": 3}, "verdict": "fail", "comment": "Second turn drifts."}}


SCENARIOS: dict[str, tuple[Steps, Steps]] = {
    "Sentiment classification": (sentiment_keys, sentiment_mouse),
    "Topic tagging": (topics_keys, topics_mouse),
    "Answer rating": (rating_keys, rating_mouse),
    "Rubric grading": (rubric_keys, rubric_mouse),
    "Pairwise preference": (pairwise_keys, pairwise_mouse),
    "Response ranking": (ranking_keys, ranking_mouse),
    "SFT writing": (writing_keys, writing_mouse),
    "Response rewriting": (rewrite_keys, rewrite_mouse),
    "Chat review": (chat_keys, chat_mouse),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_complete_by_keyboard_then_by_mouse(page, seed, name):
    seeded = seed(SPECS[name])
    keyboard, mouse = SCENARIOS[name]
    first = open_labeling(page, seeded)
    with seeded.sdk() as client:
        expected = keyboard(page, client.item(first)["data"])
    screenshot(page, name.lower().replace(" ", "-"))
    page.keyboard.press("Control+Enter")
    second = current_item(page, first)
    assert seeded.submitted(first) == expected
    with seeded.sdk() as client:
        expected = mouse(page, client.item(second)["data"])
    page.get_by_role("button", name="Submit").click()
    page.wait_for_selector("#done:not(.hidden)")
    assert seeded.submitted(second) == expected
    assert page.watch.errors == [] and page.watch.dialogs == []
