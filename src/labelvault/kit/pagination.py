"""Opaque cursors for keyset pagination."""

from __future__ import annotations

import base64

import orjson

from labelvault.errors import InvalidInput


def encode_cursor(*values: object) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(values))).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> list[object] | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = orjson.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise InvalidInput("The cursor is not valid; use the `next_cursor` of a previous page.",
                           details={"field": "cursor"}) from exc
    if not isinstance(values, list):
        raise InvalidInput("The cursor is not valid.", details={"field": "cursor"})
    return values
