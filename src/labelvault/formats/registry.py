"""Every format by name."""

from __future__ import annotations

from labelvault.formats import coco, conll, csv_table, hf, label_studio, spacy_docs, trl, voc, yolo
from labelvault.formats.base import Format

FORMATS: dict[str, Format] = {f.name: f for f in (
    csv_table.FORMAT, hf.HF_JSONL, hf.HF_PARQUET, trl.TRL_DPO, trl.TRL_SFT, trl.TRL_REWARD, label_studio.FORMAT,
    coco.FORMAT, yolo.FORMAT, voc.FORMAT, conll.FORMAT, spacy_docs.SPACY_JSONL, spacy_docs.SPACY_DOCBIN)}


def get_format(name: str) -> Format | None:
    return FORMATS.get(name)
