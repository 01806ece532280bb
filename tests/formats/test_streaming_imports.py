"""Imports that hold one record at a time: COCO read in passes by an incremental parser (boxes before or after
their images, from a stream that cannot seek), YOLO and VOC zips entry by entry with names that could escape
and entries that inflate too far refused, spaCy DocBin bounded in size."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import orjson
import pytest

from labelvault.formats import archive, spacy_docs
from labelvault.formats.base import FormatProblem, Report
from labelvault.formats.registry import FORMATS
from labelvault.projects.label_schema import LabelSchema
from labelvault.testing import BOXES_SCHEMA, SPANS_SCHEMA

BOXES = LabelSchema.model_validate(BOXES_SCHEMA)
SPANS = LabelSchema.model_validate(SPANS_SCHEMA)


class OneWay(io.RawIOBase):
    """A stream that cannot seek, as an object store hands a file out."""

    def __init__(self, data: bytes) -> None:
        self.inner = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        chunk = self.inner.read(len(buffer))
        buffer[:len(chunk)] = chunk
        return len(chunk)


def _read(fmt: str, content: bytes | io.RawIOBase, schema: LabelSchema = BOXES):
    report = Report()
    handle = io.BytesIO(content) if isinstance(content, bytes) else content
    return list(FORMATS[fmt].read(handle, schema, report)), report  # type: ignore[misc]


def test_coco_annotations_may_come_before_their_images_and_the_file_need_not_seek():
    label = BOXES.questions[0].labels[0].value
    document = {
        "annotations": [{"id": n, "image_id": n % 50, "category_id": 1, "bbox": [1, 2, 3, 4]} for n in range(200)]
                       + [{"id": 999, "image_id": 77, "category_id": 1, "bbox": [1, 2, 3, 4]}],
        "categories": [{"id": 1, "name": label}],
        "images": [{"id": n, "file_name": f"img/{n}.png", "width": 10, "height": 20} for n in range(50)],
        "info": {"nested": {"images": [1, 2]}},
    }
    for source in (orjson.dumps(document), OneWay(orjson.dumps(document))):
        records, report = _read("coco", source)
        assert [r["external_id"] for r in records] == [f"img/{n}.png" for n in range(50)]
        boxes = records[3]["annotations"][0]["answers"][BOXES.questions[0].name]
        assert len(boxes) == 4 and boxes[0] == {"x": 0.1, "y": 0.1, "width": 0.3, "height": 0.2, "label": label}
        assert report.problems == [(200, "annotations[200].image_id", "no image has id 77")]


@pytest.mark.parametrize(("content", "path", "reason"), [
    (b"[1, 2]", "(file)", "expected a COCO object"),
    (b'{"images": {"id": 1}, "categories": []}', "images", "expected a list"),
    (b'{"categories": []}', "images", "expected a list"),
    (b'{"images": [{"id": 1, "file_name": "a", "width": 0, "height": 2}], "categories": []}', "images[0].width",
     "expected a positive integer"),
    (b'{"images": [', "(file)", "not valid JSON"),
])
def test_coco_problems_name_their_path(content, path, reason):
    with pytest.raises(FormatProblem) as problem:
        _read("coco", content)
    assert problem.value.path == path and reason in problem.value.reason


def _zip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as made:
        for name, data in entries.items():
            made.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data,
                          compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _yolo(extra: dict[str, bytes] | None = None, count: int = 3) -> bytes:
    label = BOXES.questions[0].labels[0].value
    entries = {"classes.txt": f"{label}\n".encode(),
               "images.txt": "".join(f"img/{n}.png\n" for n in range(count)).encode()}
    entries.update({f"labels/img/{n}.txt": b"0 0.5 0.5 0.2 0.2\n" for n in range(count)})
    entries.update(extra or {})
    return _zip(entries)


def test_yolo_is_read_image_by_image_from_a_stream():
    records, report = _read("yolo", OneWay(_yolo(count=300)))
    assert len(records) == 300 and report.problems == []
    assert records[299]["annotations"][0]["answers"][BOXES.questions[0].name][0]["width"] == pytest.approx(0.2)


@pytest.mark.parametrize("name", ["../evil.txt", "/etc/passwd", "labels/../../up.txt", "a\\b.txt", "C:/x.txt"])
@pytest.mark.parametrize("fmt", ["yolo", "voc"])
def test_archive_names_that_could_escape_are_refused(fmt, name):
    with pytest.raises(FormatProblem) as problem:
        _read(fmt, _yolo({name: b"x"}))
    assert problem.value.path == name and "could leave the directory" in problem.value.reason


def test_an_entry_larger_than_the_bound_is_refused_by_its_declared_size():
    bomb = _yolo({"labels/img/0.txt": b"0" * (archive.MAX_ENTRY + 1)})
    assert len(bomb) < 100_000  # it compresses very well
    with pytest.raises(FormatProblem) as problem:
        _read("yolo", bomb)
    assert problem.value.path == "labels/img/0.txt" and "larger than" in problem.value.reason


def _declare_smaller(content: bytes, name: str, size: int) -> bytes:
    """The archive with `name`'s declared (uncompressed) size changed in both headers, as a forged bomb has."""
    data = bytearray(content)
    encoded = name.encode()
    at = data.find(b"PK\x03\x04")
    while at != -1:
        if data[at + 30:at + 30 + len(encoded)] == encoded:
            struct.pack_into("<I", data, at + 22, size)
        at = data.find(b"PK\x03\x04", at + 4)
    at = data.find(b"PK\x01\x02")
    while at != -1:
        if data[at + 46:at + 46 + len(encoded)] == encoded:
            struct.pack_into("<I", data, at + 24, size)
        at = data.find(b"PK\x01\x02", at + 4)
    return bytes(data)


def test_an_entry_that_inflates_past_its_declared_size_is_refused():
    forged = _declare_smaller(_yolo({"labels/img/0.txt": b"0 0.5 0.5 0.2 0.2\n" * 5000}), "labels/img/0.txt", 10)
    with zipfile.ZipFile(io.BytesIO(forged)) as opened:
        assert opened.getinfo("labels/img/0.txt").file_size == 10
        with pytest.raises(FormatProblem) as problem:
            archive.read_entry(opened, "labels/img/0.txt", limit=5)
    assert "larger than 5 bytes" in problem.value.reason
    with zipfile.ZipFile(io.BytesIO(forged)) as opened, pytest.raises(FormatProblem) as problem:
        archive.read_entry(opened, "labels/img/0.txt", limit=1000)
    # What inflates past the declared size is never handed out: the entry is refused as damaged.
    assert problem.value.path == "labels/img/0.txt"


def test_a_docbin_too_large_or_inflating_too_far_is_refused(monkeypatch):
    monkeypatch.setattr(spacy_docs, "MAX_DOCBIN_BYTES", 1000)
    with pytest.raises(FormatProblem, match="cannot be streamed"):
        _read("spacy_docbin", b"x" * 1001, SPANS)
    monkeypatch.setattr(spacy_docs, "MAX_DOCBIN_INFLATED", 10_000)
    with pytest.raises(FormatProblem, match="inflates to more than"):
        _read("spacy_docbin", zlib.compress(b"\0" * 50_000), SPANS)
    with pytest.raises(FormatProblem, match="not zlib-compressed"):
        _read("spacy_docbin", b"plain bytes", SPANS)
