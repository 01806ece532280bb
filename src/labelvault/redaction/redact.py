"""Redaction with typed placeholders, and the map from redacted offsets back to the original text.

Annotators label the redacted text; their spans are mapped back with `OffsetMap.to_original`, so stored
annotations always refer to the original content. A span that touches a placeholder covers the whole
original value it replaced.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from labelvault.redaction.detectors import BUILT_IN, Detector, Span, WordListDetector, all_spans, custom_pattern


@dataclass(frozen=True)
class Replacement:
    redacted_start: int
    redacted_end: int
    original_start: int
    original_end: int
    kind: str


@dataclass(frozen=True)
class OffsetMap:
    replacements: Sequence[Replacement] = ()
    _starts: list[int] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._starts.extend(r.redacted_start for r in self.replacements)

    def _position(self, offset: int, *, end: bool) -> int:
        index = bisect.bisect_left(self._starts, offset) - 1  # last placeholder starting before `offset`
        if index < 0:
            return offset
        r = self.replacements[index]
        if offset < r.redacted_end:
            return r.original_end if end else r.original_start
        return r.original_end + (offset - r.redacted_end)

    def to_redacted(self, offset: int, *, end: bool) -> int:
        """Where an original offset falls in the redacted text; inside a replaced value it falls at the
        placeholder's start (or, for an end, its end)."""
        index = bisect.bisect_right([r.original_start for r in self.replacements], offset) - 1
        if index < 0:
            return offset
        r = self.replacements[index]
        if offset == r.original_start:
            return r.redacted_start
        if offset < r.original_end:
            return r.redacted_end if end else r.redacted_start
        return r.redacted_end + (offset - r.original_end)

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """The original offsets of the redacted span [start, end)."""
        return self._position(start, end=False), max(self._position(end, end=True), self._position(start, end=False))


@dataclass(frozen=True)
class Redacted:
    text: str
    offsets: OffsetMap
    found: Sequence[Span]


def placeholder(kind: str) -> str:
    return f"[{kind}]"


def _without_overlaps(spans: Sequence[Span]) -> list[Span]:
    """`spans` in `all_spans` order; a span overlapping one kept before it is dropped."""
    kept: list[Span] = []
    for span in spans:
        if not kept or span.start >= kept[-1].end:
            kept.append(span)
    return kept


@dataclass(frozen=True)
class Redactor:
    detectors: Sequence[Detector]

    def redact(self, text: str) -> Redacted:
        spans = _without_overlaps(all_spans(text, self.detectors))
        parts: list[str] = []
        replacements: list[Replacement] = []
        cursor = written = 0
        for span in spans:
            parts.append(text[cursor:span.start])
            written += span.start - cursor
            token = placeholder(span.kind)
            replacements.append(Replacement(written, written + len(token), span.start, span.end, span.kind))
            parts.append(token)
            written += len(token)
            cursor = span.end
        parts.append(text[cursor:])
        return Redacted("".join(parts), OffsetMap(replacements), spans)


def build_redactor(kinds: Iterable[str] = tuple(BUILT_IN), *, patterns: dict[str, str] | None = None,
                   words: dict[str, Sequence[str]] | None = None) -> Redactor:
    """A redactor from a project's settings: built-in kinds (email, phone, card, iban, ip), custom regular
    expressions by placeholder kind, and word lists by placeholder kind."""
    detectors: list[Detector] = []
    for kind in kinds:
        if kind not in BUILT_IN:
            raise ValueError(f"unknown detector {kind!r}; choose from {sorted(BUILT_IN)}")
        detectors.extend(BUILT_IN[kind])
    detectors.extend(custom_pattern(kind, pattern) for kind, pattern in (patterns or {}).items())
    detectors.extend(WordListDetector(kind, list(listed)) for kind, listed in (words or {}).items())
    return Redactor(detectors)
