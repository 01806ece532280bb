"""Zip archives for formats of one file per item (YOLO, Pascal VOC): written and read entry by entry.

Reading holds one entry at a time. Every member name is checked when the archive is opened (a name that is
absolute, climbs with `..`, or holds a backslash or NUL is refused, as the archive could be unpacked by some
other tool), and an entry is read in chunks, counting: an entry larger than `MAX_ENTRY`, by its declared size
or by what it actually inflates to, is refused (a zip bomb cannot make the reader hold more than that).
"""

from __future__ import annotations

import posixpath
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from typing import IO

from labelvault.formats.base import FormatProblem

MAX_ENTRY = 16 * 1024 * 1024
CHUNK = 1 << 16
SPOOL_IN_MEMORY = 8 * 1024 * 1024


def stem(path: str) -> str:
    """An item's image path without its extension: the name of its label file inside the archive."""
    root, _ = posixpath.splitext(path.replace("\\", "/").lstrip("/"))
    return root


def seekable(handle: IO[bytes]) -> IO[bytes]:
    """The handle itself if it can seek (a local file), else its content spooled to a temporary file (an object
    store's stream): readers that take several passes or jump to a zip's directory need to seek."""
    try:
        if handle.seekable():
            return handle
    except (AttributeError, ValueError):
        pass
    spooled = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - returned to the caller
    shutil.copyfileobj(handle, spooled, CHUNK)
    spooled.seek(0)
    return spooled


def check_name(name: str) -> None:
    """FormatProblem for a member name that could land outside the directory an archive is unpacked into."""
    parts = name.split("/")
    if (not name or name.startswith("/") or "\\" in name or "\x00" in name or ".." in parts
            or (len(name) > 1 and name[1] == ":")):
        raise FormatProblem(name, "is a name that could leave the directory the archive is unpacked into; "
                                  "the archive is refused")


def open_zip(handle: IO[bytes]) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(seekable(handle))
    except zipfile.BadZipFile:
        raise FormatProblem("(file)", "is not a zip archive") from None
    for info in archive.infolist():
        check_name(info.filename)
    return archive


def read_entry(archive: zipfile.ZipFile, member: str | zipfile.ZipInfo, limit: int = MAX_ENTRY) -> bytes:
    """One entry's content; FormatProblem if it is larger than `limit` bytes, declared or once inflated."""
    info = member if isinstance(member, zipfile.ZipInfo) else archive.getinfo(member)
    name = info.filename
    if info.file_size > limit:
        raise FormatProblem(name, f"is larger than {limit} bytes ({info.file_size} declared); it is refused")
    parts: list[bytes] = []
    size = 0
    try:
        with archive.open(info) as source:
            while chunk := source.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise FormatProblem(name, f"inflates to more than {limit} bytes (its declared size is "
                                              f"{info.file_size}); it is refused")
                parts.append(chunk)
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise FormatProblem(name, f"cannot be read from the archive ({exc})") from None
    return b"".join(parts)


def entries(archive: zipfile.ZipFile, prefix: str, suffix: str) -> Iterator[tuple[str, bytes]]:
    """(name, content) of the archive's entries under `prefix` ending in `suffix`, in archive order, one at a
    time."""
    for info in archive.infolist():
        name = info.filename
        if not name.startswith(prefix) or not name.endswith(suffix) or info.is_dir():
            continue
        yield name, read_entry(archive, info)


def lines(archive: zipfile.ZipFile, name: str) -> Iterator[str]:
    """The lines of a text entry, read as they come (an index of a million images is never held whole)."""
    info = archive.getinfo(name)
    try:
        with archive.open(info) as source:
            rest = b""
            while chunk := source.read(CHUNK):
                parts = (rest + chunk).split(b"\n")
                rest = parts.pop()
                if len(rest) > MAX_LINE:
                    raise FormatProblem(name, f"has a line longer than {MAX_LINE} bytes")
                for part in parts:
                    yield part.decode().rstrip("\r")
            if rest:
                yield rest.decode().rstrip("\r")
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise FormatProblem(name, f"cannot be read from the archive ({exc})") from None
    except UnicodeDecodeError:
        raise FormatProblem(name, "is not UTF-8 text") from None


MAX_LINE = 64 * 1024


def put(archive: zipfile.ZipFile, name: str, content: bytes | str) -> None:
    """An entry with a fixed time, so that the same export makes the same archive."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, content)
