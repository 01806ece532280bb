"""Spans annotated on redacted text map back to the right original offsets (property-based)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from labelvault.redaction.redact import build_redactor

SECRETS = st.sampled_from(["ada@example.com", "+44 20 7946 0958", "4111 1111 1111 1111",
                           "DE89 3704 0044 0532 0130 00", "10.0.0.1", "2001:db8::1"])
PLAIN = st.text(alphabet="abcdefgh xyz,", min_size=0, max_size=12).map(lambda t: f" {t} ")
# Values in running text stand apart from their neighbours: two numbers with only a space between them are
# ambiguous to any reader, so pieces are joined with " / ".
PIECES = st.lists(st.one_of(SECRETS, PLAIN), min_size=1, max_size=8)


@given(PIECES)
def test_every_secret_is_replaced_and_plain_text_maps_back_unchanged(pieces):
    original = " / ".join(pieces)
    redacted = build_redactor().redact(original)
    for secret in set(pieces) & {"ada@example.com", "10.0.0.1", "2001:db8::1"}:
        assert secret not in redacted.text
    # Every character outside a placeholder maps back to the same character.
    inside = set()
    for r in redacted.offsets.replacements:
        inside.update(range(r.redacted_start, r.redacted_end))
        assert redacted.text[r.redacted_start:r.redacted_end] == f"[{r.kind}]"
        assert original[r.original_start:r.original_end] in pieces
    for position, char in enumerate(redacted.text):
        if position not in inside:
            start, end = redacted.offsets.to_original(position, position + 1)
            assert original[start:end] == char


@given(PIECES, st.data())
def test_a_span_over_a_placeholder_covers_the_whole_original_value(pieces, data):
    original = " / ".join(pieces)
    redacted = build_redactor().redact(original)
    if not redacted.offsets.replacements:
        return
    r = data.draw(st.sampled_from(list(redacted.offsets.replacements)))
    # Any span touching the placeholder, even partly, maps to a span containing the original value.
    start = data.draw(st.integers(0, r.redacted_end - 1))
    end = data.draw(st.integers(max(start + 1, r.redacted_start + 1), len(redacted.text)))
    mapped = redacted.offsets.to_original(start, end)
    assert mapped[0] <= r.original_start and mapped[1] >= r.original_end
    assert redacted.offsets.to_original(r.redacted_start, r.redacted_end) == (r.original_start, r.original_end)


def test_offsets_after_several_placeholders():
    original = "a ada@example.com b 10.0.0.1 c"
    redacted = build_redactor().redact(original)
    assert redacted.text == "a [EMAIL] b [IP] c"
    c = redacted.text.index("c")
    assert redacted.offsets.to_original(c, c + 1) == (len(original) - 1, len(original))
    b_to_c = redacted.offsets.to_original(redacted.text.index("b"), c + 1)
    assert original[b_to_c[0]:b_to_c[1]] == "b 10.0.0.1 c"
