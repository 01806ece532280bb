"""The consensus answer of one question from several annotators' answers to it.

A consensus's confidence is the mean agreement of the annotators with it, measured by the same rule that
scores answers against gold (`scoring.score_question`): for a single choice, the winner's share of votes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from labelvault.projects import label_schema as ls
from labelvault.quality.consensus import consensus_boxes, consensus_spans
from labelvault.quality.scoring import Tolerances, score_question


def _most_common(values: Sequence[Any]) -> Any:
    # Ties go to the value seen first, so the result does not depend on hash order.
    counts = Counter(values)
    best = max(counts.values())
    return next(v for v in values if counts[v] == best)


def _median(values: Sequence[int]) -> int:
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2]


def _strip(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != "confidence"} for row in rows]


def _rubric(q: ls.Rubric, values: Sequence[dict[str, Any]]) -> dict[str, Any]:
    result = {}
    for criterion in q.criteria:
        scores = [v[criterion.name]["score"] for v in values
                  if isinstance(v.get(criterion.name), dict) and "score" in v[criterion.name]]
        if scores:
            result[criterion.name] = {"score": _median(scores)}
    return result


def _ranking(values: Sequence[list[int]]) -> list[int]:
    """Borda count: responses ordered by their mean position, best first."""
    positions: dict[int, list[int]] = {}
    for ranking in values:
        for place, response in enumerate(ranking):
            positions.setdefault(response, []).append(place)
    return sorted(positions, key=lambda r: (sum(positions[r]) / len(positions[r]), r))


def consensus_value(question: Any, values: Sequence[Any], tolerances: Tolerances) -> Any:
    """The consensus answer of `question` given every annotator's (non-empty) answer to it."""
    match question:
        case ls.SingleChoice():
            return _most_common(values)
        case ls.MultipleChoice():
            counts = Counter(option for v in values for option in v)
            return [o.value for o in question.options if counts[o.value] * 2 > len(values)]
        case ls.Spans():
            return _strip(consensus_spans(values))
        case ls.Boxes():
            return _strip(consensus_boxes(values, iou_threshold=tolerances.box_iou))
        case ls.Rating():
            return _median(values)
        case ls.Rubric():
            return _rubric(question, values)
        case ls.Pairwise():
            return {"choice": _most_common([v.get("choice") for v in values])}
        case ls.Ranking():
            return _ranking(values)
        case ls.ChatEvaluation():
            return {"verdict": _most_common([v.get("verdict") for v in values])}
    return None


def question_consensus(question: Any, values: Sequence[Any], tolerances: Tolerances) -> tuple[Any, float] | None:
    """(consensus answer, confidence) of one question, or None when it is not aggregated (free text, no answers)."""
    if not values or isinstance(question, ls.FreeText):
        return None
    value = consensus_value(question, values, tolerances)
    scores = [score_question(question, v, value, tolerances) for v in values]
    known = [s for s in scores if s is not None]
    return value, (sum(known) / len(known) if known else 0.0)
