"""Gold scoring and per-question consensus, one rule per question type."""

from __future__ import annotations

import pytest
from scipy.stats import kendalltau

from labelvault.projects.label_schema import LabelSchema
from labelvault.quality.answer_consensus import question_consensus
from labelvault.quality.scoring import Tolerances, kendall_tau, score_answers

SCHEMA = LabelSchema.model_validate({
    "fields": [{"name": "text", "kind": "text"}, {"name": "image", "kind": "image"},
               {"name": "responses", "kind": "responses"}],
    "questions": [
        {"name": "topic", "type": "single_choice", "options": [{"value": "a"}, {"value": "b"}, {"value": "c"}]},
        {"name": "tags", "type": "multiple_choice", "options": [{"value": "x"}, {"value": "y"}, {"value": "z"}]},
        {"name": "entities", "type": "spans", "field": "text", "labels": [{"value": "PER"}, {"value": "ORG"}]},
        {"name": "objects", "type": "boxes", "field": "image", "labels": [{"value": "car"}]},
        {"name": "quality", "type": "rating", "scale": [{"value": v} for v in range(1, 6)]},
        {"name": "rubric", "type": "rubric", "criteria": [
            {"name": "clarity", "scale": [{"value": v} for v in range(1, 6)]},
            {"name": "accuracy", "scale": [{"value": v} for v in range(1, 6)]}]},
        {"name": "preference", "type": "pairwise", "field": "responses"},
        {"name": "order", "type": "ranking", "field": "responses"},
        {"name": "notes", "type": "free_text", "required": False},
    ],
})
BOX = {"x": 0.1, "y": 0.1, "width": 0.3, "height": 0.3, "label": "car"}
GOLD = {
    "topic": "a", "tags": ["x", "y"], "entities": [{"start": 0, "end": 5, "label": "PER"},
                                                   {"start": 10, "end": 13, "label": "ORG"}],
    "objects": [BOX], "quality": 4, "rubric": {"clarity": {"score": 5}, "accuracy": {"score": 2}},
    "preference": {"choice": "a", "strength": "clearly"}, "order": [2, 0, 1, 3], "notes": "fine",
}


def test_a_perfect_annotation_scores_one_and_free_text_is_left_to_review():
    score, per_question = score_answers(SCHEMA, GOLD, GOLD, Tolerances())
    assert score == 1.0
    assert per_question["notes"] is None
    assert all(v == 1.0 for k, v in per_question.items() if k != "notes")


def test_each_question_type_has_its_rule():
    answers = {
        "topic": "b", "tags": ["y", "x"], "entities": [{"start": 0, "end": 5, "label": "PER"}],
        "objects": [{**BOX, "x": 0.12}, {**BOX, "x": 0.6}], "quality": 3,
        "rubric": {"clarity": {"score": 5}, "accuracy": {"score": 4}},
        "preference": {"choice": "a", "strength": "slightly"}, "order": [0, 2, 1, 3],
    }
    _, exact = score_answers(SCHEMA, answers, GOLD, Tolerances())
    assert exact["topic"] == 0.0
    assert exact["tags"] == 1.0  # order of a multiple choice does not matter
    assert exact["entities"] == pytest.approx((1.0 + 0.0) / 2)  # per-label F1: PER 1, ORG 0
    assert exact["objects"] == pytest.approx(2 * 1 / 3)  # one of two boxes matches the one gold box
    assert exact["quality"] == 0.0
    assert exact["rubric"] == 0.5
    assert exact["preference"] == 1.0  # agreement is on the choice; the strength is a nuance
    assert exact["order"] == pytest.approx((_scipy_tau([0, 2, 1, 3], [2, 0, 1, 3]) + 1) / 2)
    _, tolerant = score_answers(SCHEMA, answers, GOLD, Tolerances(rating=1))
    assert tolerant["quality"] == 1.0 and tolerant["rubric"] == 0.5


def _scipy_tau(a, b):
    """scipy's tau over the place each response holds in the two rankings (best first)."""
    return kendalltau([a.index(r) for r in sorted(a)], [b.index(r) for r in sorted(b)]).statistic


def test_kendall_tau_matches_scipy():
    cases = [([0, 1, 2, 3], [3, 2, 1, 0]), ([1, 0, 2, 4, 3], [0, 1, 2, 3, 4]), ([2, 0, 1], [2, 0, 1]),
             ([4, 2, 0, 1, 3, 5], [0, 1, 2, 3, 4, 5])]
    for a, b in cases:
        assert kendall_tau(a, b) == pytest.approx(_scipy_tau(a, b))
    assert kendall_tau([0, 1, 2, 3], [3, 2, 1, 0]) == -1.0


def _question(name):
    return next(q for q in SCHEMA.questions if q.name == name)


def test_question_consensus_and_its_confidence():
    value, confidence = question_consensus(_question("topic"), ["a", "b", "a", "a"], Tolerances())
    assert (value, confidence) == ("a", 0.75)
    value, confidence = question_consensus(_question("tags"), [["x"], ["x", "y"], ["x", "z"]], Tolerances())
    assert value == ["x"] and confidence == pytest.approx(1 / 3)
    value, _ = question_consensus(_question("quality"), [1, 4, 5, 4], Tolerances())
    assert value == 4
    value, _ = question_consensus(_question("order"), [[0, 1, 2], [0, 2, 1], [1, 0, 2]], Tolerances())
    assert value == [0, 1, 2]
    value, confidence = question_consensus(_question("objects"), [[BOX], [{**BOX, "x": 0.11}], []], Tolerances())
    assert len(value) == 1 and "confidence" not in value[0]
    assert confidence == pytest.approx(2 / 3)
    assert question_consensus(_question("notes"), ["a", "b"], Tolerances()) is None
    assert question_consensus(_question("topic"), [], Tolerances()) is None
