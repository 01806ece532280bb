"""Property: for every format that can be read, export -> import -> export gives the same export."""

from __future__ import annotations

import io
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labelvault.formats.base import Report
from labelvault.formats.registry import FORMATS
from labelvault.projects.label_schema import LabelSchema
from labelvault.testing import BOXES_SCHEMA, PREFERENCE_SCHEMA, SPANS_SCHEMA, WRITING_SCHEMA, render_export

TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30)
WORDS = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=30)
SCORES = st.integers(1, 5)


def _maybe(answers: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=answers)


@st.composite
def _spans(draw: st.DrawFn, text: str) -> list[dict[str, Any]]:
    if not text:
        return []
    cuts = sorted(draw(st.sets(st.integers(0, len(text)), max_size=6)))
    pairs = [(a, b) for a, b in zip(cuts[::2], cuts[1::2], strict=False) if a < b]
    return [{"start": a, "end": b, "label": draw(st.sampled_from(["PER", "ORG", "LOC"]))} for a, b in pairs]


@st.composite
def _box(draw: st.DrawFn) -> dict[str, Any]:
    x, y = draw(st.floats(0, 0.9)), draw(st.floats(0, 0.9))
    return {"x": x, "y": y, "width": draw(st.floats(0.01, 1 - x)), "height": draw(st.floats(0.01, 1 - y)),
            "label": draw(st.sampled_from(["cat", "dog"]))}


@st.composite
def _answers(draw: st.DrawFn, kind: str, data: dict[str, Any]) -> dict[str, Any]:
    if kind == "spans":
        return draw(_maybe({"sentiment": st.sampled_from(["positive", "negative"]),
                            "topics": st.lists(st.sampled_from(["sport", "politics"]), unique=True),
                            "quality": SCORES, "entities": _spans(data["text"])}))
    if kind == "boxes":
        return draw(_maybe({"objects": st.lists(_box(), max_size=4)}))
    if kind == "preference":
        n = len(data["responses"])
        return draw(_maybe({"preference": st.fixed_dictionaries({"choice": st.sampled_from(["a", "b", "tie"])}),
                            "order": st.permutations(list(range(n)))}))
    criterion = st.fixed_dictionaries({"score": SCORES}, optional={"comment": WORDS})
    return draw(_maybe({"answer": WORDS, "grades": st.fixed_dictionaries({"helpful": criterion, "honest": criterion})}))


def _data(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    if kind == "spans":
        return st.fixed_dictionaries({"text": TEXT})
    if kind == "boxes":
        return st.fixed_dictionaries({"image": st.from_regex(r"[a-z]{1,6}/[a-z0-9]{1,6}\.(png|jpg)", fullmatch=True)})
    if kind == "preference":
        return st.fixed_dictionaries({"prompt": WORDS, "responses": st.lists(WORDS, min_size=2, max_size=4)})
    return st.fixed_dictionaries({"prompt": st.sampled_from(["p1", "p2"]), "response": WORDS})


@st.composite
def records(draw: st.DrawFn, kind: str) -> list[dict[str, Any]]:
    out = []
    paths: set[str] = set()
    for n in range(draw(st.integers(1, 4))):
        data = draw(_data(kind))
        if kind == "boxes":
            if data["image"] in paths:
                continue
            paths.add(data["image"])
        annotations = [{"id": f"ann-{n}-{a}", "author": f"a{a}@example.test", "status": "submitted",
                        "answers": draw(_answers(kind, data))} for a in range(draw(st.integers(0, 2)))]
        predictions = [{"model_name": "m", "model_version": str(v), "score": None,
                        "answers": draw(_answers(kind, data))} for v in range(draw(st.integers(0, 1)))]
        out.append({"id": f"item-{n}", "external_id": f"ext-{n}", "state": "new", "data": data,
                    "metadata": {"width": draw(st.integers(1, 4000)), "height": draw(st.integers(1, 4000))},
                    "annotations": annotations, "predictions": predictions})
    return out


SCHEMAS = {"spans": SPANS_SCHEMA, "boxes": BOXES_SCHEMA, "preference": PREFERENCE_SCHEMA, "writing": WRITING_SCHEMA}
READABLE = [("csv", "spans"), ("csv", "preference"), ("hf_jsonl", "spans"), ("hf_jsonl", "writing"),
            ("hf_parquet", "spans"), ("hf_parquet", "boxes"), ("hf_parquet", "preference"), ("hf_parquet", "writing"),
            ("label_studio", "spans"), ("label_studio", "boxes"), ("label_studio", "preference"),
            ("label_studio", "writing"), ("trl_dpo", "preference"), ("trl_sft", "writing"), ("trl_reward", "writing"),
            ("coco", "boxes"), ("yolo", "boxes"), ("voc", "boxes"), ("conll", "spans"), ("spacy_jsonl", "spans"),
            ("spacy_docbin", "spans")]


def _export(name: str, schema: LabelSchema, rows: list[dict[str, Any]]) -> bytes:
    out = io.BytesIO()
    FORMATS[name].write(iter(rows), schema, out, Report())
    return out.getvalue()


def test_every_readable_format_is_round_tripped():
    assert {name for name, _ in READABLE} == {name for name, f in FORMATS.items() if f.read is not None}


@pytest.mark.parametrize(("name", "kind"), READABLE)
def test_export_import_export_is_stable(name, kind):
    schema = LabelSchema.model_validate(SCHEMAS[kind])
    fmt = FORMATS[name]
    assert fmt.read is not None

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(records(kind))
    def check(rows: list[dict[str, Any]]) -> None:
        first = _export(name, schema, rows)
        report = Report()
        back = list(fmt.read(io.BytesIO(first), schema, report))
        assert report.problems == []
        second = _export(name, schema, back)
        assert render_export(name, second) == render_export(name, first)

    check()
