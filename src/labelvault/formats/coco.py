"""COCO object detection JSON: images (one per item), categories (the box labels), annotations (boxes).

Boxes of every submitted annotation are written, each COCO annotation naming its labelvault annotation and
author in `attributes`. Pixel boxes need the image size: from the item's metadata `width`/`height` or its
media file. The file is streamed: annotations wait in a temporary file while the images are written.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO, Any

import ijson
import orjson

from labelvault.formats.archive import seekable
from labelvault.formats.base import (
    Format,
    FormatProblem,
    Record,
    Report,
    image_size_of,
    number_list,
    submitted,
    the_question,
)
from labelvault.projects.label_schema import LabelSchema

SPILL_ROWS = 5000


def _round(value: float) -> float:
    return round(value, 3)


def write(records: Iterable[Record], schema: LabelSchema, out: IO[bytes], report: Report) -> None:
    q = the_question(schema, "boxes")
    categories = [{"id": n, "name": label.value, "supercategory": ""} for n, label in enumerate(q.labels, start=1)]
    category_of = {c["name"]: c["id"] for c in categories}
    out.write(b'{"info":{"description":"labelvault export"},"licenses":[],"categories":')
    out.write(orjson.dumps(categories) + b',"images":[')
    box_id = 0
    with tempfile.TemporaryFile() as boxes:
        first_image = True
        for image_id, record in enumerate(records, start=1):
            report.count("items")
            size = image_size_of(record, q.field, report)
            if size is None:
                continue
            width, height = size
            image = {"id": image_id, "file_name": record["data"].get(q.field), "width": width, "height": height,
                     "labelvault_item_id": record.get("id"), "external_id": record.get("external_id")}
            out.write((b"" if first_image else b",") + orjson.dumps(image))
            first_image = False
            for annotation in submitted(record):
                report.count("annotations")
                for box in annotation["answers"].get(q.name) or []:
                    box_id += 1
                    bbox = [_round(box["x"] * width), _round(box["y"] * height), _round(box["width"] * width),
                            _round(box["height"] * height)]
                    boxes.write((b"," if box_id > 1 else b"") + orjson.dumps({
                        "id": box_id, "image_id": image_id, "category_id": category_of[box["label"]], "bbox": bbox,
                        "area": _round(bbox[2] * bbox[3]), "iscrowd": 0, "segmentation": [],
                        "attributes": {"annotation_id": annotation.get("id"), "author": annotation.get("author")}}))
        out.write(b'],"annotations":[')
        boxes.seek(0)
        while chunk := boxes.read(1 << 20):
            out.write(chunk)
    out.write(b"]}\n")
    if len(schema.questions) > 1:
        report.note("coco holds only the boxes question; other answers are left out")


def _expect(value: Any, kind: type | tuple[type, ...], path: str, what: str) -> Any:
    if not isinstance(value, kind) or isinstance(value, bool):
        raise FormatProblem(path, f"expected {what}")
    return value


def _check_image(image: Any, where: str) -> dict[str, Any]:
    _expect(image, dict, where, "an object")
    _expect(image.get("id"), int, f"{where}.id", "an integer")
    _expect(image.get("file_name"), str, f"{where}.file_name", "a string")
    for key in ("width", "height"):
        if _expect(image.get(key), int, f"{where}.{key}", "a positive integer") <= 0:
            raise FormatProblem(f"{where}.{key}", "expected a positive integer")
    return dict(image)


def _stream(handle: IO[bytes], prefix: str) -> Iterator[Any]:
    """The values under `prefix` (`images.item`, ...), parsed one at a time from the start of the file."""
    handle.seek(0)
    try:
        yield from ijson.items(handle, prefix, use_float=True)
    except ijson.JSONError as exc:
        raise FormatProblem("(file)", f"is not valid JSON ({exc})") from None


def _top_level_is_an_object(handle: IO[bytes]) -> None:
    handle.seek(0)
    try:
        first = next(ijson.parse(handle), None)
    except ijson.JSONError as exc:
        raise FormatProblem("(file)", f"is not valid JSON ({exc})") from None
    if first is None or first[1] != "start_map":
        raise FormatProblem("(file)", "expected a COCO object with images, categories and annotations")


def _keys(handle: IO[bytes]) -> set[str]:
    """The top-level keys that hold lists (a pass over the file's events, holding nothing)."""
    handle.seek(0)
    found: set[str] = set()
    try:
        for prefix, event, _ in ijson.parse(handle):
            if event == "start_array" and prefix in ("images", "categories", "annotations"):
                found.add(prefix)
            elif event in ("start_map", "string", "number", "boolean", "null") and prefix in (
                    "images", "categories", "annotations"):
                raise FormatProblem(prefix, "expected a list")
    except ijson.JSONError as exc:
        raise FormatProblem("(file)", f"is not valid JSON ({exc})") from None
    return found


def read(handle: IO[bytes], schema: LabelSchema, report: Report) -> Iterator[Record]:
    """A COCO file back into records, one per image; bad annotations are reported and left out.

    Constant memory whatever the file's size: the file is read in passes (categories, then annotations, then
    images) by an incremental parser, and the boxes wait in a temporary SQLite file, by image, until their
    image comes by. Only the categories (a few labels) are held."""
    q = the_question(schema, "boxes")
    source = seekable(handle)
    _top_level_is_an_object(source)
    present = _keys(source)
    for key in ("images", "categories"):
        if key not in present:
            raise FormatProblem(key, "expected a list")
    names = {c.get("id"): c.get("name") for c in _stream(source, "categories.item") if isinstance(c, dict)}
    labels = {label.value for label in q.labels}
    with tempfile.TemporaryDirectory(prefix="lv-coco-") as scratch:
        boxes = sqlite3.connect(f"{scratch}/boxes.sqlite")
        try:
            boxes.execute("CREATE TABLE boxes (image_id, n INTEGER, box TEXT)")
            boxes.execute("CREATE TABLE images (id PRIMARY KEY)")
            pending: list[tuple[Any, int, bytes]] = []
            for index, box in enumerate(_stream(source, "annotations.item")):
                where = f"annotations[{index}]"
                try:
                    _expect(box, dict, where, "an object")
                    number_list(box.get("bbox"), 4, f"{where}.bbox")
                    label = names.get(box.get("category_id"))
                    if label not in labels:
                        raise FormatProblem(f"{where}.category_id", f"names no label of {q.name!r} ({sorted(labels)})")
                except FormatProblem as problem:
                    report.problem(index, problem.path, problem.reason)
                    continue
                image_id = box.get("image_id")
                pending.append((image_id if isinstance(image_id, int | str) else orjson.dumps(image_id).decode(),
                                index, orjson.dumps({**box, "_label": label})))
                if len(pending) >= SPILL_ROWS:
                    boxes.executemany("INSERT INTO boxes VALUES (?, ?, ?)", pending)
                    pending = []
            boxes.executemany("INSERT INTO boxes VALUES (?, ?, ?)", pending)
            boxes.execute("CREATE INDEX boxes_by_image ON boxes (image_id, n)")
            for index, given in enumerate(_stream(source, "images.item")):
                image = _check_image(given, f"images[{index}]")
                boxes.execute("INSERT OR IGNORE INTO images VALUES (?)", (image["id"],))
                found = boxes.execute("SELECT box FROM boxes WHERE image_id = ? ORDER BY n", (image["id"],))
                yield _record(q, image, [orjson.loads(row[0]) for row in found])
            missing = boxes.execute("SELECT n, image_id FROM boxes WHERE image_id NOT IN (SELECT id FROM images) "
                                    "ORDER BY n")
            for index, image_id in missing:
                report.problem(index, f"annotations[{index}].image_id", f"no image has id {image_id!r}")
        finally:
            boxes.close()


def _record(q: Any, image: dict[str, Any], given: list[dict[str, Any]]) -> Record:
    by_key: dict[str, list[dict[str, Any]]] = {}
    for box in given:
        x, y, w, h = (float(v) for v in box["bbox"])
        given_attributes = box.get("attributes")
        attributes: dict[str, Any] = given_attributes if isinstance(given_attributes, dict) else {}
        key = str(attributes.get("annotation_id") or "")
        by_key.setdefault(key, []).append({
            "x": x / image["width"], "y": y / image["height"], "width": w / image["width"],
            "height": h / image["height"], "label": box["_label"], "_author": attributes.get("author")})
    annotations = []
    for key, found in by_key.items():
        author = found[0].pop("_author", None)
        for box in found[1:]:
            box.pop("_author", None)
        annotations.append({"id": key or None, "author": author, "status": "submitted", "answers": {q.name: found}})
    return {"id": image.get("labelvault_item_id") or str(image["id"]),
            "external_id": image.get("external_id") or image["file_name"], "data": {q.field: image["file_name"]},
            "metadata": {"width": image["width"], "height": image["height"]}, "annotations": annotations}


FORMAT = Format("coco", "json", "application/json", "COCO object detection: images, categories, boxes.", write,
                read, frozenset({"boxes"}), needs_image_size=True, unit="images")
