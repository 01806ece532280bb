"""Label Studio JSON: a list of tasks with `data`, `annotations` and `predictions`, each holding `result`s.

Questions map to Label Studio's tags and back: single and multiple choice to Choices, spans to Labels, boxes
to RectangleLabels (percent of the image), rating to Rating, free text to TextArea, pairwise to Pairwise
(`left`/`right`), ranking to Ranker (response indexes, best first), a rubric to one Rating per criterion
(`<question>.<criterion>`) and a TextArea per comment (`<question>.<criterion>.comment`). What has no tag
(chat evaluations, pairwise ties, strengths and reasons, drafts) is left out and reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import IO, Any

import orjson

from labelvault.formats.base import Format, FormatProblem, Record, Report, submitted
from labelvault.items.readers import read_json_array
from labelvault.projects.label_schema import LabelSchema

MAX_TASK = 64 * 1024 * 1024


def _target(schema: LabelSchema, q: Any) -> str:
    return str(getattr(q, "field", None) or getattr(q, "source_field", None) or schema.fields[0].name)


def _result(q: Any, name: str, to_name: str, kind: str, value: dict[str, Any], n: int) -> dict[str, Any]:
    return {"id": f"{name}-{n}", "from_name": name, "to_name": to_name, "type": kind, "value": value,
            "origin": "manual"}


def _pairwise(q: Any, answer: Any, to_name: str, report: Report) -> list[dict[str, Any]]:
    choice = answer.get("choice") if isinstance(answer, dict) else None
    if choice == "tie":
        report.note(f"{q.name}: Label Studio's Pairwise has no tie; ties are left out")
        return []
    if answer.get("strength") or answer.get("reason"):
        report.note(f"{q.name}: Label Studio's Pairwise has no strength or reason; they are left out")
    if choice not in ("a", "b"):
        return []
    return [_result(q, q.name, to_name, "pairwise", {"selected": "left" if choice == "a" else "right"}, 0)]


def _rubric(q: Any, answer: Any, to_name: str) -> list[dict[str, Any]]:
    out = []
    for criterion in q.criteria:
        entry = answer.get(criterion.name) if isinstance(answer, dict) else None
        if not isinstance(entry, dict):
            continue
        if entry.get("score") is not None:
            out.append(_result(q, f"{q.name}.{criterion.name}", to_name, "rating", {"rating": entry["score"]}, 0))
        if entry.get("comment"):
            out.append(_result(q, f"{q.name}.{criterion.name}.comment", to_name, "textarea",
                               {"text": [entry["comment"]]}, 0))
    return out


def results(schema: LabelSchema, answers: dict[str, Any], data: dict[str, Any], report: Report) -> list[Any]:
    """labelvault answers as Label Studio results."""
    out: list[dict[str, Any]] = []
    for q in schema.questions:
        answer = answers.get(q.name)
        if answer is None:
            continue
        to_name = _target(schema, q)
        if q.type == "multiple_choice" and not answer:
            continue
        if q.type == "single_choice":
            out.append(_result(q, q.name, to_name, "choices", {"choices": [answer]}, 0))
        elif q.type == "multiple_choice":
            out.append(_result(q, q.name, to_name, "choices", {"choices": list(answer)}, 0))
        elif q.type == "spans":
            text = data.get(q.field) or ""
            out += [_result(q, q.name, to_name, "labels", {
                "start": s["start"], "end": s["end"], "text": text[s["start"]:s["end"]], "labels": [s["label"]]}, n)
                for n, s in enumerate(answer)]
        elif q.type == "boxes":
            out += [_result(q, q.name, to_name, "rectanglelabels", {
                "x": b["x"] * 100, "y": b["y"] * 100, "width": b["width"] * 100, "height": b["height"] * 100,
                "rotation": 0, "rectanglelabels": [b["label"]]}, n) for n, b in enumerate(answer)]
        elif q.type == "rating":
            out.append(_result(q, q.name, to_name, "rating", {"rating": answer}, 0))
        elif q.type == "free_text":
            out.append(_result(q, q.name, to_name, "textarea", {"text": [answer]}, 0))
        elif q.type == "pairwise":
            out += _pairwise(q, answer, to_name, report)
        elif q.type == "ranking":
            out.append(_result(q, q.name, to_name, "ranker", {"ranker": {"rank": [str(i) for i in answer]}}, 0))
        elif q.type == "rubric":
            out += _rubric(q, answer, to_name)
        else:
            report.note(f"{q.name}: Label Studio has no tag for a {q.type} question; its answers are left out")
    return out


def _task(number: int, record: Record, schema: LabelSchema, report: Report) -> dict[str, Any]:
    data = record["data"]
    annotations = []
    if any(a.get("status") == "draft" for a in record.get("annotations", ())):
        report.note("drafts are left out (Label Studio keeps drafts apart from annotations)")
    for n, annotation in enumerate(submitted(record), start=1):
        report.count("annotations")
        annotations.append({
            "id": n, "result": results(schema, annotation["answers"], data, report), "was_cancelled": False,
            "ground_truth": False, "created_at": annotation.get("created_at"),
            "updated_at": annotation.get("updated_at"), "lead_time": (annotation.get("time_spent_ms") or 0) / 1000,
            "labelvault_annotation_id": annotation.get("id"), "labelvault_author": annotation.get("author")})
    predictions = [{"model_version": f"{p['model_name']}:{p['model_version']}", "score": p.get("score"),
                    "result": results(schema, p["answers"], data, report), "labelvault_model_name": p["model_name"],
                    "labelvault_model_version": p["model_version"]} for p in record.get("predictions") or []]
    return {"id": number, "data": data, "annotations": annotations, "predictions": predictions,
            "meta": {"labelvault_item_id": record.get("id"), "external_id": record.get("external_id"),
                     "metadata": record.get("metadata") or {}}}


def write(records: Iterable[Record], schema: LabelSchema, out: IO[bytes], report: Report) -> None:
    out.write(b"[")
    for number, record in enumerate(records, start=1):
        report.count("items")
        out.write((b"\n" if number == 1 else b",\n") + orjson.dumps(_task(number, record, schema, report)))
    out.write(b"\n]\n")


class _Answers:
    """Label Studio results read back into answers, with the path of what does not fit."""

    def __init__(self, schema: LabelSchema, report: Report, number: int) -> None:
        self.schema, self.report, self.number = schema, report, number
        self.questions = {q.name: q for q in schema.questions}

    def read(self, result: Any, where: str) -> dict[str, Any]:
        if not isinstance(result, list):
            raise FormatProblem(where, "expected a list of results")
        answers: dict[str, Any] = {}
        for index, entry in enumerate(result):
            at = f"{where}[{index}]"
            try:
                self._one(entry, at, answers)
            except FormatProblem as problem:
                self.report.problem(self.number, problem.path, problem.reason)
        return answers

    def _one(self, entry: Any, at: str, answers: dict[str, Any]) -> None:
        if not isinstance(entry, dict) or not isinstance(entry.get("value"), dict):
            raise FormatProblem(at, "expected an object with from_name, type and value")
        name, value = str(entry.get("from_name")), entry["value"]
        question, _, rest = name.partition(".")
        q = self.questions.get(question)
        if q is None:
            self.report.note(f"{name}: not a question of this schema; its results are left out")
            return
        if q.type == "rubric":
            criterion, _, comment = rest.partition(".")
            slot = answers.setdefault(q.name, {}).setdefault(criterion, {})
            if comment:
                slot["comment"] = self._texts(value, at)
            else:
                slot["score"] = value.get("rating")
        elif q.type == "single_choice":
            answers[q.name] = self._list(value, "choices", at)[0]
        elif q.type == "multiple_choice":
            answers[q.name] = self._list(value, "choices", at)
        elif q.type == "spans":
            label = self._list(value, "labels", at)[0]
            answers.setdefault(q.name, []).append({"start": value.get("start"), "end": value.get("end"),
                                                   "label": label})
        elif q.type == "boxes":
            label = self._list(value, "rectanglelabels", at)[0]
            box = {k: value.get(k) for k in ("x", "y", "width", "height")}
            if not all(isinstance(v, int | float) for v in box.values()):
                raise FormatProblem(f"{at}.value", "expected numbers x, y, width, height (percent)")
            if value.get("rotation"):
                raise FormatProblem(f"{at}.value.rotation", "rotated boxes cannot be expressed; left out")
            answers.setdefault(q.name, []).append({**{k: v / 100 for k, v in box.items()}, "label": label})
        elif q.type == "rating":
            answers[q.name] = value.get("rating")
        elif q.type == "free_text":
            answers[q.name] = self._texts(value, at)
        elif q.type == "pairwise":
            selected = value.get("selected")
            if selected not in ("left", "right"):
                raise FormatProblem(f"{at}.value.selected", "expected left or right")
            answers[q.name] = {"choice": "a" if selected == "left" else "b"}
        elif q.type == "ranking":
            ranked = value.get("ranker")
            order = next(iter(ranked.values()), None) if isinstance(ranked, dict) and ranked else None
            if not isinstance(order, list):
                raise FormatProblem(f"{at}.value.ranker", "expected {bucket: [response index, ...]}")
            answers[q.name] = [int(i) if str(i).isdigit() else i for i in order]

    @staticmethod
    def _list(value: dict[str, Any], key: str, at: str) -> list[Any]:
        found = value.get(key)
        if not isinstance(found, list) or not found:
            raise FormatProblem(f"{at}.value.{key}", "expected a non-empty list")
        return found

    @staticmethod
    def _texts(value: dict[str, Any], at: str) -> str:
        text = value.get("text")
        if isinstance(text, list) and all(isinstance(t, str) for t in text):
            return "\n".join(text)
        if isinstance(text, str):
            return text
        raise FormatProblem(f"{at}.value.text", "expected a list of strings")


def _record(task: Any, number: int, schema: LabelSchema, report: Report) -> Record:
    where = f"tasks[{number - 1}]"
    if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
        raise FormatProblem(f"{where}.data", "expected an object")
    reader = _Answers(schema, report, number)
    known = {f.name for f in schema.fields}
    for key in task["data"]:
        if key not in known:
            report.note(f"data.{key}: not a field of this schema; left out")
    meta: dict[str, Any] = task["meta"] if isinstance(task.get("meta"), dict) else {}
    annotations = []
    for index, annotation in enumerate(task.get("annotations") or []):
        if not isinstance(annotation, dict) or annotation.get("was_cancelled"):
            continue
        author = annotation.get("labelvault_author") or annotation.get("completed_by")
        annotations.append({
            "id": annotation.get("labelvault_annotation_id"), "author": None if author is None else str(author),
            "status": "submitted", "created_at": annotation.get("created_at"),
            "updated_at": annotation.get("updated_at"),
            "time_spent_ms": round(float(annotation.get("lead_time") or 0) * 1000),
            "answers": reader.read(annotation.get("result", []), f"{where}.annotations[{index}].result")})
    predictions = []
    for index, prediction in enumerate(task.get("predictions") or []):
        if not isinstance(prediction, dict):
            continue
        version = str(prediction.get("model_version") or "")
        predictions.append({
            "model_name": str(prediction.get("labelvault_model_name") or version or "label-studio"),
            "model_version": str(prediction.get("labelvault_model_version") or version or "1"),
            "score": prediction.get("score"),
            "answers": reader.read(prediction.get("result", []), f"{where}.predictions[{index}].result")})
    task_id = task.get("id", number)
    return {"id": meta.get("labelvault_item_id") or str(task_id),
            "external_id": meta.get("external_id") or str(task_id),
            "data": {k: v for k, v in task["data"].items() if k in known}, "metadata": meta.get("metadata") or {},
            "annotations": annotations, "predictions": predictions}


def read(handle: IO[bytes], schema: LabelSchema, report: Report) -> Iterator[Record]:
    for number, entry in enumerate(read_json_array(handle, MAX_TASK), start=1):
        if entry.problem is not None:
            raise FormatProblem(f"tasks[{number - 1}]{('.' + entry.problem[0]) if entry.problem[0] else ''}",
                                entry.problem[1])
        yield _record(entry.value, number, schema, report)


FORMAT = Format("label_studio", "json", "application/json", "Label Studio tasks with annotations and predictions.",
                write, read, unit="tasks")
