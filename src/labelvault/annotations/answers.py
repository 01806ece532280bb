"""Checks an annotation's answers against the schema version and the item's data.

Every problem names the question and the field inside the answer, e.g. `entities[2].end`.
"""

from __future__ import annotations

from typing import Any

from labelvault.errors import InvalidInput
from labelvault.projects import label_schema as ls

Problems = list[dict[str, str]]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _visible(question: Any, answers: dict[str, Any]) -> bool:
    rule = question.show_when
    if rule is None:
        return True
    given = answers.get(rule.question)
    if isinstance(given, list):
        return rule.equals in given
    return bool(given == rule.equals)


def _choice(q: ls.SingleChoice, value: Any, path: str, out: Problems) -> None:
    allowed = {o.value for o in q.options}
    if not isinstance(value, str) or value not in allowed:
        out.append({"field": path, "reason": f"must be one of {sorted(allowed)}"})


def _multi(q: ls.MultipleChoice, value: Any, path: str, out: Problems) -> None:
    allowed = {o.value for o in q.options}
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        out.append({"field": path, "reason": "must be a list of option values"})
        return
    for index, v in enumerate(value):
        if v not in allowed:
            out.append({"field": f"{path}[{index}]", "reason": f"must be one of {sorted(allowed)}"})
    if len(set(value)) != len(value):
        out.append({"field": path, "reason": "lists an option twice"})
    if len(value) < q.min_selected:
        out.append({"field": path, "reason": f"select at least {q.min_selected}"})
    if q.max_selected is not None and len(value) > q.max_selected:
        out.append({"field": path, "reason": f"select at most {q.max_selected}"})


def _spans(q: ls.Spans, value: Any, path: str, data: dict[str, Any], out: Problems) -> None:
    text = data.get(q.field)
    length = len(text) if isinstance(text, str) else 0
    labels = {o.value for o in q.labels}
    if not isinstance(value, list):
        out.append({"field": path, "reason": "must be a list of spans {start, end, label}"})
        return
    ranges: list[tuple[int, int, int]] = []
    for index, span in enumerate(value):
        where = f"{path}[{index}]"
        if not isinstance(span, dict):
            out.append({"field": where, "reason": "must be an object {start, end, label}"})
            continue
        start, end, label = span.get("start"), span.get("end"), span.get("label")
        if not _is_int(start) or not _is_int(end):
            out.append({"field": where, "reason": "start and end must be integers"})
            continue
        if not 0 <= start < end <= length:
            out.append({"field": where, "reason": f"must satisfy 0 <= start < end <= {length} (text length)"})
        if label not in labels:
            out.append({"field": f"{where}.label", "reason": f"must be one of {sorted(labels)}"})
        ranges.append((start, end, index))
    if not q.allow_overlap:
        ranges.sort()
        for (_, end_a, a), (start_b, _, b) in zip(ranges, ranges[1:], strict=False):
            if start_b < end_a:
                out.append({"field": f"{path}[{b}]", "reason": f"overlaps span {a}; this question allows none"})


def _boxes(q: ls.Boxes, value: Any, path: str, out: Problems) -> None:
    labels = {o.value for o in q.labels}
    if not isinstance(value, list):
        out.append({"field": path, "reason": "must be a list of boxes {x, y, width, height, label}"})
        return
    if q.max_boxes is not None and len(value) > q.max_boxes:
        out.append({"field": path, "reason": f"at most {q.max_boxes} boxes"})
    for index, box in enumerate(value):
        where = f"{path}[{index}]"
        if not isinstance(box, dict):
            out.append({"field": where, "reason": "must be an object {x, y, width, height, label}"})
            continue
        nums = [box.get(k) for k in ("x", "y", "width", "height")]
        if not all(isinstance(n, int | float) and not isinstance(n, bool) for n in nums):
            out.append({"field": where, "reason": "x, y, width, height must be numbers (fractions of the image)"})
            continue
        x, y, w, h = nums
        if not (0 <= x <= 1 and 0 <= y <= 1 and 0 < w and 0 < h and x + w <= 1.000001 and y + h <= 1.000001):
            out.append({"field": where, "reason": "the box must lie inside the image (coordinates are 0..1)"})
        if box.get("label") not in labels:
            out.append({"field": f"{where}.label", "reason": f"must be one of {sorted(labels)}"})


def _scale_value(scale: list[ls.ScalePoint], value: Any, path: str, out: Problems) -> None:
    allowed = [p.value for p in scale]
    if not _is_int(value) or value not in allowed:
        out.append({"field": path, "reason": f"must be one of {allowed}"})


def _rubric(q: ls.Rubric, value: Any, path: str, out: Problems) -> None:
    if not isinstance(value, dict):
        out.append({"field": path, "reason": "must be an object keyed by criterion"})
        return
    names = {c.name for c in q.criteria}
    for key in value:
        if key not in names:
            out.append({"field": f"{path}.{key}", "reason": "is not a criterion of this rubric"})
    for criterion in q.criteria:
        where = f"{path}.{criterion.name}"
        entry = value.get(criterion.name)
        if not isinstance(entry, dict):
            out.append({"field": where, "reason": "must be an object {score, comment}"})
            continue
        _scale_value(criterion.scale, entry.get("score"), f"{where}.score", out)
        comment = entry.get("comment")
        if comment is not None and not isinstance(comment, str):
            out.append({"field": f"{where}.comment", "reason": "must be a string"})
        if q.comments == "required" and not (isinstance(comment, str) and comment.strip()):
            out.append({"field": f"{where}.comment", "reason": "a comment is required"})
        if q.comments == "none" and comment:
            out.append({"field": f"{where}.comment", "reason": "this rubric takes no comments"})


def _pairwise(q: ls.Pairwise, value: Any, path: str, out: Problems) -> None:
    if not isinstance(value, dict):
        out.append({"field": path, "reason": "must be an object {choice, strength, reason}"})
        return
    choices = ["a", "b", "tie"] if q.allow_tie else ["a", "b"]
    choice = value.get("choice")
    if choice not in choices:
        out.append({"field": f"{path}.choice", "reason": f"must be one of {choices}"})
    strength = value.get("strength")
    if strength is not None and (choice == "tie" or strength not in q.strengths):
        out.append({"field": f"{path}.strength", "reason": f"must be one of {q.strengths} (none for a tie)"})
    reason = value.get("reason")
    if reason is not None and not isinstance(reason, str):
        out.append({"field": f"{path}.reason", "reason": "must be a string"})
    if q.reason == "required" and not (isinstance(reason, str) and reason.strip()):
        out.append({"field": f"{path}.reason", "reason": "a reason is required"})


def _ranking(q: ls.Ranking, value: Any, path: str, data: dict[str, Any], out: Problems) -> None:
    responses = data.get(q.field)
    count = len(responses) if isinstance(responses, list) else 0
    if (
        not isinstance(value, list)
        or not all(_is_int(v) for v in value)
        or sorted(value) != list(range(count))
    ):
        out.append({
            "field": path,
            "reason": f"must list every response index 0..{count - 1} once, best first",
        })


def _free_text(q: ls.FreeText, value: Any, path: str, out: Problems) -> None:
    if not isinstance(value, str):
        out.append({"field": path, "reason": "must be a string"})
        return
    if len(value) < q.min_length:
        out.append({"field": path, "reason": f"must be at least {q.min_length} characters, got {len(value)}"})
    if len(value) > q.max_length:
        out.append({"field": path, "reason": f"must be at most {q.max_length} characters, got {len(value)}"})


def _chat(q: ls.ChatEvaluation, value: Any, path: str, data: dict[str, Any], out: Problems) -> None:
    if not isinstance(value, dict):
        out.append({"field": path, "reason": "must be an object {turns, verdict, comment}"})
        return
    messages = data.get(q.field)
    rated = {
        str(i) for i, m in enumerate(messages if isinstance(messages, list) else [])
        if isinstance(m, dict) and m.get("role") in q.rate_roles
    }
    turns = value.get("turns", {})
    if not isinstance(turns, dict):
        out.append({"field": f"{path}.turns", "reason": "must be an object keyed by message index"})
        turns = {}
    for key, rating in turns.items():
        if key not in rated:
            out.append({"field": f"{path}.turns.{key}", "reason": f"message {key} is not a rated turn"})
        else:
            _scale_value(q.turn_scale, rating, f"{path}.turns.{key}", out)
    for key in sorted(rated - set(turns), key=int):
        out.append({"field": f"{path}.turns.{key}", "reason": "every rated turn needs a rating"})
    verdicts = [o.value for o in q.verdicts]
    if value.get("verdict") not in verdicts:
        out.append({"field": f"{path}.verdict", "reason": f"must be one of {verdicts}"})


def check_answers(
    schema: ls.LabelSchema, answers: dict[str, Any], data: dict[str, Any], *, complete: bool
) -> None:
    """Raise InvalidInput listing every problem; `complete=False` (drafts) skips required checks."""
    problems: Problems = []
    names = {q.name for q in schema.questions}
    for key in answers:
        if key not in names:
            problems.append({"field": key, "reason": "is not a question of this schema"})
    for q in schema.questions:
        value = answers.get(q.name)
        if not _visible(q, answers):
            if not _empty(value):
                problems.append({"field": q.name, "reason": f"is hidden unless {q.show_when.question} = "
                                 f"{q.show_when.equals!r}; leave it out"})
            continue
        if _empty(value):
            if complete and q.required:
                problems.append({"field": q.name, "reason": "is required"})
            continue
        path = q.name
        match q:
            case ls.SingleChoice():
                _choice(q, value, path, problems)
            case ls.MultipleChoice():
                _multi(q, value, path, problems)
            case ls.Spans():
                _spans(q, value, path, data, problems)
            case ls.Boxes():
                _boxes(q, value, path, problems)
            case ls.Rating():
                _scale_value(q.scale, value, path, problems)
            case ls.Rubric():
                _rubric(q, value, path, problems)
            case ls.Pairwise():
                _pairwise(q, value, path, problems)
            case ls.Ranking():
                _ranking(q, value, path, data, problems)
            case ls.FreeText():
                _free_text(q, value, path, problems)
            case ls.ChatEvaluation():
                _chat(q, value, path, data, problems)
    if problems:
        first = problems[0]
        raise InvalidInput(
            f"The answers do not fit the schema: {first['field']} {first['reason']}"
            + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
            details={"problems": problems},
        )
