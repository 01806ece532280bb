"""Checks an annotation's answers against the schema version and the item's data.

Every problem names the question and the field inside the answer, e.g. `entities[2].end`.
A draft (`complete=False`) may leave out answers and parts of answers (a rubric criterion, a
chat turn, the rest of a ranking); whatever it does contain must still be valid.
"""

from __future__ import annotations

from typing import Any

from labelvault.errors import InvalidInput
from labelvault.projects import label_schema as ls

Problems = list[dict[str, str]]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _empty(value: Any) -> bool:
    if isinstance(value, str):
        return not value.strip()
    return value is None or value == [] or value == {}


def _same(a: Any, b: Any) -> bool:
    # True == 1 in Python; an answer of 1 must not meet a rule that asks for true.
    return type(a) is type(b) and bool(a == b)


def _visible(question: Any, answers: dict[str, Any]) -> bool:
    rule = question.show_when
    if rule is None:
        return True
    given = answers.get(rule.question)
    if isinstance(given, list):
        return any(_same(v, rule.equals) for v in given)
    return _same(given, rule.equals)


def _problem(out: Problems, field: str, reason: str) -> None:
    out.append({"field": field, "reason": reason})


def _choice(q: ls.SingleChoice, value: Any, path: str, out: Problems) -> None:
    allowed = [o.value for o in q.options]
    if not isinstance(value, str) or value not in allowed:
        _problem(out, path, f"must be one of {allowed}")


def _multi(q: ls.MultipleChoice, value: Any, path: str, complete: bool, out: Problems) -> None:
    allowed = [o.value for o in q.options]
    if not isinstance(value, list):
        _problem(out, path, "must be a list of option values")
        return
    for index, v in enumerate(value):
        if not isinstance(v, str) or v not in allowed:
            _problem(out, f"{path}[{index}]", f"must be one of {allowed}")
        elif v in value[:index]:
            _problem(out, f"{path}[{index}]", f"lists {v!r} twice")
    if complete and len(value) < q.min_selected:
        _problem(out, path, f"select at least {q.min_selected}")
    if q.max_selected is not None and len(value) > q.max_selected:
        _problem(out, path, f"select at most {q.max_selected}")


def _spans(q: ls.Spans, value: Any, path: str, data: dict[str, Any], out: Problems) -> None:
    text = data.get(q.field)
    # Offsets count characters (code points), whatever the script or direction of the text.
    length = len(text) if isinstance(text, str) else 0
    labels = [o.value for o in q.labels]
    if not isinstance(value, list):
        _problem(out, path, "must be a list of spans {start, end, label}")
        return
    ranges: list[tuple[int, int, int]] = []
    for index, span in enumerate(value):
        where = f"{path}[{index}]"
        if not isinstance(span, dict):
            _problem(out, where, "must be an object {start, end, label}")
            continue
        start, end, label = span.get("start"), span.get("end"), span.get("label")
        if not isinstance(label, str) or label not in labels:
            _problem(out, f"{where}.label", f"must be one of {labels}")
        if not isinstance(start, int) or isinstance(start, bool):
            _problem(out, f"{where}.start", "must be an integer (a character offset)")
            continue
        if not isinstance(end, int) or isinstance(end, bool):
            _problem(out, f"{where}.end", "must be an integer (a character offset)")
            continue
        if not 0 <= start < length:
            _problem(out, f"{where}.start", f"must satisfy 0 <= start < {length} (the text length)")
        elif not start < end <= length:
            _problem(out, f"{where}.end", f"must satisfy {start} < end <= {length} (start, text length)")
        else:
            ranges.append((start, end, index))
    if not q.allow_overlap:
        ranges.sort()
        furthest_end, furthest = -1, -1
        for start, end, index in ranges:
            if start < furthest_end:
                _problem(out, f"{path}[{index}]", f"overlaps span {furthest}; this question allows none")
            if end > furthest_end:
                furthest_end, furthest = end, index


def _boxes(q: ls.Boxes, value: Any, path: str, out: Problems) -> None:
    labels = [o.value for o in q.labels]
    if not isinstance(value, list):
        _problem(out, path, "must be a list of boxes {x, y, width, height, label}")
        return
    if q.max_boxes is not None and len(value) > q.max_boxes:
        _problem(out, path, f"at most {q.max_boxes} boxes")
    for index, box in enumerate(value):
        where = f"{path}[{index}]"
        if not isinstance(box, dict):
            _problem(out, where, "must be an object {x, y, width, height, label}")
            continue
        label = box.get("label")
        if not isinstance(label, str) or label not in labels:
            _problem(out, f"{where}.label", f"must be one of {labels}")
        nums = [box.get(k) for k in ("x", "y", "width", "height")]
        if not all(_is_number(n) for n in nums):
            _problem(out, where, "x, y, width, height must be numbers (fractions of the image)")
            continue
        x, y, w, h = (float(n) for n in nums)  # type: ignore[arg-type]
        # A little slack so that x + width computed in floating point may land just past 1.
        inside = 0 <= x <= 1 and 0 <= y <= 1 and w > 0 and h > 0 and x + w <= 1.000001 and y + h <= 1.000001
        if not inside:
            _problem(out, where, "the box must lie inside the image (coordinates are fractions 0..1)")


def _scale_value(scale: list[ls.ScalePoint], value: Any, path: str, out: Problems) -> None:
    allowed = [p.value for p in scale]
    if not _is_int(value) or value not in allowed:
        _problem(out, path, f"must be one of {allowed}")


def _rubric(q: ls.Rubric, value: Any, path: str, complete: bool, out: Problems) -> None:
    if not isinstance(value, dict):
        _problem(out, path, "must be an object keyed by criterion")
        return
    names = {c.name for c in q.criteria}
    for key in value:
        if key not in names:
            _problem(out, f"{path}.{key}", "is not a criterion of this rubric")
    for criterion in q.criteria:
        where = f"{path}.{criterion.name}"
        entry = value.get(criterion.name)
        if entry is None and not complete:
            continue
        if not isinstance(entry, dict):
            _problem(out, where, "must be an object {score, comment}")
            continue
        if "score" in entry or complete:
            _scale_value(criterion.scale, entry.get("score"), f"{where}.score", out)
        comment = entry.get("comment")
        if comment is not None and not isinstance(comment, str):
            _problem(out, f"{where}.comment", "must be a string")
        elif q.comments == "none" and comment:
            _problem(out, f"{where}.comment", "this rubric takes no comments")
        elif complete and q.comments == "required" and not (comment and comment.strip()):
            _problem(out, f"{where}.comment", "a comment is required")


def _pairwise(q: ls.Pairwise, value: Any, path: str, complete: bool, out: Problems) -> None:
    if not isinstance(value, dict):
        _problem(out, path, "must be an object {choice, strength, reason}")
        return
    choices = ["a", "b", "tie"] if q.allow_tie else ["a", "b"]
    choice = value.get("choice")
    if (choice is not None or complete) and choice not in choices:
        _problem(out, f"{path}.choice", f"must be one of {choices}")
    strength = value.get("strength")
    if strength is not None and (choice == "tie" or strength not in q.strengths):
        _problem(out, f"{path}.strength", f"must be one of {q.strengths} (none for a tie)")
    reason = value.get("reason")
    if reason is not None and not isinstance(reason, str):
        _problem(out, f"{path}.reason", "must be a string")
    elif q.reason == "none" and reason:
        _problem(out, f"{path}.reason", "this question takes no reason")
    elif complete and q.reason == "required" and not (reason and reason.strip()):
        _problem(out, f"{path}.reason", "a reason is required")


def _ranking(
    q: ls.Ranking, value: Any, path: str, data: dict[str, Any], complete: bool, out: Problems
) -> None:
    responses = data.get(q.field)
    count = len(responses) if isinstance(responses, list) else 0
    if count == 0:
        _problem(out, path, f"the item has no responses in {q.field!r} to rank")
        return
    if not isinstance(value, list):
        _problem(out, path, f"must list the response indexes 0..{count - 1}, best first")
        return
    for index, v in enumerate(value):
        if not _is_int(v) or not 0 <= v < count:
            _problem(out, f"{path}[{index}]", f"must be a response index 0..{count - 1}")
        elif v in value[:index]:
            _problem(out, f"{path}[{index}]", f"lists response {v} twice")
    if complete and len(value) < count and all(_is_int(v) for v in value):
        missing = sorted(set(range(count)) - set(value))
        _problem(out, path, f"must rank every response; missing {missing}")


def _free_text(q: ls.FreeText, value: Any, path: str, complete: bool, out: Problems) -> None:
    if not isinstance(value, str):
        _problem(out, path, "must be a string")
        return
    if complete and len(value) < q.min_length:
        _problem(out, path, f"must be at least {q.min_length} characters, got {len(value)}")
    if len(value) > q.max_length:
        _problem(out, path, f"must be at most {q.max_length} characters, got {len(value)}")


def _chat(q: ls.ChatEvaluation, value: Any, path: str, data: dict[str, Any], complete: bool,
          out: Problems) -> None:
    if not isinstance(value, dict):
        _problem(out, path, "must be an object {turns, verdict, comment}")
        return
    messages = data.get(q.field)
    rated = {
        str(i) for i, m in enumerate(messages if isinstance(messages, list) else [])
        if isinstance(m, dict) and m.get("role") in q.rate_roles
    }
    turns = value.get("turns", {})
    if not isinstance(turns, dict):
        _problem(out, f"{path}.turns", "must be an object keyed by message index")
        turns = {}
    for key, rating in turns.items():
        if key not in rated:
            _problem(out, f"{path}.turns.{key}", f"message {key} is not a rated turn ({q.rate_roles})")
        else:
            _scale_value(q.turn_scale, rating, f"{path}.turns.{key}", out)
    if complete:
        for key in sorted(rated - set(turns), key=int):
            _problem(out, f"{path}.turns.{key}", "every rated turn needs a rating")
    verdicts = [o.value for o in q.verdicts]
    verdict = value.get("verdict")
    if (verdict is not None or complete) and (not isinstance(verdict, str) or verdict not in verdicts):
        _problem(out, f"{path}.verdict", f"must be one of {verdicts}")
    comment = value.get("comment")
    if comment is not None and not isinstance(comment, str):
        _problem(out, f"{path}.comment", "must be a string")


def _check_value(q: Any, value: Any, data: dict[str, Any], complete: bool, out: Problems) -> None:
    path = q.name
    match q:
        case ls.SingleChoice():
            _choice(q, value, path, out)
        case ls.MultipleChoice():
            _multi(q, value, path, complete, out)
        case ls.Spans():
            _spans(q, value, path, data, out)
        case ls.Boxes():
            _boxes(q, value, path, out)
        case ls.Rating():
            _scale_value(q.scale, value, path, out)
        case ls.Rubric():
            _rubric(q, value, path, complete, out)
        case ls.Pairwise():
            _pairwise(q, value, path, complete, out)
        case ls.Ranking():
            _ranking(q, value, path, data, complete, out)
        case ls.FreeText():
            _free_text(q, value, path, complete, out)
        case ls.ChatEvaluation():
            _chat(q, value, path, data, complete, out)


def check_answers(
    schema: ls.LabelSchema, answers: dict[str, Any], data: dict[str, Any], *, complete: bool
) -> None:
    """Raise InvalidInput listing every problem; `complete=False` (drafts) skips required checks."""
    problems: Problems = []
    names = {q.name for q in schema.questions}
    for key in answers:
        if key not in names:
            _problem(problems, key, "is not a question of this schema")
    for q in schema.questions:
        value = answers.get(q.name)
        rule = q.show_when
        if rule is not None and not _visible(q, answers):
            if not _empty(value):
                _problem(problems, q.name,
                         f"is hidden unless {rule.question} = {rule.equals!r}; leave it out")
            continue
        if _empty(value):
            if complete and q.required:
                _problem(problems, q.name, "is required")
            continue
        _check_value(q, value, data, complete, problems)
    if problems:
        first = problems[0]
        raise InvalidInput(
            f"The answers do not fit the schema: {first['field']} {first['reason']}"
            + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
            details={"problems": problems},
        )
