"""Whitespace tokens with character offsets, and spans as BIO tags over them (CoNLL, spaCy)."""

from __future__ import annotations

import re
from typing import Any

from labelvault.formats.base import FormatProblem, Report

TOKEN = re.compile(r"\w+(?:[-'.]\w+)*|[^\w\s]")


def tokenize(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in TOKEN.finditer(text)]


def bio_tags(text: str, spans: list[dict[str, Any]], report: Report, fmt: str) -> list[tuple[str, str]]:
    """(token, tag) pairs. A span covers each token it touches; a token already tagged keeps its first span."""
    tokens = tokenize(text)
    tags = ["O"] * len(tokens)
    for span in sorted(spans, key=lambda s: (s["start"], s["end"])):
        touched = [i for i, (start, end) in enumerate(tokens) if start < span["end"] and end > span["start"]]
        if not touched:
            report.note(f"{fmt}: a span of only whitespace has no token and is left out")
            continue
        if tokens[touched[0]][0] != span["start"] or tokens[touched[-1]][1] != span["end"]:
            report.note(f"{fmt}: spans that start or end inside a token are widened to whole tokens")
        if any(tags[i] != "O" for i in touched):
            report.note(f"{fmt}: overlapping spans cannot be BIO tags; the later one is left out")
            continue
        tags[touched[0]] = f"B-{span['label']}"
        for i in touched[1:]:
            tags[i] = f"I-{span['label']}"
    return [(text[start:end], tag) for (start, end), tag in zip(tokens, tags, strict=True)]


def spans_from_tags(words: list[str], tags: list[str], where: str) -> tuple[str, list[dict[str, Any]]]:
    """Text (words joined by one space) and its spans from BIO tags; a stray I- starts a span (as seqeval reads
    it)."""
    text_parts: list[str] = []
    spans: list[dict[str, Any]] = []
    at = 0
    for index, (word, tag) in enumerate(zip(words, tags, strict=True)):
        start = at + (1 if text_parts else 0)
        text_parts.append(word)
        at = start + len(word)
        if tag == "O":
            continue
        prefix, _, label = tag.partition("-")
        if prefix not in ("B", "I") or not label:
            raise FormatProblem(f"{where}[{index}].tag", f"expected O, B-LABEL or I-LABEL, got {tag!r}")
        if prefix == "I" and spans and spans[-1]["label"] == label and spans[-1]["_last"] == index - 1:
            spans[-1]["end"] = at
            spans[-1]["_last"] = index
        else:
            spans.append({"start": start, "end": at, "label": label, "_last": index})
    for span in spans:
        del span["_last"]
    return " ".join(text_parts), spans
