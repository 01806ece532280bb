"""YOLO: a zip with `classes.txt` (one label per line), `images.txt` (each item's image path) and
`labels/<image path without extension>.txt` with one `class x_center y_center width height` line per box
(fractions of the image, as labelvault stores them, so no image size is needed)."""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from typing import IO

from labelvault.formats.archive import lines, open_zip, put, read_entry, stem
from labelvault.formats.base import Format, FormatProblem, Record, Report, first_submitted, the_question
from labelvault.projects.label_schema import LabelSchema


def _f(value: float) -> str:
    return f"{value:.6f}"


def write(records: Iterable[Record], schema: LabelSchema, out: IO[bytes], report: Report) -> None:
    q = the_question(schema, "boxes")
    labels = [label.value for label in q.labels]
    index = {label: n for n, label in enumerate(labels)}
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive, tempfile.TemporaryFile() as listing:
        put(archive, "classes.txt", "".join(f"{label}\n" for label in labels))
        for record in records:
            report.count("items")
            path = record["data"].get(q.field)
            if not isinstance(path, str):
                continue
            listing.write(path.encode() + b"\n")
            annotation = first_submitted(record, "yolo", report)
            lines = []
            if annotation is not None:
                report.count("annotations")
                for box in annotation["answers"].get(q.name) or []:
                    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
                    lines.append(f"{index[box['label']]} {_f(cx)} {_f(cy)} {_f(box['width'])} {_f(box['height'])}\n")
            put(archive, f"labels/{stem(path)}.txt", "".join(lines))
        # The list of images last: an archive takes one entry at a time, and the list waited in a file.
        listing.seek(0)
        with archive.open(zipfile.ZipInfo("images.txt", date_time=(1980, 1, 1, 0, 0, 0)), "w") as entry:
            shutil.copyfileobj(listing, entry)


def _box(line: str, where: str, labels: list[str]) -> dict[str, object]:
    parts = line.split()
    if len(parts) != 5:
        raise FormatProblem(where, f"expected 5 values (class x_center y_center width height), got {len(parts)}")
    try:
        cls = int(parts[0])
        cx, cy, w, h = (float(p) for p in parts[1:])
    except ValueError:
        raise FormatProblem(where, "expected an integer class and four numbers") from None
    if not 0 <= cls < len(labels):
        raise FormatProblem(where, f"class {cls} is not in classes.txt (0..{len(labels) - 1})")
    return {"x": cx - w / 2, "y": cy - h / 2, "width": w, "height": h, "label": labels[cls]}


def _has(archive: zipfile.ZipFile, name: str) -> bool:
    try:
        archive.getinfo(name)
    except KeyError:
        return False
    return True


def read(handle: IO[bytes], schema: LabelSchema, report: Report) -> Iterator[Record]:
    q = the_question(schema, "boxes")
    with open_zip(handle) as archive:
        for needed in ("classes.txt", "images.txt"):
            if not _has(archive, needed):
                raise FormatProblem("(file)", f"lacks {needed}")
        labels = [line.strip() for line in read_entry(archive, "classes.txt").decode().splitlines() if line.strip()]
        number = 0
        # images.txt is read line by line and each image's label file when its turn comes: one at a time.
        for path in lines(archive, "images.txt"):
            if not path:
                continue
            number += 1
            name = f"labels/{stem(path)}.txt"
            found = _has(archive, name)
            content = read_entry(archive, name) if found else b""
            boxes = []
            for line_number, line in enumerate(content.decode().splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    boxes.append(_box(line, f"{name}[{line_number}]", labels))
                except FormatProblem as problem:
                    report.problem(number, problem.path, problem.reason)
            annotations = [{"status": "submitted", "answers": {q.name: boxes}}] if found and boxes else []
            yield {"id": path, "external_id": path, "data": {q.field: path}, "annotations": annotations}


FORMAT = Format("yolo", "zip", "application/zip", "YOLO: classes.txt, images.txt, one labels/*.txt per image.",
                write, read, frozenset({"boxes"}), unit="images")
