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
Steps = Callable[[Any, dict[str, Any]], Any]


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
    _press(page, "3", "1", "4", "2")  # best first: 3, 1, 4, 2
    page.locator(".ranking li").nth(1).focus()
    _press(page, "Alt+ArrowUp")  # response 1 moves above response 3
    return {"ranking": [0, 2, 3, 1]}


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


def entities_keys(page: Any, data: dict[str, Any]) -> dict[str, Any]:
    _press(page, "Enter", "Home", "Control+Shift+ArrowRight", "Control+Shift+ArrowRight", "1")
    person = data["text"].split(" from ")[0]
    return {"entities": [{"start": 0, "end": len(person), "label": "PER"}]}


def _double_click_word(page: Any, word: str) -> None:
    """Double-click the first occurrence of `word` in the text to mark, like a person would."""
    box = page.evaluate("""(word) => {
        const node = [...document.querySelectorAll('.spans-text span')].map(s => s.firstChild)
            .find(t => t && t.data.includes(word));
        const range = document.createRange(); const at = node.data.indexOf(word);
        range.setStart(node, at); range.setEnd(node, at + word.length);
        const r = range.getBoundingClientRect(); return {x: r.x + r.width / 2, y: r.y + r.height / 2};
    }""", word)
    page.mouse.dblclick(box["x"], box["y"])


def entities_mouse(page: Any, data: dict[str, Any]) -> dict[str, Any]:
    text = data["text"]
    place = text.split(" travelling to ")[1].split(".")[0]
    page.get_by_role("button", name="LOC").click()
    _double_click_word(page, place)
    page.get_by_role("button", name="PER").click()
    first_name = text.split(" ")[0]
    _double_click_word(page, first_name)
    page.wait_for_selector(".spans-text .span.c0")
    page.locator(".spans-text .span.c0").first.click()  # a click on a span removes it
    page.wait_for_selector(".spans-text .span.c0", state="detached")
    start = text.index(place)
    return {"entities": [{"start": start, "end": start + len(place), "label": "LOC"}]}


def boxes_keys(page: Any, data: dict[str, Any]) -> dict[str, Any]:
    _press(page, "n", "ArrowRight", "Alt+ArrowDown", "2")
    return {"objects": [{"x": 0.41, "y": 0.4, "width": 0.2, "height": 0.21, "label": "other"}]}


def boxes_mouse(page: Any, data: dict[str, Any]) -> Any:
    image = page.locator(".boxes-stage img").bounding_box()
    page.mouse.move(image["x"] + image["width"] * 0.25, image["y"] + image["height"] * 0.25)
    page.mouse.down()
    page.mouse.move(image["x"] + image["width"] * 0.5, image["y"] + image["height"] * 0.75, steps=5)
    page.mouse.up()
    page.get_by_role("button", name="other").click()  # relabels the selected box

    def check(answers: dict[str, Any]) -> bool:
        (box,) = answers["objects"]
        return box["label"] == "other" and all(
            abs(box[k] - v) < 0.03 for k, v in {"x": 0.25, "y": 0.25, "width": 0.25, "height": 0.5}.items())

    return check


SCENARIOS: dict[str, tuple[Steps, Steps]] = {
    "Named entities": (entities_keys, entities_mouse),
    "Object boxes": (boxes_keys, boxes_mouse),
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
    answers = seeded.submitted(second)
    assert expected(answers) if callable(expected) else answers == expected, answers
    assert page.watch.errors == [] and page.watch.dialogs == []
    page.get_by_role("link", name="Back to your projects").click()
    assert page.locator("#total-today").inner_text() == "2"  # the annotator home counts today's submissions


BIDI_SPEC = {
    "name": "Scripts",
    "schema": {"fields": [{"name": "text", "kind": "text"}],
               "questions": [{"name": "marks", "type": "spans", "field": "text", "allow_overlap": True,
                              "labels": [{"value": "A"}, {"value": "B"}]}]},
    "items": [{"external_id": "rtl", "data": {"text": "שלום עולם יפה"}, "priority": 9},
              {"external_id": "cjk", "data": {"text": "東京は🌸の都市です"}, "priority": 1}],
}


def _drag_over(page: Any, start: int, end: int) -> None:
    """Press the mouse before UTF-16 offset `start` of the text and release it after `end`."""
    points = page.evaluate("""([start, end]) => {
        const node = document.querySelector('.spans-text span').firstChild;
        const at = (i) => { const r = document.createRange(); r.setStart(node, i); r.setEnd(node, i + 1);
                            return r.getBoundingClientRect(); };
        const a = at(start), b = at(end - 1);
        return {x0: a.left + 1, y0: a.top + a.height / 2, x1: b.right - 1, y1: b.top + b.height / 2};
    }""", [start, end])
    page.mouse.move(points["x0"], points["y0"])
    page.mouse.down()
    page.mouse.move(points["x1"], points["y1"], steps=4)
    page.mouse.up()


def test_spans_count_code_points_in_right_to_left_and_cjk_text(page, seed):
    seeded = seed(BIDI_SPEC)
    rtl = open_labeling(page, seeded)
    # Right to left: the arrow that points along the reading direction (left) moves forward.
    _press(page, "Enter", "Home", "Control+Shift+ArrowLeft", "1", "Shift+ArrowLeft", "Shift+ArrowLeft", "2")
    page.keyboard.press("Control+Enter")
    cjk = current_item(page, rtl)
    marks = [{"start": 0, "end": 4, "label": "A"}, {"start": 5, "end": 6, "label": "B"}]  # the space is trimmed
    assert seeded.submitted(rtl) == {"marks": marks}
    _drag_over(page, 6, 8)  # 都市, after the astral 🌸 (two UTF-16 units, one code point)
    page.get_by_role("button", name="Submit").click()
    page.wait_for_selector("#done:not(.hidden)")
    assert seeded.submitted(cjk) == {"marks": [{"start": 5, "end": 7, "label": "A"}]}


def test_validation_undo_shortcuts_guidelines_and_skip(page, seed):
    seeded = seed(SPECS["Sentiment classification"])
    first = open_labeling(page, seeded)
    page.keyboard.press("Control+Enter")
    assert page.locator("fieldset[data-question=sentiment] .problem").inner_text() == "This question is required."
    _press(page, "1", "3")  # negative shows the conditional question
    assert page.get_by_role("textbox", name="Why negative?").is_visible()
    page.keyboard.press("Control+z")
    assert page.get_by_role("radio", name="positive", exact=True).is_checked()
    assert not page.get_by_role("textbox", name="Why negative?").is_visible()
    page.keyboard.press("?")
    assert page.get_by_role("dialog", name="Keyboard shortcuts").is_visible()
    page.keyboard.press("Escape")
    page.keyboard.press("g")
    assert page.get_by_role("complementary", name="Guidelines").get_by_role("heading", name=SPECS[
        "Sentiment classification"]["name"]).is_visible()
    page.keyboard.press("s")
    page.get_by_role("button", name="Skip item").click()
    assert page.locator("#skip-problem").inner_text() == "Give a reason for skipping."
    page.get_by_role("textbox", name="Why? (required)").fill("Not English")
    page.get_by_role("button", name="Skip item").click()
    second = current_item(page, first)
    assert second != first
    with seeded.sdk() as client:
        people = client.status(seeded.project_id)["annotators"]
    (person,) = [a for a in people if a["user_id"] == seeded.annotator.user_id]
    assert person["skipped"] == 1 and person["submitted"] == 0
    assert page.watch.errors == []


def test_a_models_prelabels_fill_the_questions_in_until_the_person_changes_them(page, seed):
    spec = dict(SPECS["Sentiment classification"])
    predictions = [
        {"model_name": "sentiment-small", "model_version": "3", "answers": {"sentiment": "positive"}, "score": 0.4},
        {"model_name": "sentiment-large", "model_version": "7", "answers": {"sentiment": "neutral"}, "score": 0.9},
    ]
    spec["items"] = [{**item, "predictions": predictions} for item in spec["items"][:2]]
    seeded = seed(spec)
    first = open_labeling(page, seeded)
    page.wait_for_function("() => document.body.dataset.prefilledBy === 'sentiment-large 7'")
    assert page.get_by_role("radio", name="neutral", exact=True).is_checked()
    assert "Pre-filled by the model sentiment-large 7" in page.locator("#status").inner_text()
    screenshot(page, "prelabels")
    page.keyboard.press("Control+Enter")  # accepted as it stands
    second = current_item(page, first)
    assert seeded.submitted(first) == {"sentiment": "neutral"}
    page.wait_for_function("() => document.body.dataset.prefilledBy === 'sentiment-large 7'")
    _press(page, "3")  # the person disagrees: their answer is what counts
    page.keyboard.press("Control+Enter")
    current_item(page, second)
    assert seeded.submitted(second) == {"sentiment": "negative"}
    assert page.watch.errors == []
