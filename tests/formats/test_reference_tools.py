"""Exports read by the tools people train with: datasets, pycocotools, seqeval, spaCy (a blank model)."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import datasets
import pytest
import spacy
from pycocotools.coco import COCO
from seqeval.metrics.sequence_labeling import get_entities
from spacy.tokens import DocBin

from labelvault.formats.base import Report
from labelvault.formats.registry import FORMATS
from labelvault.projects.label_schema import LabelSchema
from labelvault.testing import BOXES_SCHEMA, PREFERENCE_SCHEMA, SPANS_SCHEMA, WRITING_SCHEMA, sample_records


def _write(tmp_path, name: str, schema: dict[str, Any], kind: str) -> Any:
    fmt = FORMATS[name]
    path = tmp_path / f"{name}.{fmt.extension}"
    with path.open("wb") as out:
        fmt.write(iter(sample_records(kind)), LabelSchema.model_validate(schema), out, Report())
    return path


def _load(tmp_path, builder: str, path) -> datasets.Dataset:
    return datasets.load_dataset(builder, data_files=str(path), split="train", cache_dir=str(tmp_path / "cache"))


@pytest.mark.parametrize(("name", "builder"), [("hf_jsonl", "json"), ("hf_parquet", "parquet")])
def test_hugging_face_exports_load_with_datasets(tmp_path, name, builder):
    table = _load(tmp_path, builder, _write(tmp_path, name, SPANS_SCHEMA, "spans"))
    assert table.num_rows == 4
    assert table["external_id"] == ["ext-1", "ext-1", "ext-2", "ext-3"]
    assert table["answer.sentiment"] == ["positive", "negative", "negative", None]
    entities = table["answer.entities"][0]
    assert entities[2] == {"start": 36, "end": 42, "label": "LOC"}


def test_trl_dpo_rows_have_the_preference_columns(tmp_path):
    table = _load(tmp_path, "json", _write(tmp_path, "trl_dpo", PREFERENCE_SCHEMA, "preference"))
    assert table.column_names == ["prompt", "chosen", "rejected"]
    assert table.features["chosen"].dtype == "string"
    first = table[0]
    assert first == {"prompt": "What is the capital of France?", "chosen": "Paris is the capital.",
                     "rejected": "Lyon is the capital."}
    # Pairwise a (1 row), ranking 2 > 0 > 1 (3 rows), tie left out, ranking 0 > 2 > 1 (3), item 2: b, 1 > 0.
    assert table.num_rows == 9
    assert all(row["chosen"] != row["rejected"] for row in table)


def test_trl_sft_rows_are_conversations(tmp_path):
    table = _load(tmp_path, "json", _write(tmp_path, "trl_sft", WRITING_SCHEMA, "writing"))
    assert table.column_names == ["messages"]
    assert [m["role"] for m in table[0]["messages"]] == ["user", "assistant"]
    assert table[1]["messages"][1]["content"] == "Grey sky, falling drops"


def test_trl_reward_pairs_follow_the_rubric_scores(tmp_path):
    table = _load(tmp_path, "json", _write(tmp_path, "trl_reward", WRITING_SCHEMA, "writing"))
    assert table.column_names == ["prompt", "chosen", "rejected"]
    assert table.to_list() == [{"prompt": "Write a haiku about rain.", "chosen": "Rain on the tin roof",
                                "rejected": "It is sunny."}]


def test_coco_export_loads_with_pycocotools(tmp_path):
    coco = COCO(str(_write(tmp_path, "coco", BOXES_SCHEMA, "boxes")))
    assert sorted(c["name"] for c in coco.loadCats(coco.getCatIds())) == ["cat", "dog"]
    assert len(coco.getImgIds()) == 2
    [image] = coco.loadImgs(coco.getImgIds(catIds=coco.getCatIds(catNms=["cat"])))
    assert (image["file_name"], image["width"], image["height"]) == ("photos/one.png", 640, 480)
    boxes = coco.loadAnns(coco.getAnnIds(imgIds=[image["id"]]))
    assert [b["bbox"] for b in boxes] == [[64.0, 96.0, 192.0, 192.0], [320.0, 240.0, 160.0, 240.0]]


def test_conll_tags_are_read_by_seqeval(tmp_path):
    text = _write(tmp_path, "conll", SPANS_SCHEMA, "spans").read_text()
    documents = [d for d in text.split("-DOCSTART- -X- -X- O\n\n") if d.strip()]
    tokens = [line.split() for line in documents[0].splitlines() if line]
    entities = get_entities([t[-1] for t in tokens])
    words = [t[0] for t in tokens]
    assert [(label, " ".join(words[a:b + 1])) for label, a, b in entities] == [
        ("PER", "Ada Lovelace"), ("PER", "Charles Babbage"), ("LOC", "London")]


def test_spacy_docbin_loads_with_a_blank_model(tmp_path):
    content = _write(tmp_path, "spacy_docbin", SPANS_SCHEMA, "spans").read_bytes()
    nlp = spacy.blank("en")
    docs = list(DocBin().from_bytes(content).get_docs(nlp.vocab))
    assert len(docs) == 3
    assert [(e.text, e.label_) for e in docs[0].ents] == [
        ("Ada Lovelace", "PER"), ("Charles Babbage", "PER"), ("London", "LOC")]
    assert docs[0].user_data["external_id"] == "ext-1"


def test_yolo_and_voc_archives_hold_one_file_per_image(tmp_path):
    with zipfile.ZipFile(_write(tmp_path, "yolo", BOXES_SCHEMA, "boxes")) as archive:
        assert archive.read("classes.txt") == b"cat\ndog\n"
        assert archive.read("images.txt") == b"photos/one.png\nphotos/two.jpg\n"
        lines = archive.read("labels/photos/one.txt").decode().splitlines()
        assert lines == ["0 0.250000 0.400000 0.300000 0.400000", "1 0.625000 0.750000 0.250000 0.500000"]
    with zipfile.ZipFile(_write(tmp_path, "voc", BOXES_SCHEMA, "boxes")) as archive:
        xml = archive.read("Annotations/photos/one.xml").decode()
        assert "<xmin>64.0</xmin>" in xml and "<ymax>480.0</ymax>" in xml and "<width>640</width>" in xml


def test_spacy_jsonl_lines_are_text_with_character_spans(tmp_path):
    text = _write(tmp_path, "spacy_jsonl", SPANS_SCHEMA, "spans").read_text()
    lines = [json.loads(line) for line in io.StringIO(text)]
    assert lines[0]["spans"][0] == {"start": 0, "end": 12, "label": "PER"}
    assert lines[0]["text"][0:12] == "Ada Lovelace"
