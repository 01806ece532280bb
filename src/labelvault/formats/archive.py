"""Zip archives for formats of one file per item (YOLO, Pascal VOC): written and read entry by entry."""

from __future__ import annotations

import posixpath
import zipfile
from collections.abc import Iterator
from typing import IO

from labelvault.formats.base import FormatProblem

MAX_ENTRY = 16 * 1024 * 1024


def stem(path: str) -> str:
    """An item's image path without its extension: the name of its label file inside the archive."""
    root, _ = posixpath.splitext(path.replace("\\", "/").lstrip("/"))
    return root


def open_zip(handle: IO[bytes]) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(handle)
    except zipfile.BadZipFile:
        raise FormatProblem("(file)", "is not a zip archive") from None


def entries(archive: zipfile.ZipFile, prefix: str, suffix: str) -> Iterator[tuple[str, bytes]]:
    """(name, content) of the archive's entries under `prefix` ending in `suffix`, in archive order."""
    for info in archive.infolist():
        name = info.filename
        if not name.startswith(prefix) or not name.endswith(suffix) or info.is_dir():
            continue
        if info.file_size > MAX_ENTRY:
            raise FormatProblem(name, f"is larger than {MAX_ENTRY} bytes")
        yield name, archive.read(info)


def put(archive: zipfile.ZipFile, name: str, content: bytes | str) -> None:
    """An entry with a fixed time, so that the same export makes the same archive."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, content)
