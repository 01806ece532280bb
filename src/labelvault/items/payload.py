"""Checks one incoming item (a parsed line) against the project's fields; fast, no Pydantic per item."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

import orjson

from labelvault.projects.label_schema import FieldDef, FieldKind, LabelSchema

RESERVED = ("external_id", "data", "metadata", "overlap", "priority")
MAX_EXTERNAL_ID = 256
MAX_OVERLAP = 100


@dataclass(slots=True)
class ItemInput:
    external_id: str
    data: dict[str, Any]
    meta: dict[str, Any]
    overlap: int | None
    priority: int


class ItemProblem(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def _check_media_path(path: str, where: str) -> None:
    if "\x00" in path:
        raise ItemProblem(where, "must not contain a NUL character")
    lowered = path.lower()
    if "://" in lowered or lowered.startswith("//") or lowered.startswith("data:"):
        raise ItemProblem(where, "must be a path inside the media store, not a URL (the server fetches no URL)")
    parts = path.replace("\\", "/").split("/")
    if path.startswith("/") or ".." in parts or not path.strip():
        raise ItemProblem(where, "must be a relative path inside the media store without '..'")


def _number(value: Any, where: str) -> int | float:
    # A CSV cell is always text: a number field takes "3" or "2.5" as well (like overlap and priority).
    if isinstance(value, str):
        text = value.strip()
        try:
            value = int(text) if text.lstrip("+-").isdigit() else float(text)
        except ValueError:
            raise ItemProblem(where, f"must be a number, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ItemProblem(where, f"must be a number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ItemProblem(where, f"must be a finite number, got {value}")
    return value


def _check_field(spec: FieldDef, value: Any, where: str) -> Any:
    """Raise ItemProblem when `value` does not fit the field; return the value to store."""
    kind = spec.kind
    if kind is FieldKind.text:
        if not isinstance(value, str):
            raise ItemProblem(where, f"must be a string, got {type(value).__name__}")
    elif kind is FieldKind.number:
        return _number(value, where)
    elif kind is FieldKind.image:
        if not isinstance(value, str):
            raise ItemProblem(where, f"must be a media path string, got {type(value).__name__}")
        _check_media_path(value, where)
    elif kind is FieldKind.chat:
        if not isinstance(value, list) or not value:
            raise ItemProblem(where, "must be a non-empty list of messages")
        for index, message in enumerate(value):
            if not isinstance(message, dict):
                raise ItemProblem(f"{where}[{index}]", "must be an object with role and content")
            if not isinstance(message.get("role"), str) or not message["role"]:
                raise ItemProblem(f"{where}[{index}].role", "must be a non-empty string")
            if not isinstance(message.get("content"), str):
                raise ItemProblem(f"{where}[{index}].content", "must be a string")
    elif kind is FieldKind.responses:
        if not isinstance(value, list) or len(value) < 2:
            raise ItemProblem(where, "must be a list of at least two responses")
        for index, response in enumerate(value):
            if isinstance(response, str):
                continue
            if not isinstance(response, dict) or not isinstance(response.get("text"), str):
                raise ItemProblem(f"{where}[{index}]", "must be a string or an object with a text string")
    return value


def derive_external_id(data: dict[str, Any]) -> str:
    """Items without an external_id get one from their content, so re-imports stay idempotent."""
    return "sha256:" + hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()[:40]


def _small_int(raw: dict[str, Any], key: str, low: int, high: int) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ItemProblem(key, f"must be an integer, got {type(value).__name__}")
    if not low <= value <= high:
        raise ItemProblem(key, f"must be between {low} and {high}, got {value}")
    return value


def parse_item(raw: Any, schema: LabelSchema) -> ItemInput:
    """Turn one parsed line into an item or raise ItemProblem naming the field and the reason.

    A line is either `{"data": {...}, "external_id"?, "metadata"?, "overlap"?, "priority"?}`
    or a flat object whose non-reserved keys are the data fields.
    """
    if not isinstance(raw, dict):
        raise ItemProblem("", f"must be a JSON object, got {type(raw).__name__}")
    if "data" in raw:
        data = raw["data"]
        if not isinstance(data, dict):
            raise ItemProblem("data", "must be an object")
        unknown = [k for k in raw if k not in RESERVED]
        if unknown:
            raise ItemProblem(unknown[0], "is not a known key; put item fields inside data")
    else:
        data = {k: v for k, v in raw.items() if k not in RESERVED}
    for spec in schema.fields:
        value = data.get(spec.name)
        if value is None or (value == "" and spec.kind is FieldKind.number):  # "": an empty CSV cell
            if spec.required:
                raise ItemProblem(f"data.{spec.name}", f"is required ({spec.kind.value} field)")
            if value is not None:
                data[spec.name] = None
            continue
        data[spec.name] = _check_field(spec, value, f"data.{spec.name}")
    meta = raw.get("metadata", {})
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise ItemProblem("metadata", "must be an object")
    external_id = raw.get("external_id")
    if external_id is None or external_id == "":
        external_id = derive_external_id(data)
    elif isinstance(external_id, int) and not isinstance(external_id, bool):
        external_id = str(external_id)
    elif not isinstance(external_id, str):
        raise ItemProblem("external_id", f"must be a string, got {type(external_id).__name__}")
    if len(external_id) > MAX_EXTERNAL_ID:
        raise ItemProblem("external_id", f"is longer than {MAX_EXTERNAL_ID} characters")
    overlap = _small_int(raw, "overlap", 1, MAX_OVERLAP)
    priority = _small_int(raw, "priority", -1_000_000, 1_000_000) or 0
    return ItemInput(external_id, data, meta, overlap, priority)
