"""COCO object detection JSON: images (one per item), categories (the box labels), annotations (boxes).

Boxes of every submitted annotation are written, each COCO annotation naming its labelvault annotation and
author in `attributes`. Pixel boxes need the image size: from the item's metadata `width`/`height` or its
media file. The file is streamed: annotations wait in a temporary file while the images are written.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from typing import IO, Any

import orjson

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


def _images(document: dict[str, Any]) -> dict[int, dict[str, Any]]:
    images: dict[int, dict[str, Any]] = {}
    for index, image in enumerate(_expect(document.get("images"), list, "images", "a list")):
        where = f"images[{index}]"
        _expect(image, dict, where, "an object")
        image_id = _expect(image.get("id"), int, f"{where}.id", "an integer")
        _expect(image.get("file_name"), str, f"{where}.file_name", "a string")
        for key in ("width", "height"):
            if _expect(image.get(key), int, f"{where}.{key}", "a positive integer") <= 0:
                raise FormatProblem(f"{where}.{key}", "expected a positive integer")
        images[image_id] = image
    return images


def read(handle: IO[bytes], schema: LabelSchema, report: Report) -> Iterator[Record]:
    """A COCO file back into records, one per image; bad annotations are reported and left out."""
    q = the_question(schema, "boxes")
    try:
        document = orjson.loads(handle.read())
    except orjson.JSONDecodeError as exc:
        raise FormatProblem("(file)", f"is not valid JSON ({exc})") from None
    _expect(document, dict, "(file)", "a COCO object with images, categories and annotations")
    names = {c.get("id"): c.get("name") for c in _expect(document.get("categories"), list, "categories", "a list")
             if isinstance(c, dict)}
    labels = {label.value for label in q.labels}
    images = _images(document)
    by_image: dict[int, dict[str, list[dict[str, Any]]]] = {}
    for index, box in enumerate(_expect(document.get("annotations", []), list, "annotations", "a list")):
        where = f"annotations[{index}]"
        try:
            _expect(box, dict, where, "an object")
            image = images.get(box.get("image_id"))
            if image is None:
                raise FormatProblem(f"{where}.image_id", f"no image has id {box.get('image_id')!r}")
            x, y, w, h = number_list(box.get("bbox"), 4, f"{where}.bbox")
            label = names.get(box.get("category_id"))
            if label not in labels:
                raise FormatProblem(f"{where}.category_id", f"names no label of {q.name!r} ({sorted(labels)})")
        except FormatProblem as problem:
            report.problem(index, problem.path, problem.reason)
            continue
        attributes = box.get("attributes") if isinstance(box.get("attributes"), dict) else {}
        key = str(attributes.get("annotation_id") or "")
        by_image.setdefault(image["id"], {}).setdefault(key, []).append({
            "x": x / image["width"], "y": y / image["height"], "width": w / image["width"],
            "height": h / image["height"], "label": label, "_author": attributes.get("author")})
    for image_id, image in images.items():
        annotations = []
        for key, found in by_image.get(image_id, {}).items():
            author = found[0].pop("_author", None)
            for box in found[1:]:
                box.pop("_author", None)
            annotations.append({"id": key or None, "author": author, "status": "submitted",
                                "answers": {q.name: found}})
        yield {"id": image.get("labelvault_item_id") or str(image_id),
               "external_id": image.get("external_id") or image["file_name"], "data": {q.field: image["file_name"]},
               "metadata": {"width": image["width"], "height": image["height"]}, "annotations": annotations}


FORMAT = Format("coco", "json", "application/json", "COCO object detection: images, categories, boxes.", write,
                read, frozenset({"boxes"}), needs_image_size=True, unit="images")
