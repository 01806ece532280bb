"""Demo content: one project per question type with small, generated items (no downloads)."""

from __future__ import annotations

import random
import struct
import zlib
from typing import Any

TOPICS = ["the weather", "a new phone", "train delays", "a cooking recipe", "the football match",
          "a software update", "a museum visit", "the city budget", "a mountain hike", "an online course"]
NAMES = ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Katherine Johnson", "Tim Berners-Lee"]
PLACES = ["Paris", "Nairobi", "Lima", "Osaka", "Toronto"]
ORGS = ["Acme Corp", "Globex", "Initech", "Umbrella", "Hooli"]


def _text(rng: random.Random) -> str:
    person, org, topic, place = rng.choice(NAMES), rng.choice(ORGS), rng.choice(TOPICS), rng.choice(PLACES)
    verdict = rng.choice(["great", "poor", "fine"])
    return f"{person} from {org} wrote about {topic} while travelling to {place}. The experience was {verdict}."


def _responses(rng: random.Random, n: int) -> list[dict[str, str]]:
    styles = ["A short, direct answer.", "A longer answer with steps:\n\n1. First\n2. Second",
              "An answer with code: `print('hi')`", "A cautious answer that asks a follow-up question.",
              "An answer that cites a source (*example*)."]
    return [{"id": f"r{i}", "text": rng.choice(styles), "model": f"model-{i}"} for i in range(n)]


def png(width: int, height: int, color: tuple[int, int, int], box: tuple[int, int, int, int]) -> bytes:
    """A small RGB PNG with one darker rectangle, made without any image library."""
    x0, y0, x1, y1 = box
    rows = []
    for y in range(height):
        row = bytearray(b"\x00")
        for x in range(width):
            inside = x0 <= x < x1 and y0 <= y < y1
            row += bytes(c // 3 if inside else c for c in color)
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows), 9)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


SCALE5 = [{"value": i, "label": label} for i, label in
          enumerate(["Very poor", "Poor", "Fair", "Good", "Excellent"], start=1)]


def projects(count: int = 50, seed: int = 7) -> list[dict[str, Any]]:
    """Project definitions (name, schema, guidelines) with their items."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []

    def add(name: str, schema: dict[str, Any], make: Any, guidelines: str = "") -> None:
        out.append({"name": name, "schema": schema,
                    "guidelines": guidelines or f"# {name}\n\nLabel carefully.",
                    "items": [{"external_id": f"{name.split()[0].lower()}-{i:03d}", **make(i)}
                              for i in range(count)]})

    add("Sentiment classification", {
        "fields": [{"name": "text", "kind": "text"}],
        "questions": [
            {"name": "sentiment", "type": "single_choice", "title": "Sentiment", "options": [
                {"value": "positive"}, {"value": "neutral"}, {"value": "negative"}]},
            {"name": "reason", "type": "free_text", "title": "Why negative?", "required": False,
             "show_when": {"question": "sentiment", "equals": "negative"}, "max_length": 500},
        ]}, lambda i: {"data": {"text": _text(rng)}})
    add("Topic tagging", {
        "fields": [{"name": "text", "kind": "text"}],
        "questions": [{"name": "topics", "type": "multiple_choice", "title": "Topics", "min_selected": 1,
                       "options": [{"value": v}
                                   for v in ["travel", "technology", "sport", "food", "politics"]]}],
    }, lambda i: {"data": {"text": _text(rng)}})
    add("Named entities", {
        "fields": [{"name": "text", "kind": "text"}],
        "questions": [{"name": "entities", "type": "spans", "field": "text", "title": "Entities",
                       "labels": [{"value": "PER"}, {"value": "ORG"}, {"value": "LOC"}], "required": False}],
    }, lambda i: {"data": {"text": _text(rng)}})
    add("Object boxes", {
        "fields": [{"name": "image", "kind": "image"}],
        "questions": [{"name": "objects", "type": "boxes", "field": "image", "title": "Objects",
                       "labels": [{"value": "square"}, {"value": "other"}]}],
    }, lambda i: {"data": {"image": f"images/{i % 5}.png"}})
    add("Answer rating", {
        "fields": [{"name": "prompt", "kind": "text"}, {"name": "answer", "kind": "text"}],
        "questions": [{"name": "quality", "type": "rating", "title": "Answer quality", "scale": SCALE5}],
    }, lambda i: {"data": {"prompt": f"Tell me about {rng.choice(TOPICS)}.", "answer": _text(rng)}})
    add("Rubric grading", {
        "fields": [{"name": "prompt", "kind": "text"}, {"name": "answer", "kind": "text"}],
        "questions": [{"name": "rubric", "type": "rubric", "title": "Rubric", "comments": "optional",
                       "criteria": [{"name": "helpful", "title": "Helpfulness", "scale": SCALE5},
                                    {"name": "honest", "title": "Honesty", "scale": SCALE5},
                                    {"name": "harmless", "title": "Harmlessness", "scale": SCALE5}]}],
    }, lambda i: {"data": {"prompt": f"Explain {rng.choice(TOPICS)}.", "answer": _text(rng)}})
    add("Pairwise preference", {
        "fields": [{"name": "prompt", "kind": "text"}, {"name": "responses", "kind": "responses"}],
        "questions": [{"name": "preference", "type": "pairwise", "field": "responses",
                       "title": "Which is better?"}],
    }, lambda i: {"data": {"prompt": f"How do I plan {rng.choice(TOPICS)}?",
                           "responses": _responses(rng, 2)}})
    add("Response ranking", {
        "fields": [{"name": "prompt", "kind": "text"}, {"name": "responses", "kind": "responses"}],
        "questions": [{"name": "ranking", "type": "ranking", "field": "responses",
                       "title": "Rank best first"}],
    }, lambda i: {"data": {"prompt": f"Summarize {rng.choice(TOPICS)}.", "responses": _responses(rng, 4)}})
    add("SFT writing", {
        "fields": [{"name": "prompt", "kind": "text"}],
        "questions": [{"name": "response", "type": "free_text", "mode": "write",
                       "title": "Write the ideal answer", "min_length": 20, "max_length": 4000}],
    }, lambda i: {"data": {"prompt": f"Write a helpful answer about {rng.choice(TOPICS)}."}})
    add("Response rewriting", {
        "fields": [{"name": "prompt", "kind": "text"}, {"name": "draft", "kind": "text"}],
        "questions": [{"name": "rewrite", "type": "free_text", "mode": "rewrite", "source_field": "draft",
                       "title": "Improve the draft", "min_length": 10}],
    }, lambda i: {"data": {"prompt": f"Describe {rng.choice(TOPICS)}.", "draft": _text(rng)}})
    add("Chat review", {
        "fields": [{"name": "conversation", "kind": "chat"}],
        "questions": [{"name": "review", "type": "chat_evaluation", "field": "conversation",
                       "title": "Review", "turn_scale": SCALE5, "verdicts": [{"value": "pass"}, {"value": "fail"}]}],
    }, lambda i: {"data": {"conversation": [
        {"role": "user", "content": f"Can you help with {rng.choice(TOPICS)}?"},
        {"role": "assistant", "content": _text(rng)},
        {"role": "user", "content": "Thanks, and what else?"},
        {"role": "assistant", "content": _text(rng)}]}})
    return out


def demo_images() -> dict[str, bytes]:
    colors = [(200, 80, 80), (80, 200, 80), (80, 80, 200), (200, 200, 80), (80, 200, 200)]
    return {f"images/{i}.png": png(64, 48, c, (8 + i * 4, 8, 30 + i * 4, 30)) for i, c in enumerate(colors)}
