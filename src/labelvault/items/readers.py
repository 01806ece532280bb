"""Streaming readers for import files: JSONL, a JSON array, CSV. Constant memory in file size.

Each reader yields `Record(line, value, problem, position)`: the 1-based line where the record starts,
the parsed value (or None with a problem naming what is wrong), and the byte position after it.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import orjson

FORMATS = ("jsonl", "json", "csv")
CHUNK = 1 << 16


@dataclass(slots=True)
class Record:
    line: int
    value: Any
    problem: tuple[str, str] | None  # (field, reason)
    position: int


def _describe_bad_bytes(raw: bytes) -> str | None:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"invalid UTF-8 at byte {exc.start} of the line"
    return None


def _json_problem(raw: bytes) -> str:
    bad = _describe_bad_bytes(raw)
    if bad:
        return bad
    try:
        json.loads(raw)
    except json.JSONDecodeError as exc:
        return f"invalid JSON: {exc.msg} at column {exc.colno}"
    return "invalid JSON"


def read_jsonl(handle: IO[bytes], max_line: int, *, start_line: int = 0) -> Iterator[Record]:
    """One JSON object per line; blank lines are skipped. Resume with `start_line` after seeking."""
    line_no = start_line
    readline = handle.readline
    while True:
        raw = readline(max_line + 1)
        if not raw:
            return
        line_no += 1
        if len(raw) > max_line and not raw.endswith(b"\n"):
            # Drain the rest of the oversized line.
            size = len(raw)
            while raw and not raw.endswith(b"\n"):
                raw = readline(CHUNK)
                size += len(raw)
            yield Record(line_no, None, ("", f"line is longer than the limit of {max_line} bytes"),
                         handle.tell())
            continue
        stripped = raw.strip()
        if not stripped:
            continue
        try:
            value = orjson.loads(stripped)
        except orjson.JSONDecodeError:
            yield Record(line_no, None, ("", _json_problem(stripped)), handle.tell())
            continue
        yield Record(line_no, value, None, handle.tell())


def read_json_array(handle: IO[bytes], max_line: int) -> Iterator[Record]:
    """A top-level JSON array, decoded element by element without loading the whole file."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    raw_decode = json.JSONDecoder().raw_decode
    buffer, pos, line, started, finished = "", 0, 1, False, False
    consumed_bytes = 0

    def refill() -> bool:
        nonlocal buffer, pos, consumed_bytes
        chunk = handle.read(CHUNK)
        consumed_bytes += len(chunk)
        try:
            text = decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            raise _Fatal(line, f"invalid UTF-8 near byte {consumed_bytes - len(chunk) + exc.start}") from None
        buffer = buffer[pos:] + text
        pos = 0
        return bool(chunk)

    def skip_space() -> bool:
        nonlocal pos, line
        while True:
            while pos < len(buffer) and buffer[pos] in " \t\r\n":
                if buffer[pos] == "\n":
                    line += 1
                pos += 1
            if pos < len(buffer):
                return True
            if not refill():
                return False

    try:
        if not skip_space() or buffer[pos] != "[":
            raise _Fatal(line, "a JSON import must be an array of objects: it must start with '['")
        pos += 1
        started = True
        expect_value = True
        while not finished:
            if not skip_space():
                raise _Fatal(line, "the JSON array is not closed with ']'")
            ch = buffer[pos]
            if ch == "]":
                finished = True
                pos += 1
                break
            if ch == ",":
                if expect_value:
                    raise _Fatal(line, "unexpected ',' in the JSON array")
                pos += 1
                expect_value = True
                continue
            if not expect_value:
                raise _Fatal(line, "expected ',' or ']' between array elements")
            start_line = line
            while True:
                try:
                    value, end = raw_decode(buffer, pos)
                    break
                except json.JSONDecodeError as exc:
                    if len(buffer) - pos > max_line:
                        raise _Fatal(start_line, f"element is longer than {max_line} bytes or invalid JSON: "
                                                 f"{exc.msg}") from None
                    if not refill():
                        raise _Fatal(start_line, f"invalid JSON: {exc.msg}") from None
            line += buffer.count("\n", pos, end)
            pos = end
            expect_value = False
            yield Record(start_line, value, None, consumed_bytes)
    except _Fatal as fatal:
        yield Record(fatal.line, None, ("", fatal.reason), consumed_bytes)
    _ = started


class _Fatal(Exception):
    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


class _CountingReader(io.RawIOBase):
    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.handle.read(len(buffer))
        buffer[: len(data)] = data
        self.count += len(data)
        return len(data)


def read_csv(handle: IO[bytes], max_line: int) -> Iterator[Record]:
    """A header row, then one item per row. Columns `metadata.<key>` go into metadata."""
    counter = _CountingReader(handle)
    text = io.TextIOWrapper(io.BufferedReader(counter), encoding="utf-8", newline="")
    csv.field_size_limit(max_line)
    reader = csv.reader(text)
    try:
        header = next(reader)
    except StopIteration:
        return
    except (UnicodeDecodeError, csv.Error) as exc:
        yield Record(1, None, ("", f"the header row cannot be read: {exc}"), counter.count)
        return
    header = [h.strip() for h in header]
    while True:
        start_line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError as exc:
            yield Record(start_line, None, ("", f"invalid UTF-8: {exc.reason}"), counter.count)
            return
        except csv.Error as exc:
            yield Record(start_line, None, ("", f"invalid CSV: {exc}"), counter.count)
            continue
        if not row or all(not cell for cell in row):
            continue
        if len(row) != len(header):
            yield Record(start_line, None, ("", f"has {len(row)} columns, the header has {len(header)}"),
                         counter.count)
            continue
        value: dict[str, Any] = {}
        meta: dict[str, Any] = {}
        for key, cell in zip(header, row, strict=True):
            if key.startswith("metadata."):
                meta[key[len("metadata."):]] = cell
            elif key in ("overlap", "priority"):
                if cell != "":
                    value[key] = cell
            else:
                value[key] = cell
        if meta:
            value["metadata"] = meta
        yield Record(start_line, value, None, counter.count)


def open_records(handle: IO[bytes], fmt: str, max_line: int) -> Iterator[Record]:
    if fmt == "jsonl":
        return read_jsonl(handle, max_line)
    if fmt == "json":
        return read_json_array(handle, max_line)
    if fmt == "csv":
        return read_csv(handle, max_line)
    raise ValueError(fmt)


def guess_format(filename: str) -> str | None:
    lowered = filename.lower()
    for suffix, fmt in ((".jsonl", "jsonl"), (".ndjson", "jsonl"), (".json", "json"), (".csv", "csv")):
        if lowered.endswith(suffix):
            return fmt
    return None
