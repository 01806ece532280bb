"""TRL-ready JSONL, in the column layouts that TRL's trainers document.

- `trl_dpo` (DPOTrainer): `prompt`, `chosen`, `rejected` from pairwise answers (the preferred response is
  chosen; ties carry no preference and are left out) and from rankings (every pair of ranked responses, the
  better one chosen). A chat prompt gives the conversational layout (lists of messages).
- `trl_sft` (SFTTrainer): `messages` from free-text answers: the prompt (the item's chat, or its first text
  field as the user's message) followed by the written text as the assistant's message.
- `trl_reward` (RewardTrainer): `prompt`, `chosen`, `rejected` pairs of responses to the same prompt, ordered
  by their mean rubric score; equal scores make no pair.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import IO, Any

import orjson

from labelvault.formats.base import Format, FormatProblem, Record, Report, questions_of, submitted, the_question
from labelvault.projects.label_schema import FieldKind, LabelSchema


def _prompt_field(schema: LabelSchema) -> Any:
    for f in schema.fields:
        if f.kind in (FieldKind.chat, FieldKind.text):
            return f
    return None


def _prompt(record: Record, schema: LabelSchema) -> Any:
    field = _prompt_field(schema)
    if field is None:
        return ""
    value = record["data"].get(field.name)
    if field.kind is FieldKind.chat:
        return [{"role": m["role"], "content": m["content"]} for m in value or []]
    return value or ""


def _text(response: Any) -> str:
    return response if isinstance(response, str) else str(response.get("text", ""))


def _completion(prompt: Any, text: str) -> Any:
    return [{"role": "assistant", "content": text}] if isinstance(prompt, list) else text


def _pairs(q: Any, answer: Any, responses: list[Any], report: Report) -> Iterator[tuple[str, str]]:
    if q.type == "pairwise":
        choice = answer.get("choice") if isinstance(answer, dict) else None
        if choice == "tie":
            report.note(f"{q.name}: ties carry no preference and are left out")
        elif choice in ("a", "b") and len(responses) >= 2:
            first, second = _text(responses[0]), _text(responses[1])
            yield (first, second) if choice == "a" else (second, first)
    elif q.type == "ranking" and isinstance(answer, list):
        ranked = [_text(responses[i]) for i in answer if isinstance(i, int) and 0 <= i < len(responses)]
        for better in range(len(ranked)):
            for worse in range(better + 1, len(ranked)):
                yield ranked[better], ranked[worse]


def write_dpo(records: Iterable[Record], schema: LabelSchema, out: IO[bytes], report: Report) -> None:
    questions = questions_of(schema, "pairwise", "ranking")
    for record in records:
        report.count("items")
        prompt = _prompt(record, schema)
        for annotation in submitted(record):
            report.count("annotations")
            for q in questions:
                responses = record["data"].get(q.field) or []
                for chosen, rejected in _pairs(q, annotation["answers"].get(q.name), responses, report):
                    report.count("rows")
                    out.write(orjson.dumps({"prompt": prompt, "chosen": _completion(prompt, chosen),
                                            "rejected": _completion(prompt, rejected)}) + b"\n")


def _user_messages(prompt: Any) -> list[dict[str, str]]:
    return prompt if isinstance(prompt, list) else [{"role": "user", "content": prompt}]


def write_sft(records: Iterable[Record], schema: LabelSchema, out: IO[bytes], report: Report) -> None:
    questions = questions_of(schema, "free_text")
    for record in records:
        report.count("items")
        prompt = _prompt(record, schema)
        for annotation in submitted(record):
            report.count("annotations")
            for q in questions:
                text = annotation["answers"].get(q.name)
                if isinstance(text, str) and text.strip():
                    report.count("rows")
                    messages = [*_user_messages(prompt), {"role": "assistant", "content": text}]
                    out.write(orjson.dumps({"messages": messages}) + b"\n")


def _mean_rubric_score(record: Record, schema: LabelSchema) -> float | None:
    scores = [entry["score"] for annotation in submitted(record) for q in questions_of(schema, "rubric")
              for entry in (annotation["answers"].get(q.name) or {}).values()
              if isinstance(entry, dict) and isinstance(entry.get("score"), int | float)]
    return sum(scores) / len(scores) if scores else None


def _response_field(schema: LabelSchema) -> Any:
    texts = [f for f in schema.fields if f.kind is FieldKind.text]
    prompt = _prompt_field(schema)
    candidates = [f for f in texts if prompt is None or f.name != prompt.name]
    return candidates[-1] if candidates else None


def write_reward(records: Iterable[Record], schema: LabelSchema, out: IO[bytes], report: Report) -> None:
    # Pairs need every rated response of a prompt: the prompts' scored responses are held (not the items).
    # One response text given for a prompt more than once counts with its mean score.
    response_field = _response_field(schema)
    by_prompt: dict[bytes, dict[str, list[float]]] = {}
    prompts: dict[bytes, Any] = {}
    for record in records:
        report.count("items")
        report.count("annotations", len(submitted(record)))
        score = _mean_rubric_score(record, schema)
        if score is None or response_field is None:
            continue
        prompt = _prompt(record, schema)
        key = orjson.dumps(prompt)
        prompts[key] = prompt
        response = record["data"].get(response_field.name) or ""
        by_prompt.setdefault(key, {}).setdefault(response, []).append(score)
    for key, responses in by_prompt.items():
        scored = sorted(((sum(s) / len(s), text) for text, s in responses.items()), key=lambda pair: -pair[0])
        prompt = prompts[key]
        for better in range(len(scored)):
            for worse in range(better + 1, len(scored)):
                if scored[better][0] > scored[worse][0]:
                    report.count("rows")
                    out.write(orjson.dumps({"prompt": prompt, "chosen": _completion(prompt, scored[better][1]),
                                            "rejected": _completion(prompt, scored[worse][1])}) + b"\n")


def _lines(handle: IO[bytes], keys: tuple[str, ...]) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError:
            raise FormatProblem(f"lines[{number}]", "is not valid JSON") from None
        for key in keys:
            if not isinstance(row, dict) or key not in row:
                raise FormatProblem(f"lines[{number}].{key}", "is missing")
        yield number, row


def _content(value: Any) -> str:
    if isinstance(value, list) and value and isinstance(value[-1], dict):
        return str(value[-1].get("content", ""))
    return value if isinstance(value, str) else ""


def _prompt_data(schema: LabelSchema, prompt: Any) -> dict[str, Any]:
    field = _prompt_field(schema)
    return {} if field is None else {field.name: prompt}


def read_dpo(handle: IO[bytes], schema: LabelSchema, report: Report) -> Iterator[Record]:
    """Each row back as an item: its prompt, the two responses (chosen first) and a pairwise answer."""
    q = next(iter(questions_of(schema, "pairwise")), None)
    if q is None:
        raise FormatProblem("(schema)", "reading DPO rows needs a pairwise question")
    for number, row in _lines(handle, ("prompt", "chosen", "rejected")):
        yield {"id": f"row-{number}", "external_id": f"row-{number}",
               "data": {**_prompt_data(schema, row["prompt"]),
                        q.field: [_content(row["chosen"]), _content(row["rejected"])]},
               "annotations": [{"status": "submitted", "answers": {q.name: {"choice": "a"}}}]}


def read_sft(handle: IO[bytes], schema: LabelSchema, report: Report) -> Iterator[Record]:
    """Each conversation back as an item (the messages before the last) with the last one as the text."""
    q = next(iter(questions_of(schema, "free_text")), None)
    field = _prompt_field(schema)
    if q is None or field is None:
        raise FormatProblem("(schema)", "reading SFT rows needs a free-text question and a prompt field")
    for number, row in _lines(handle, ("messages",)):
        messages = row["messages"]
        if not isinstance(messages, list) or len(messages) < 2:
            raise FormatProblem(f"lines[{number}].messages", "expected at least two messages")
        before = messages[:-1]
        prompt = before if field.kind is FieldKind.chat else _content(before)
        yield {"id": f"row-{number}", "external_id": f"row-{number}", "data": {field.name: prompt},
               "annotations": [{"status": "submitted", "answers": {q.name: _content(messages)}}]}


def read_reward(handle: IO[bytes], schema: LabelSchema, report: Report) -> Iterator[Record]:
    """Pairs back as one item per response of a prompt, scored on every rubric criterion by how many of the
    prompt's responses it beats (plus one), which orders them as the pairs do. Holds one prompt's responses."""
    rubric, response_field, prompt_field = the_question(schema, "rubric"), _response_field(schema), \
        _prompt_field(schema)
    if rubric is None or response_field is None or prompt_field is None:
        raise FormatProblem("(schema)", "reading reward pairs needs a rubric question, a prompt and a response field")
    beaten: dict[bytes, dict[str, set[str]]] = {}
    prompts: dict[bytes, Any] = {}
    for _, row in _lines(handle, ("prompt", "chosen", "rejected")):
        key = orjson.dumps(row["prompt"])
        prompts[key] = row["prompt"]
        wins = beaten.setdefault(key, {})
        wins.setdefault(_content(row["chosen"]), set()).add(_content(row["rejected"]))
        wins.setdefault(_content(row["rejected"]), set())
    number = 0
    for key, wins in beaten.items():
        for response, losers in wins.items():
            number += 1
            grade = {c.name: {"score": len(losers) + 1} for c in rubric.criteria}
            yield {"id": f"response-{number}", "external_id": f"response-{number}",
                   "data": {prompt_field.name: prompts[key], response_field.name: response},
                   "annotations": [{"status": "submitted", "answers": {rubric.name: grade}}]}


TRL_DPO = Format("trl_dpo", "jsonl", "application/x-ndjson", "TRL DPO: prompt, chosen, rejected from pairwise "
                 "and ranking answers.", write_dpo, read_dpo, frozenset({"pairwise", "ranking"}))
TRL_SFT = Format("trl_sft", "jsonl", "application/x-ndjson", "TRL SFT: messages from free-text answers.",
                 write_sft, read_sft, frozenset({"free_text"}))
TRL_REWARD = Format("trl_reward", "jsonl", "application/x-ndjson", "TRL reward modelling: prompt, chosen, "
                    "rejected ordered by rubric scores.", write_reward, read_reward, frozenset({"rubric"}))
