"""Pascal VOC: a zip with one `Annotations/<image path without extension>.xml` per item (pixel boxes)."""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator
from typing import IO, Any
from xml.etree import ElementTree as ET  # noqa: S405 - expat refuses entity expansion bombs; no external entities

from labelvault.formats.archive import entries, open_zip, put, stem
from labelvault.formats.base import (
    Format,
    FormatProblem,
    Record,
    Report,
    first_submitted,
    image_size_of,
    the_question,
)
from labelvault.projects.label_schema import LabelSchema


def _element(parent: ET.Element, tag: str, text: str) -> ET.Element:
    child = ET.SubElement(parent, tag)
    child.text = text
    return child


def _document(record: Record, path: str, size: tuple[int, int], boxes: list[dict[str, Any]],
              report: Report) -> bytes:
    width, height = size
    root = ET.Element("annotation")
    _element(root, "folder", "images")
    _element(root, "filename", path)
    _element(root, "path", path)
    source = ET.SubElement(root, "source")
    _element(source, "database", "labelvault")
    _element(source, "item_id", str(record.get("id")))
    _element(source, "external_id", str(record.get("external_id")))
    size_node = ET.SubElement(root, "size")
    for tag, value in (("width", width), ("height", height), ("depth", 3)):
        _element(size_node, tag, str(value))
    _element(root, "segmented", "0")
    for box in boxes:
        corners = [f"{pixel:.1f}" for pixel in (box["x"] * width, box["y"] * height,
                                                (box["x"] + box["width"]) * width, (box["y"] + box["height"]) * height)]
        if float(corners[2]) <= float(corners[0]) or float(corners[3]) <= float(corners[1]):
            report.note("voc: boxes less than a tenth of a pixel wide or high are left out")
            continue
        obj = ET.SubElement(root, "object")
        _element(obj, "name", box["label"])
        _element(obj, "pose", "Unspecified")
        _element(obj, "truncated", "0")
        _element(obj, "difficult", "0")
        bndbox = ET.SubElement(obj, "bndbox")
        for tag, corner in zip(("xmin", "ymin", "xmax", "ymax"), corners, strict=True):
            _element(bndbox, tag, corner)
    ET.indent(root)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True)) + b"\n"


def write(records: Iterable[Record], schema: LabelSchema, out: IO[bytes], report: Report) -> None:
    q = the_question(schema, "boxes")
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for record in records:
            report.count("items")
            path = record["data"].get(q.field)
            size = image_size_of(record, q.field, report)
            if not isinstance(path, str) or size is None:
                continue
            annotation = first_submitted(record, "voc", report)
            boxes = [] if annotation is None else annotation["answers"].get(q.name) or []
            if annotation is not None:
                report.count("annotations")
            put(archive, f"Annotations/{stem(path)}.xml", _document(record, path, size, boxes, report))


def _text(node: ET.Element, path: str, where: str) -> str:
    found = node.findtext(path)
    if found is None or not found.strip():
        raise FormatProblem(f"{where}.{path.replace('/', '.')}", "is missing")
    return found.strip()


def _number(node: ET.Element, path: str, where: str) -> float:
    text = _text(node, path, where)
    try:
        return float(text)
    except ValueError:
        raise FormatProblem(f"{where}.{path.replace('/', '.')}", f"expected a number, got {text!r}") from None


def _record(name: str, content: bytes, q: Any, labels: set[str], report: Report, number: int) -> Record:
    try:
        root = ET.fromstring(content)  # noqa: S314 - see the import
    except ET.ParseError as exc:
        raise FormatProblem(name, f"is not well-formed XML ({exc})") from None
    path = _text(root, "filename", name)
    width, height = _number(root, "size/width", name), _number(root, "size/height", name)
    if width <= 0 or height <= 0:
        raise FormatProblem(f"{name}.size", "width and height must be positive")
    boxes = []
    for index, obj in enumerate(root.iter("object")):
        where = f"{name}.object[{index}]"
        try:
            label = _text(obj, "name", where)
            if label not in labels:
                raise FormatProblem(f"{where}.name", f"{label!r} is not a label of {q.name!r}")
            x0, y0, x1, y1 = (_number(obj, f"bndbox/{t}", where) for t in ("xmin", "ymin", "xmax", "ymax"))
            if x1 <= x0 or y1 <= y0:
                raise FormatProblem(f"{where}.bndbox", "xmax and ymax must be greater than xmin and ymin")
        except FormatProblem as problem:
            report.problem(number, problem.path, problem.reason)
            continue
        boxes.append({"x": x0 / width, "y": y0 / height, "width": (x1 - x0) / width, "height": (y1 - y0) / height,
                      "label": label})
    item_id = root.findtext("source/item_id") or path
    return {"id": item_id, "external_id": root.findtext("source/external_id") or path, "data": {q.field: path},
            "metadata": {"width": int(width), "height": int(height)},
            "annotations": [{"status": "submitted", "answers": {q.name: boxes}}] if boxes else []}


def read(handle: IO[bytes], schema: LabelSchema, report: Report) -> Iterator[Record]:
    q = the_question(schema, "boxes")
    labels = {label.value for label in q.labels}
    with open_zip(handle) as archive:
        for number, (name, content) in enumerate(entries(archive, "Annotations/", ".xml"), start=1):
            yield _record(name, content, q, labels, report, number)


FORMAT = Format("voc", "zip", "application/zip", "Pascal VOC: one Annotations/*.xml per image (pixel boxes).",
                write, read, frozenset({"boxes"}), needs_image_size=True, unit="files")
