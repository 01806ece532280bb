"""Scoring an annotation's answers against a gold item's known answers, one rule per question type.

Each question scores 0..1; free text scores None (it is judged by review, not automatically). An
annotation's score is the mean over the questions the gold answers cover and that score automatically.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from labelvault.projects import label_schema as ls
from labelvault.quality import agreement


@dataclass(frozen=True)
class Tolerances:
    rating: int = 0  # scale points a rating or rubric score may be off and still count as right
    box_iou: float = 0.5  # IoU from which a box matches the gold box of the same label


def kendall_tau(a: Sequence[int], b: Sequence[int]) -> float:
    """Kendall's tau-a between two rankings (lists of the same ids, best first)."""
    position = {x: i for i, x in enumerate(b)}
    ranks = [position[x] for x in a if x in position]
    n = len(ranks)
    if n < 2:
        return 1.0
    concordant = sum(1 for i in range(n) for j in range(i + 1, n) if ranks[i] < ranks[j])
    pairs = n * (n - 1) // 2
    return (2 * concordant - pairs) / pairs


def _within(value: Any, gold: Any, tolerance: int) -> float:
    if not isinstance(value, int | float) or not isinstance(gold, int | float):
        return 0.0
    return 1.0 if abs(value - gold) <= tolerance else 0.0


def _rubric(value: Any, gold: dict[str, Any], tolerance: int) -> float:
    criteria = [name for name, entry in gold.items() if isinstance(entry, dict) and "score" in entry]
    if not criteria:
        return 1.0
    given = value if isinstance(value, dict) else {}
    scores = [_within((given.get(name) or {}).get("score"), gold[name]["score"], tolerance) for name in criteria]
    return sum(scores) / len(scores)


def _spans(value: Any, gold: list[dict[str, Any]]) -> float:
    per_label = agreement.span_f1_per_label(value if isinstance(value, list) else [], gold)
    return sum(per_label.values()) / len(per_label) if per_label else 1.0


def _choice_of(value: Any) -> Any:
    return value.get("choice") if isinstance(value, dict) else None


def score_question(question: Any, value: Any, gold: Any, tolerances: Tolerances) -> float | None:
    """0..1 for how well `value` matches `gold` for one question; None when scored by review."""
    match question:
        case ls.SingleChoice():
            return 1.0 if value == gold else 0.0
        case ls.MultipleChoice():
            return 1.0 if isinstance(value, list) and set(value) == set(gold) else 0.0
        case ls.Spans():
            return _spans(value, gold)
        case ls.Boxes():
            return agreement.box_f1(value if isinstance(value, list) else [], gold, tolerances.box_iou)
        case ls.Rating():
            return _within(value, gold, tolerances.rating)
        case ls.Rubric():
            return _rubric(value, gold, tolerances.rating)
        case ls.Pairwise():
            return 1.0 if _choice_of(value) == _choice_of(gold) else 0.0
        case ls.Ranking():
            # Kendall's tau (-1..1) mapped to 0..1.
            return (kendall_tau(value, gold) + 1) / 2 if isinstance(value, list) else 0.0
        case ls.ChatEvaluation():
            verdict = gold.get("verdict") if isinstance(gold, dict) else None
            given = value.get("verdict") if isinstance(value, dict) else None
            return 1.0 if verdict is not None and given == verdict else 0.0
    return None  # free text


def score_answers(
    schema: ls.LabelSchema, answers: dict[str, Any], gold: dict[str, Any], tolerances: Tolerances
) -> tuple[float | None, dict[str, float | None]]:
    """The annotation's score and each gold question's score (None: not scored automatically)."""
    per_question: dict[str, float | None] = {}
    for question in schema.questions:
        if question.name in gold:
            per_question[question.name] = score_question(
                question, answers.get(question.name), gold[question.name], tolerances
            )
    scored = [s for s in per_question.values() if s is not None]
    return (sum(scored) / len(scored) if scored else None), per_question
