"""Each detector finds what it should and leaves look-alikes alone."""

from __future__ import annotations

import pytest

from labelvault.redaction.detectors import iban_valid, luhn_valid
from labelvault.redaction.redact import build_redactor


def _kinds(text, **options):
    return [(s.kind, text[s.start:s.end]) for s in build_redactor(**options).redact(text).found]


@pytest.mark.parametrize(("text", "found"), [
    ("mail ada.lovelace+ml@example.co.uk now", [("EMAIL", "ada.lovelace+ml@example.co.uk")]),
    ("user@localhost is not an address", []),
    ("call +44 20 7946 0958 today", [("PHONE", "+44 20 7946 0958")]),
    ("or (030) 1234-5678.", [("PHONE", "(030) 1234-5678")]),
    ("US 555-123-4567", [("PHONE", "555-123-4567")]),
    ("on 2024-01-15 we met", []),
    ("+44 20 7946 0958 10.0.0.1", [("PHONE", "+44 20 7946 0958"), ("IP", "10.0.0.1")]),
    ("card 4111 1111 1111 1111 exp", [("CARD", "4111 1111 1111 1111")]),
    ("card 4111-1111-1111-1112 fails Luhn", []),
    ("amex 378282246310005", [("CARD", "378282246310005")]),
    ("pay to DE89 3704 0044 0532 0130 00 please", [("IBAN", "DE89 3704 0044 0532 0130 00")]),
    ("GB82WEST12345698765432", [("IBAN", "GB82WEST12345698765432")]),
    ("DE88 3704 0044 0532 0130 00 has a bad checksum", []),
    ("from 192.168.10.20 via", [("IP", "192.168.10.20")]),
    ("version 1.2.3.999 is no address", []),
    ("host 2001:db8::8a2e:370:7334 up", [("IP", "2001:db8::8a2e:370:7334")]),
    ("loopback ::1 and fe80::1", [("IP", "::1"), ("IP", "fe80::1")]),
    ("time 12:30:45 is not IPv6", []),
])
def test_built_in_detectors(text, found):
    assert _kinds(text) == found


def test_custom_patterns_and_word_lists():
    text = "Ticket ZX-12345 for Ada LOVELACE and Charles, not Adam."
    found = _kinds(text, kinds=(), patterns={"TICKET": r"ZX-\d{5}"},
                   words={"NAME": ["Ada Lovelace", "Charles", "Ada"]})
    assert found == [("TICKET", "ZX-12345"), ("NAME", "Ada LOVELACE"), ("NAME", "Charles")]


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        build_redactor(["ssn"])
    with pytest.raises(ValueError):
        build_redactor((), patterns={"lower": "x"})
    with pytest.raises(ValueError):
        build_redactor((), patterns={"LONG": "x" * 501})


def test_checksums():
    assert luhn_valid("79927398713") and not luhn_valid("79927398710")
    assert iban_valid("FR14 2004 1010 0505 0001 3M02 606") and not iban_valid("FR15 2004 1010 0505 0001 3M02 606")


def test_placeholders_are_typed():
    redacted = build_redactor().redact("write ada@example.com or 4111111111111111")
    assert redacted.text == "write [EMAIL] or [CARD]"
