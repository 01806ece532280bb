"""Every format by name."""

from __future__ import annotations

from labelvault.formats import csv_table, hf
from labelvault.formats.base import Format

FORMATS: dict[str, Format] = {f.name: f for f in (csv_table.FORMAT, hf.HF_JSONL, hf.HF_PARQUET)}


def get_format(name: str) -> Format | None:
    return FORMATS.get(name)
