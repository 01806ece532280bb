"""What of an item a person is shown: the organization's own people see everything; a vendor's people see
only the fields the schema shows to their vendor, the metadata keys it names, and personal data in fields
marked `redact` replaced by typed placeholders. Spans that vendors mark on redacted text are mapped back to
the original offsets before they are stored, and forward again when their work is shown to them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import orjson

from labelvault.projects.label_schema import FieldDef, LabelSchema, Redaction
from labelvault.redaction.redact import OffsetMap, Redactor, build_redactor
from labelvault.security.policy import Principal


@dataclass
class ItemView:
    data: dict[str, Any]
    meta: dict[str, Any]
    offsets: dict[str, OffsetMap] = field(default_factory=dict)  # redacted field -> offsets


def field_visible(definition: FieldDef, vendor_id: str | None) -> bool:
    if vendor_id is None or definition.visible_to == "all":
        return True
    if definition.visible_to == "in_house":
        return False
    return vendor_id in definition.visible_to


@lru_cache(maxsize=64)
def _redactor(settings: bytes) -> Redactor:
    parsed = Redaction.model_validate_json(settings)
    return build_redactor(parsed.detectors, patterns=parsed.patterns, words=dict(parsed.words.items()))


def redactor_of(schema: LabelSchema) -> Redactor:
    settings = schema.redaction or Redaction()
    return _redactor(orjson.dumps(settings.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS))


def view_item(principal: Principal, schema: LabelSchema, data: Mapping[str, Any],
              meta: Mapping[str, Any]) -> ItemView:
    """The item as the principal may see it."""
    vendor_id = principal.vendor_id
    if vendor_id is None:
        return ItemView(dict(data), dict(meta))
    shown: dict[str, Any] = {}
    offsets: dict[str, OffsetMap] = {}
    for definition in schema.fields:
        if definition.name not in data or not field_visible(definition, vendor_id):
            continue
        value = data[definition.name]
        if definition.redact and isinstance(value, str):
            redacted = redactor_of(schema).redact(value)
            shown[definition.name] = redacted.text
            offsets[definition.name] = redacted.offsets
        else:
            shown[definition.name] = value
    kept = {key: meta[key] for key in schema.vendor_metadata if key in meta}
    return ItemView(shown, kept, offsets)


def schema_for(principal: Principal, definition: Mapping[str, Any]) -> dict[str, Any]:
    """The schema definition as a vendor's people get it: hidden fields, the vendors named, the redaction
    settings and the metadata keys shown are left out."""
    if principal.vendor_id is None:
        return dict(definition)
    vendor_id = principal.vendor_id
    fields = []
    for raw in definition.get("fields", []):
        parsed = FieldDef.model_validate(raw)
        if field_visible(parsed, vendor_id):
            fields.append({k: v for k, v in raw.items() if k not in ("visible_to", "redact")})
    kept = {k: v for k, v in definition.items() if k not in ("redaction", "vendor_metadata")}
    kept["fields"] = fields
    return kept


def _span_questions(schema: LabelSchema) -> dict[str, str]:
    """spans question name -> the text field it marks."""
    return {q.name: q.field for q in schema.questions if q.type == "spans"}


def _hidden_questions(schema: LabelSchema, vendor_id: str) -> set[str]:
    hidden = {f.name for f in schema.fields if not field_visible(f, vendor_id)}
    return {q.name for q in schema.questions if getattr(q, "field", None) in hidden}


def answers_to_original(principal: Principal, schema: LabelSchema, view: ItemView,
                        answers: Mapping[str, Any]) -> dict[str, Any]:
    """A vendor's answers with spans on redacted text moved to the original text's offsets."""
    mapped = dict(answers)
    if principal.vendor_id is None or not view.offsets:
        return mapped
    for question, target in _span_questions(schema).items():
        offsets = view.offsets.get(target)
        spans = mapped.get(question)
        if offsets is None or not isinstance(spans, list):
            continue
        moved = []
        for span in spans:
            if isinstance(span, dict) and isinstance(span.get("start"), int) and isinstance(span.get("end"), int):
                start, end = offsets.to_original(span["start"], span["end"])
                span = {**span, "start": start, "end": end}
            moved.append(span)
        mapped[question] = moved
    return mapped


def answers_for_view(principal: Principal, schema: LabelSchema, view: ItemView,
                     answers: Mapping[str, Any]) -> dict[str, Any]:
    """Stored answers as a vendor's person sees them: spans moved onto the redacted text, answers about
    fields hidden from the vendor left out."""
    if principal.vendor_id is None:
        return dict(answers)
    hidden = _hidden_questions(schema, principal.vendor_id)
    mapped = {name: value for name, value in answers.items() if name not in hidden}
    for question, target in _span_questions(schema).items():
        offsets = view.offsets.get(target)
        spans = mapped.get(question)
        if offsets is None or not isinstance(spans, list):
            continue
        mapped[question] = [
            {**span, "start": offsets.to_redacted(span["start"], end=False),
             "end": offsets.to_redacted(span["end"], end=True)}
            if isinstance(span, dict) and isinstance(span.get("start"), int) and isinstance(span.get("end"), int)
            else span
            for span in spans]
    return mapped
