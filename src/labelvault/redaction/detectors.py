"""Detectors of personal data in text. Each returns spans; checksums (Luhn, IBAN mod 97) and address parsing
keep look-alike numbers from being redacted."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, order=True)
class Span:
    start: int
    end: int
    kind: str


class Detector(Protocol):
    @property
    def kind(self) -> str: ...

    def find(self, text: str) -> Iterator[Span]: ...


@dataclass(frozen=True)
class RegexDetector:
    """Matches of `pattern`, kept when `accept(match text)` says so."""

    kind: str
    pattern: re.Pattern[str]

    def accept(self, found: str) -> bool:
        return True

    def find(self, text: str) -> Iterator[Span]:
        for match in self.pattern.finditer(text):
            if match.end() > match.start() and self.accept(match.group()):
                yield Span(match.start(), match.end(), self.kind)


EMAIL = RegexDetector("EMAIL", re.compile(
    r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])"))


class _Phone(RegexDetector):
    def accept(self, found: str) -> bool:
        # Fewer than 9 digits without a country code looks more like a date or an amount than a phone.
        digits = sum(c.isdigit() for c in found)
        return (7 if found.startswith("+") else 9) <= digits <= 15


# International (+CC ...) or grouped national numbers: (030) 1234-5678, 555-123-4567, +44 20 7946 0958.
PHONE = _Phone("PHONE", re.compile(
    r"(?<![\w+.])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]\d{2,4}){1,4}(?!\w|[.-]\d)"
    r"|(?<![\w+])\+\d{7,15}(?!\w|[.-]\d)"))


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


class _Card(RegexDetector):
    def accept(self, found: str) -> bool:
        digits = re.sub(r"[ -]", "", found)
        return 13 <= len(digits) <= 19 and luhn_valid(digits)


# Printed as one run of digits or in the usual groups: 4-4-4-4(-3) with one kind of separator, or 4-6-5/4-6-4.
CARD = _Card("CARD", re.compile(
    r"(?<![\d-])(?:\d{13,19}|\d{4}([ -])\d{4}\1\d{4}\1\d{4}(?:\1\d{1,3})?|\d{4}([ -])\d{6}\2\d{4,5})(?![\d-])"))


def iban_valid(candidate: str) -> bool:
    compact = candidate.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


class _Iban(RegexDetector):
    def accept(self, found: str) -> bool:
        return iban_valid(found)


IBAN = _Iban("IBAN", re.compile(
    r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?(?![A-Za-z0-9])"))


class _Ip(RegexDetector):
    def accept(self, found: str) -> bool:
        try:
            ipaddress.ip_address(found)
        except ValueError:
            return False
        return True


IPV4 = _Ip("IP", re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.]|\.\d)"))
IPV6 = _Ip("IP", re.compile(r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![0-9A-Fa-f:])"))


@dataclass(frozen=True)
class WordListDetector:
    """Whole words or phrases from a list, case-insensitive (names, project code words)."""

    kind: str
    words: Sequence[str]

    def find(self, text: str) -> Iterator[Span]:
        if not self.words:
            return
        alternatives = "|".join(re.escape(w) for w in sorted(self.words, key=len, reverse=True) if w)
        for match in re.finditer(rf"(?<!\w)(?:{alternatives})(?!\w)", text, re.IGNORECASE):
            yield Span(match.start(), match.end(), self.kind)


MAX_CUSTOM_PATTERN = 500


def custom_pattern(kind: str, pattern: str) -> RegexDetector:
    """A detector from a manager's regular expression (length-limited; compiled once)."""
    if len(pattern) > MAX_CUSTOM_PATTERN:
        raise ValueError(f"a custom pattern may have at most {MAX_CUSTOM_PATTERN} characters")
    if not re.fullmatch(r"[A-Z][A-Z0-9_]{0,31}", kind):
        raise ValueError("a placeholder kind is 1-32 capital letters, digits or _")
    return RegexDetector(kind, re.compile(pattern))


BUILT_IN: dict[str, tuple[Detector, ...]] = {
    "email": (EMAIL,), "phone": (PHONE,), "card": (CARD,), "iban": (IBAN,), "ip": (IPV4, IPV6),
}


# Where two detectors claim the same text, the checked one names it (a valid IP is not a phone number).
PRECEDENCE = {"CARD": 0, "IBAN": 1, "IP": 2, "EMAIL": 3, "PHONE": 5}


def all_spans(text: str, detectors: Iterable[Detector]) -> list[Span]:
    """Every span found, earliest first; at one start the longest, then by precedence."""
    found = (span for detector in detectors for span in detector.find(text))
    return sorted(found, key=lambda s: (s.start, -s.end, PRECEDENCE.get(s.kind, 4)))
