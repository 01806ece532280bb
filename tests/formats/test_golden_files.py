"""Every exporter against a golden file made from fixed records (binary formats as a text rendering)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from labelvault.formats.base import Report
from labelvault.formats.registry import FORMATS
from labelvault.projects.label_schema import LabelSchema
from labelvault.testing import (
    BOXES_SCHEMA,
    PREFERENCE_SCHEMA,
    SPANS_SCHEMA,
    WRITING_SCHEMA,
    render_export,
    sample_records,
)

GOLDEN = Path(__file__).parent / "golden"
SCHEMAS = {"spans": SPANS_SCHEMA, "boxes": BOXES_SCHEMA, "preference": PREFERENCE_SCHEMA, "writing": WRITING_SCHEMA}
CASES = [("csv", "spans"), ("csv", "boxes"), ("hf_jsonl", "spans"), ("hf_parquet", "spans"), ("hf_parquet", "boxes"),
         ("label_studio", "spans"), ("label_studio", "boxes"), ("label_studio", "preference"),
         ("label_studio", "writing"), ("trl_dpo", "preference"), ("trl_sft", "writing"), ("trl_reward", "writing"),
         ("coco", "boxes"), ("yolo", "boxes"), ("voc", "boxes"), ("conll", "spans"), ("spacy_jsonl", "spans"),
         ("spacy_docbin", "spans")]


def export(name: str, kind: str) -> tuple[bytes, Report]:
    out, report = io.BytesIO(), Report()
    FORMATS[name].write(iter(sample_records(kind)), LabelSchema.model_validate(SCHEMAS[kind]), out, report)
    return out.getvalue(), report


def test_every_format_has_a_golden_file():
    assert {name for name, _ in CASES} == set(FORMATS)


@pytest.mark.parametrize(("name", "kind"), CASES)
def test_export_matches_its_golden_file(name, kind):
    content, _ = export(name, kind)
    assert render_export(name, content) == (GOLDEN / f"{name}-{kind}.golden").read_bytes()


def test_what_a_format_cannot_express_is_reported():
    _, report = export("label_studio", "preference")
    assert report.notes == ["preference: Label Studio's Pairwise has no tie; ties are left out"]
    _, report = export("conll", "spans")
    assert any("one annotation per item" in note for note in report.notes)
    _, report = export("csv", "spans")
    assert report.notes == [] and report.counts == {"items": 3, "annotations": 3}


def test_csv_neutralizes_formula_cells():
    content, _ = export("csv", "spans")
    assert b"'=SUM(A1) @home +1 -2" in content
    assert b"\n=" not in content and b",=" not in content
