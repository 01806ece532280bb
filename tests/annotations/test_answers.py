"""check_answers: every question type, every kind of bad answer named by its path, drafts, conditions."""

from __future__ import annotations

from typing import Any

import pytest

from labelvault.annotations.answers import check_answers
from labelvault.errors import InvalidInput
from labelvault.projects.service import parse_schema

SCALE = [{"value": 1}, {"value": 2}, {"value": 3}, {"value": 4}, {"value": 5}]

SCHEMA = parse_schema({
    "fields": [
        {"name": "text", "kind": "text"},
        {"name": "image", "kind": "image"},
        {"name": "responses", "kind": "responses"},
        {"name": "chat", "kind": "chat"},
    ],
    "questions": [
        {"name": "sentiment", "type": "single_choice",
         "options": [{"value": "positive"}, {"value": "neutral"}, {"value": "negative"}]},
        {"name": "topics", "type": "multiple_choice", "min_selected": 1, "max_selected": 2,
         "options": [{"value": "sport"}, {"value": "food"}, {"value": "travel"}]},
        {"name": "entities", "type": "spans", "field": "text", "labels": [{"value": "PER"}, {"value": "LOC"}]},
        {"name": "objects", "type": "boxes", "field": "image", "max_boxes": 2,
         "labels": [{"value": "cat"}, {"value": "dog"}]},
        {"name": "quality", "type": "rating", "scale": SCALE},
        {"name": "rubric", "type": "rubric", "comments": "optional",
         "criteria": [{"name": "helpful", "scale": SCALE}, {"name": "honest", "scale": SCALE}]},
        {"name": "preference", "type": "pairwise", "field": "responses", "allow_tie": True},
        {"name": "ranking", "type": "ranking", "field": "responses"},
        {"name": "answer", "type": "free_text", "min_length": 5, "max_length": 20},
        {"name": "review", "type": "chat_evaluation", "field": "chat", "turn_scale": SCALE,
         "verdicts": [{"value": "pass"}, {"value": "fail"}]},
    ],
})

DATA: dict[str, Any] = {
    "text": "Alice went to Paris.",
    "image": "images/cat.png",
    "responses": [{"id": "r0", "text": "One"}, {"id": "r1", "text": "Two"}, {"id": "r2", "text": "Three"}],
    "chat": [
        {"role": "system", "content": "Be helpful."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Bye"},
        {"role": "assistant", "content": "Goodbye."},
    ],
}


def valid_answers() -> dict[str, Any]:
    return {
        "sentiment": "positive",
        "topics": ["travel"],
        "entities": [{"start": 0, "end": 5, "label": "PER"}, {"start": 14, "end": 19, "label": "LOC"}],
        "objects": [{"x": 0.1, "y": 0.2, "width": 0.5, "height": 0.8, "label": "cat"}],
        "quality": 4,
        "rubric": {"helpful": {"score": 5, "comment": "Clear."}, "honest": {"score": 3}},
        "preference": {"choice": "a", "strength": "clearly", "reason": "Shorter."},
        "ranking": [2, 0, 1],
        "answer": "Fine answer",
        "review": {"turns": {"2": 4, "4": 5}, "verdict": "pass", "comment": "Polite."},
    }


def problems(schema: Any, answers: dict[str, Any], data: dict[str, Any] | None = None, *,
             complete: bool = True) -> list[dict[str, str]]:
    with pytest.raises(InvalidInput) as raised:
        check_answers(schema, answers, DATA if data is None else data, complete=complete)
    found: list[dict[str, str]] = raised.value.details["problems"]
    assert found and all(p["reason"] for p in found)
    return found


def fields(answers: dict[str, Any], *, complete: bool = True) -> list[str]:
    return [p["field"] for p in problems(SCHEMA, answers, complete=complete)]


def answers_with(**changes: Any) -> dict[str, Any]:
    answers = valid_answers()
    answers.update(changes)
    return answers


def test_valid_answers_to_every_question_type_pass():
    check_answers(SCHEMA, valid_answers(), DATA, complete=True)


def test_the_message_names_the_first_problem_and_counts_the_rest():
    with pytest.raises(InvalidInput) as raised:
        check_answers(SCHEMA, answers_with(sentiment="angry", quality=9), DATA, complete=True)
    assert raised.value.code == "invalid_input"
    assert raised.value.message.startswith("The answers do not fit the schema: sentiment ")
    assert "(and 1 more)" in raised.value.message


INVALID: list[tuple[str, str, Any, list[str]]] = [
    # (case id, question, bad answer, paths of the problems)
    ("choice not an option", "sentiment", "angry", ["sentiment"]),
    ("choice not a string", "sentiment", ["positive"], ["sentiment"]),
    ("multi not a list", "topics", "travel", ["topics"]),
    ("multi unknown option", "topics", ["travel", "music"], ["topics[1]"]),
    ("multi unhashable option", "topics", [{"value": "travel"}], ["topics[0]"]),
    ("multi option twice", "topics", ["food", "food"], ["topics[1]"]),
    ("multi too many", "topics", ["food", "sport", "travel"], ["topics"]),
    ("spans not a list", "entities", {"start": 0, "end": 5, "label": "PER"}, ["entities"]),
    ("span not an object", "entities", [[0, 5, "PER"]], ["entities[0]"]),
    ("span end past the text", "entities", [{"start": 0, "end": 5, "label": "PER"},
                                            {"start": 14, "end": 21, "label": "LOC"}], ["entities[1].end"]),
    ("span end before start", "entities", [{"start": 5, "end": 3, "label": "PER"}], ["entities[0].end"]),
    ("span empty", "entities", [{"start": 5, "end": 5, "label": "PER"}], ["entities[0].end"]),
    ("span negative start", "entities", [{"start": -1, "end": 3, "label": "PER"}], ["entities[0].start"]),
    ("span start at the end", "entities", [{"start": 20, "end": 21, "label": "PER"}], ["entities[0].start"]),
    ("span offsets not integers", "entities", [{"start": 0.5, "end": "3", "label": "PER"}],
     ["entities[0].start"]),
    ("span boolean offset", "entities", [{"start": 0, "end": True, "label": "PER"}], ["entities[0].end"]),
    ("span unknown label", "entities", [{"start": 0, "end": 5, "label": "ORG"}], ["entities[0].label"]),
    ("span unhashable label", "entities", [{"start": 0, "end": 5, "label": ["PER"]}], ["entities[0].label"]),
    ("span missing label", "entities", [{"start": 0, "end": 5}], ["entities[0].label"]),
    ("boxes not a list", "objects", {"x": 0}, ["objects"]),
    ("box past the right edge", "objects", [{"x": 0.6, "y": 0, "width": 0.5, "height": 0.5, "label": "cat"}],
     ["objects[0]"]),
    ("box negative", "objects", [{"x": -0.1, "y": 0, "width": 0.5, "height": 0.5, "label": "cat"}],
     ["objects[0]"]),
    ("box in pixels", "objects", [{"x": 10, "y": 20, "width": 100, "height": 50, "label": "cat"}],
     ["objects[0]"]),
    ("box zero width", "objects", [{"x": 0.1, "y": 0.1, "width": 0, "height": 0.5, "label": "cat"}],
     ["objects[0]"]),
    ("box coordinate not a number", "objects",
     [{"x": "0.1", "y": 0.1, "width": 0.2, "height": 0.5, "label": "cat"}], ["objects[0]"]),
    ("box unknown label", "objects", [{"x": 0, "y": 0, "width": 1, "height": 1, "label": "cow"}],
     ["objects[0].label"]),
    ("box unhashable label", "objects", [{"x": 0, "y": 0, "width": 1, "height": 1, "label": {"a": 1}}],
     ["objects[0].label"]),
    ("too many boxes", "objects", [{"x": 0, "y": 0, "width": 0.1, "height": 0.1, "label": "cat"}] * 3,
     ["objects"]),
    ("rating off the scale", "quality", 6, ["quality"]),
    ("rating as a string", "quality", "4", ["quality"]),
    ("rating as a boolean", "quality", True, ["quality"]),
    ("rating as a float", "quality", 4.5, ["quality"]),
    ("rubric not an object", "rubric", [5, 3], ["rubric"]),
    ("rubric score off the scale", "rubric", {"helpful": {"score": 0}, "honest": {"score": 3}},
     ["rubric.helpful.score"]),
    ("rubric missing criterion", "rubric", {"helpful": {"score": 5}}, ["rubric.honest"]),
    ("rubric missing score", "rubric", {"helpful": {"comment": "ok"}, "honest": {"score": 3}},
     ["rubric.helpful.score"]),
    ("rubric unknown criterion", "rubric", {"helpful": {"score": 5}, "honest": {"score": 3},
                                            "funny": {"score": 1}}, ["rubric.funny"]),
    ("rubric comment not a string", "rubric", {"helpful": {"score": 5, "comment": 7}, "honest": {"score": 3}},
     ["rubric.helpful.comment"]),
    ("pairwise not an object", "preference", "a", ["preference"]),
    ("pairwise unknown choice", "preference", {"choice": "c"}, ["preference.choice"]),
    ("pairwise missing choice", "preference", {"strength": "much"}, ["preference.choice"]),
    ("pairwise unknown strength", "preference", {"choice": "b", "strength": "hugely"}, ["preference.strength"]),
    ("pairwise strength on a tie", "preference", {"choice": "tie", "strength": "much"},
     ["preference.strength"]),
    ("pairwise reason not a string", "preference", {"choice": "a", "reason": 3}, ["preference.reason"]),
    ("ranking not a list", "ranking", "2,0,1", ["ranking"]),
    ("ranking missing one", "ranking", [2, 0], ["ranking"]),
    ("ranking repeats one", "ranking", [2, 0, 0], ["ranking[2]"]),
    ("ranking index out of range", "ranking", [2, 0, 3], ["ranking[2]"]),
    ("ranking of strings", "ranking", ["r2", "r0", "r1"], ["ranking[0]", "ranking[1]", "ranking[2]"]),
    ("free text too short", "answer", "four", ["answer"]),
    ("free text too long", "answer", "x" * 21, ["answer"]),
    ("free text not a string", "answer", 12345, ["answer"]),
    ("chat not an object", "review", "pass", ["review"]),
    ("chat missing a rated turn", "review", {"turns": {"2": 4}, "verdict": "pass"}, ["review.turns.4"]),
    ("chat rating a user turn", "review", {"turns": {"1": 3, "2": 4, "4": 5}, "verdict": "pass"},
     ["review.turns.1"]),
    ("chat rating a turn that does not exist", "review", {"turns": {"2": 4, "4": 5, "9": 5}, "verdict": "pass"},
     ["review.turns.9"]),
    ("chat turn off the scale", "review", {"turns": {"2": 4, "4": 7}, "verdict": "pass"}, ["review.turns.4"]),
    ("chat turns not an object", "review", {"turns": [4, 5], "verdict": "pass"},
     ["review.turns", "review.turns.2", "review.turns.4"]),
    ("chat unknown verdict", "review", {"turns": {"2": 4, "4": 5}, "verdict": "meh"}, ["review.verdict"]),
    ("chat missing verdict", "review", {"turns": {"2": 4, "4": 5}}, ["review.verdict"]),
    ("chat comment not a string", "review", {"turns": {"2": 4, "4": 5}, "verdict": "fail", "comment": ["x"]},
     ["review.comment"]),
]


@pytest.mark.parametrize(("question", "value", "paths"), [(q, v, p) for _, q, v, p in INVALID],
                         ids=[case for case, _, _, _ in INVALID])
def test_invalid_answer_names_the_question_and_path(question, value, paths):
    assert fields(answers_with(**{question: value})) == paths


def test_every_question_type_has_invalid_cases():
    asked = {q.name for q in SCHEMA.questions}
    assert {question for _, question, _, _ in INVALID} == asked


def test_problems_of_several_questions_are_all_listed_in_schema_order():
    answers = answers_with(review={"turns": {"2": 4, "4": 5}, "verdict": "meh"}, sentiment="angry",
                           rubric={"helpful": {"score": 9}, "honest": {"score": 3}})
    assert fields(answers) == ["sentiment", "rubric.helpful.score", "review.verdict"]


def test_missing_required_answers_are_named():
    assert fields({}) == [q.name for q in SCHEMA.questions]


@pytest.mark.parametrize("empty", [None, "", "   ", [], {}])
def test_empty_answers_count_as_missing(empty):
    assert fields(answers_with(answer=empty)) == ["answer"]


def test_unknown_question_is_named():
    assert fields(answers_with(mood="happy")) == ["mood"]


# Spans


SPAN_SCHEMA = parse_schema({
    "fields": [{"name": "text", "kind": "text"}],
    "questions": [{"name": "entities", "type": "spans", "field": "text", "labels": [{"value": "A"}]}],
})
OVERLAP_SCHEMA = parse_schema({
    "fields": [{"name": "text", "kind": "text"}],
    "questions": [{"name": "entities", "type": "spans", "field": "text", "labels": [{"value": "A"}],
                   "allow_overlap": True}],
})


def spans(*ranges: tuple[int, int]) -> dict[str, Any]:
    return {"entities": [{"start": s, "end": e, "label": "A"} for s, e in ranges]}


TEN = {"text": "0123456789"}


@pytest.mark.parametrize(("ranges", "paths"), [
    ([(0, 4), (3, 6)], ["entities[1]"]),
    ([(3, 6), (0, 4)], ["entities[0]"]),
    ([(0, 5), (0, 5)], ["entities[1]"]),
    ([(0, 10), (2, 3), (5, 6)], ["entities[1]", "entities[2]"]),
    ([(2, 8), (4, 5)], ["entities[1]"]),
], ids=["crossing", "crossing out of order", "identical", "two inside one long span", "nested"])
def test_overlapping_spans_are_rejected_when_the_question_forbids_them(ranges, paths):
    assert [p["field"] for p in problems(SPAN_SCHEMA, spans(*ranges), TEN)] == paths
    check_answers(OVERLAP_SCHEMA, spans(*ranges), TEN, complete=True)


def test_touching_spans_do_not_overlap():
    check_answers(SPAN_SCHEMA, spans((0, 3), (3, 6), (6, 10)), TEN, complete=True)


def test_overlap_allowed_still_checks_bounds():
    assert [p["field"] for p in problems(OVERLAP_SCHEMA, spans((0, 4), (3, 11)), TEN)] == ["entities[1].end"]


@pytest.mark.parametrize(("text", "word"), [
    ("مرحبا بالعالم", "بالعالم"),  # Arabic, right to left
    ("שלום עולם", "עולם"),  # Hebrew
    ("東京で会議がありました", "会議"),  # Japanese
    ("我爱北京天安门", "天安门"),  # Chinese
    ("Ünïcödé 👋🏽 wave", "wave"),  # accents and an emoji with a skin-tone modifier
])
def test_span_offsets_count_characters_whatever_the_script(text, word):
    start = text.index(word)
    data = {"text": text}
    check_answers(SPAN_SCHEMA, spans((start, start + len(word))), data, complete=True)
    check_answers(SPAN_SCHEMA, spans((0, len(text))), data, complete=True)
    # Byte offsets (UTF-8) run past the end of the text.
    assert [p["field"] for p in problems(SPAN_SCHEMA, spans((0, len(text.encode()))), data)] == [
        "entities[0].end"]


def test_spans_on_an_item_without_the_text_field_are_out_of_bounds():
    assert [p["field"] for p in problems(SPAN_SCHEMA, spans((0, 1)), {})] == ["entities[0].start"]


# Boxes


@pytest.mark.parametrize("box", [
    {"x": 0, "y": 0, "width": 1, "height": 1},
    {"x": 0.7, "y": 0.9, "width": 0.3, "height": 0.1},  # 0.7 + 0.3 is 0.99999... or 1.00000...1 in floats
    {"x": 0.25, "y": 0.5, "width": 0.5, "height": 0.25},
])
def test_boxes_inside_the_image_pass(box):
    check_answers(SCHEMA, answers_with(objects=[{**box, "label": "dog"}]), DATA, complete=True)


# Pairwise


def test_pairwise_without_tie():
    schema = parse_schema({
        "fields": [{"name": "responses", "kind": "responses"}],
        "questions": [{"name": "preference", "type": "pairwise", "field": "responses", "allow_tie": False,
                       "reason": "required"}],
    })
    check_answers(schema, {"preference": {"choice": "b", "reason": "More accurate."}}, DATA, complete=True)
    assert [p["field"] for p in problems(schema, {"preference": {"choice": "tie", "reason": "Same."}})] == [
        "preference.choice"]
    assert [p["field"] for p in problems(schema, {"preference": {"choice": "a", "reason": " "}})] == [
        "preference.reason"]


def test_pairwise_that_takes_no_reason():
    schema = parse_schema({
        "fields": [{"name": "responses", "kind": "responses"}],
        "questions": [{"name": "preference", "type": "pairwise", "field": "responses", "reason": "none"}],
    })
    check_answers(schema, {"preference": {"choice": "tie"}}, DATA, complete=True)
    assert [p["field"] for p in problems(schema, {"preference": {"choice": "a", "reason": "Because."}})] == [
        "preference.reason"]


# Rubric comments


def rubric_schema(comments: str) -> Any:
    return parse_schema({
        "fields": [{"name": "text", "kind": "text"}],
        "questions": [{"name": "rubric", "type": "rubric", "comments": comments,
                       "criteria": [{"name": "helpful", "scale": SCALE}]}],
    })


def test_rubric_with_required_comments():
    schema = rubric_schema("required")
    check_answers(schema, {"rubric": {"helpful": {"score": 2, "comment": "Vague."}}}, DATA, complete=True)
    assert [p["field"] for p in problems(schema, {"rubric": {"helpful": {"score": 2}}})] == [
        "rubric.helpful.comment"]


def test_rubric_without_comments():
    schema = rubric_schema("none")
    check_answers(schema, {"rubric": {"helpful": {"score": 2}}}, DATA, complete=True)
    assert [p["field"] for p in problems(schema, {"rubric": {"helpful": {"score": 2, "comment": "Hm."}}})] == [
        "rubric.helpful.comment"]


# Free text


def test_free_text_limits_are_inclusive_and_count_characters():
    check_answers(SCHEMA, answers_with(answer="ab cd"), DATA, complete=True)
    check_answers(SCHEMA, answers_with(answer="é" * 20), DATA, complete=True)
    check_answers(SCHEMA, answers_with(answer="文" * 20), DATA, complete=True)
    assert fields(answers_with(answer="文" * 21)) == ["answer"]


def test_rewrite_question_takes_text():
    schema = parse_schema({
        "fields": [{"name": "draft", "kind": "text"}],
        "questions": [{"name": "rewrite", "type": "free_text", "mode": "rewrite", "source_field": "draft",
                       "max_length": 30}],
    })
    check_answers(schema, {"rewrite": "A better sentence."}, {"draft": "A sentence."}, complete=True)
    assert [p["field"] for p in problems(schema, {"rewrite": "x" * 31}, {"draft": "A sentence."})] == ["rewrite"]


# Chat evaluation


def test_chat_evaluation_rates_the_configured_roles():
    schema = parse_schema({
        "fields": [{"name": "chat", "kind": "chat"}],
        "questions": [{"name": "review", "type": "chat_evaluation", "field": "chat", "turn_scale": SCALE,
                       "rate_roles": ["user", "assistant"], "verdicts": [{"value": "ok"}, {"value": "bad"}]}],
    })
    all_turns = {"1": 3, "2": 4, "3": 2, "4": 5}
    check_answers(schema, {"review": {"turns": all_turns, "verdict": "ok"}}, DATA, complete=True)
    assert [p["field"] for p in problems(schema, {"review": {"turns": {"2": 4, "4": 5}, "verdict": "ok"}})] == [
        "review.turns.1", "review.turns.3"]
    assert [p["field"] for p in problems(schema, {"review": {"turns": {**all_turns, "0": 3}, "verdict": "ok"}})
            ] == ["review.turns.0"]


# Conditional questions


CONDITIONAL = parse_schema({
    "fields": [{"name": "text", "kind": "text"}],
    "questions": [
        {"name": "sentiment", "type": "single_choice",
         "options": [{"value": "positive"}, {"value": "negative"}]},
        {"name": "reason", "type": "free_text", "show_when": {"question": "sentiment", "equals": "negative"}},
        {"name": "flags", "type": "multiple_choice", "required": False,
         "options": [{"value": "spam"}, {"value": "toxic"}]},
        {"name": "toxicity", "type": "rating", "scale": SCALE, "show_when": {"question": "flags", "equals": "toxic"}},
        {"name": "severity", "type": "single_choice", "options": [{"value": "low"}, {"value": "high"}],
         "show_when": {"question": "toxicity", "equals": 5}},
    ],
})


def test_hidden_question_needs_no_answer():
    check_answers(CONDITIONAL, {"sentiment": "positive"}, DATA, complete=True)
    check_answers(CONDITIONAL, {"sentiment": "positive", "flags": ["spam"]}, DATA, complete=True)


def test_answering_a_hidden_question_is_an_error():
    found = problems(CONDITIONAL, {"sentiment": "positive", "reason": "It is clearly negative."})
    assert [p["field"] for p in found] == ["reason"]
    assert "sentiment" in found[0]["reason"]
    assert [p["field"] for p in problems(CONDITIONAL, {"sentiment": "positive", "toxicity": 3})] == ["toxicity"]


def test_visible_required_question_must_be_answered():
    assert [p["field"] for p in problems(CONDITIONAL, {"sentiment": "negative"})] == ["reason"]
    check_answers(CONDITIONAL, {"sentiment": "negative", "reason": "Rude."}, DATA, complete=True)


def test_condition_on_a_multiple_choice_answer_looks_inside_the_list():
    assert [p["field"] for p in problems(CONDITIONAL, {"sentiment": "positive", "flags": ["spam", "toxic"]})
            ] == ["toxicity"]
    check_answers(CONDITIONAL, {"sentiment": "positive", "flags": ["spam", "toxic"], "toxicity": 2}, DATA,
                  complete=True)


def test_conditions_chain():
    base = {"sentiment": "positive", "flags": ["toxic"]}
    check_answers(CONDITIONAL, {**base, "toxicity": 4}, DATA, complete=True)
    assert [p["field"] for p in problems(CONDITIONAL, {**base, "toxicity": 5})] == ["severity"]
    check_answers(CONDITIONAL, {**base, "toxicity": 5, "severity": "high"}, DATA, complete=True)
    assert [p["field"] for p in problems(CONDITIONAL, {**base, "toxicity": 4, "severity": "high"})] == [
        "severity"]


def test_condition_compares_types_strictly():
    schema = parse_schema({
        "fields": [{"name": "text", "kind": "text"}],
        "questions": [
            {"name": "stars", "type": "rating", "scale": [{"value": 0}, {"value": 1}]},
            {"name": "why", "type": "free_text", "show_when": {"question": "stars", "equals": 1}},
        ],
    })
    check_answers(schema, {"stars": 0}, DATA, complete=True)
    assert [p["field"] for p in problems(schema, {"stars": 1})] == ["why"]
    # An invalid answer of `true` is reported, and does not make the condition true (True == 1 in Python).
    assert [p["field"] for p in problems(schema, {"stars": True})] == ["stars"]


# Drafts


def test_draft_may_leave_out_required_answers():
    check_answers(SCHEMA, {}, DATA, complete=False)
    check_answers(SCHEMA, {"sentiment": "neutral"}, DATA, complete=False)
    check_answers(CONDITIONAL, {"sentiment": "negative"}, DATA, complete=False)


def test_draft_may_hold_partial_answers():
    partial = {
        "topics": [],
        "rubric": {"helpful": {"score": 4}},
        "preference": {"reason": "Still deciding."},
        "ranking": [2],
        "answer": "Hi",
        "review": {"turns": {"2": 3}},
    }
    check_answers(SCHEMA, partial, DATA, complete=False)
    assert fields(partial) == ["sentiment", "topics", "entities", "objects", "quality", "rubric.honest",
                               "preference.choice", "ranking", "answer", "review.turns.4", "review.verdict"]


@pytest.mark.parametrize(("question", "value", "paths"), [
    ("sentiment", "angry", ["sentiment"]),
    ("topics", ["food", "sport", "travel"], ["topics"]),
    ("entities", [{"start": 0, "end": 99, "label": "PER"}], ["entities[0].end"]),
    ("objects", [{"x": 0.9, "y": 0, "width": 0.5, "height": 0.5, "label": "cat"}], ["objects[0]"]),
    ("quality", 0, ["quality"]),
    ("rubric", {"helpful": {"score": 9}}, ["rubric.helpful.score"]),
    ("preference", {"choice": "c"}, ["preference.choice"]),
    ("ranking", [0, 0], ["ranking[1]"]),
    ("answer", "x" * 21, ["answer"]),
    ("review", {"turns": {"1": 3}}, ["review.turns.1"]),
    ("review", {"verdict": "meh"}, ["review.verdict"]),
    ("mood", "happy", ["mood"]),
])
def test_draft_values_are_still_checked(question, value, paths):
    assert fields({question: value}, complete=False) == paths


def test_draft_may_not_answer_a_hidden_question():
    assert [p["field"] for p in problems(CONDITIONAL, {"sentiment": "positive", "reason": "x"}, complete=False)
            ] == ["reason"]
