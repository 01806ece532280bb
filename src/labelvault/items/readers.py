"""Streaming readers for import files: JSONL, a JSON array, CSV. Constant memory in file size.

Each reader yields `Record(line, value, problem, position)`: the 1-based line where the record starts,
the parsed value (or None with a problem naming what is wrong), and the byte position after it.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import orjson

FORMATS = ("jsonl", "json", "csv")
CHUNK = 1 << 16
BOM = b"\xef\xbb\xbf"
_BAD_BYTE = re.compile("[\udc80-\udcff]")  # an undecodable byte, kept as by errors="surrogateescape"
BAD_BYTES = "labelvault-bad-bytes"
# How many undecodable bytes the readers met. Such bytes are rare: a reader looks for them in its
# records only once this changed, which keeps clean files fast. Shared by threads: it only has to change.
_bad_bytes_met = [0]


def _keep_bad_bytes(error: UnicodeError) -> tuple[str | bytes, int]:
    _bad_bytes_met[0] += 1
    return codecs.lookup_error("surrogateescape")(error)


codecs.register_error(BAD_BYTES, _keep_bad_bytes)


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
        return f"invalid UTF-8 at byte {exc.start + 1} of the line"
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
        if line_no == 1 and raw.startswith(BOM):
            raw = raw[len(BOM):]  # a byte order mark, as some editors write
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
            # Positions in the message count from the start of the line as it is in the file.
            yield Record(line_no, None, ("", _json_problem(raw.rstrip(b"\r\n"))), handle.tell())
            continue
        yield Record(line_no, value, None, handle.tell())


def read_json_array(handle: IO[bytes], max_line: int) -> Iterator[Record]:
    """A top-level JSON array, decoded element by element without loading the whole file.

    A bad element (not valid UTF-8, too long) is one rejected record; a JSON syntax error ends the
    file's reading, since nothing after it can be told apart reliably.
    """
    # Bad bytes are kept as lone surrogates, so they are found in their own element (with its line)
    # instead of failing the chunk they happen to be read with.
    decoder = codecs.getincrementaldecoder("utf-8")(errors=BAD_BYTES)
    bad_bytes_before = _bad_bytes_met[0]
    raw_decode = json.JSONDecoder(parse_constant=_refuse_constant).raw_decode
    buffer, pos, line, line_start = "", 0, 1, 0
    consumed_bytes = 0

    def refill() -> bool:
        nonlocal buffer, pos, consumed_bytes, line_start
        chunk = handle.read(CHUNK)
        consumed_bytes += len(chunk)
        text = decoder.decode(chunk, final=not chunk)
        if consumed_bytes == len(chunk) and text.startswith("\ufeff"):
            text = text[1:]  # a byte order mark, as some editors write
        newline = buffer.rfind("\n", 0, pos)
        line_start = newline + 1 - pos if newline >= 0 else line_start - pos
        buffer = buffer[pos:] + text
        pos = 0
        return bool(chunk)

    def skip_space() -> bool:
        nonlocal pos, line, line_start
        while True:
            while pos < len(buffer) and buffer[pos] in " \t\r\n":
                if buffer[pos] == "\n":
                    line += 1
                    line_start = pos + 1
                pos += 1
            if pos < len(buffer):
                return True
            if not refill():
                return False

    def column_of(at: int) -> int:
        newline = buffer.rfind("\n", 0, at)
        return at - newline if newline >= 0 else at - line_start + 1

    def line_of(start_line: int, at: int) -> int:
        return start_line + buffer.count("\n", pos, at)

    def syntax_error(start_line: int, message: str, at: int) -> _Fatal:
        where = line_of(start_line, at)
        if at < len(buffer) and _BAD_BYTE.match(buffer, at):
            return _Fatal(where, f"invalid UTF-8 at column {column_of(at)}")
        return _Fatal(where, f"invalid JSON: {message} at column {column_of(at)}")

    def decode_element(start_line: int) -> tuple[Any, int]:
        while True:
            try:
                value, end = raw_decode(buffer, pos)
            except _NotJson as exc:
                raise _Fatal(start_line, f"invalid JSON: {exc} is not a JSON value") from None
            except json.JSONDecodeError as exc:
                error = (exc.msg, exc.pos - pos)  # relative: refill() moves the buffer
                if len(buffer) - pos <= max_line:
                    if refill():
                        continue
                elif refill():
                    # More text changes the error only when the element ran past what was read: too long.
                    try:
                        raw_decode(buffer, pos)
                        again: tuple[str, int] | None = None
                    except _NotJson:
                        again = None
                    except json.JSONDecodeError as later:
                        again = (later.msg, later.pos - pos)
                    if again != error:
                        raise _Fatal(start_line, f"element is longer than the limit of {max_line} bytes") from None
                raise syntax_error(start_line, error[0], error[1] + pos) from None
            if end == len(buffer) and refill():
                continue  # a number may go on in the next chunk
            return value, end

    try:
        if not skip_space() or buffer[pos] != "[":
            raise _Fatal(line, "a JSON import must be an array of objects: it must start with '['")
        pos += 1
        expect_value = True
        while True:
            if not skip_space():
                raise _Fatal(line, "the JSON array is not closed with ']'")
            ch = buffer[pos]
            if ch == "]":
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
            value, end = decode_element(start_line)
            bad = None if _bad_bytes_met[0] == bad_bytes_before else _BAD_BYTE.search(buffer, pos, end)
            problem = None if bad is None else f"invalid UTF-8 on line {line_of(start_line, bad.start())}, " \
                                                  f"column {column_of(bad.start())}"
            size = end - pos
            if size > max_line // 4:
                size = len(buffer[pos:end].encode("utf-8", "surrogateescape"))
            newlines = buffer.count("\n", pos, end)
            if newlines:
                line += newlines
                line_start = buffer.rfind("\n", pos, end) + 1
            pos = end
            expect_value = False
            if problem is not None:
                yield Record(start_line, None, ("", problem), consumed_bytes)
            elif size > max_line:
                yield Record(start_line, None, ("", f"element is longer than the limit of {max_line} bytes"),
                             consumed_bytes)
            else:
                yield Record(start_line, value, None, consumed_bytes)
        if skip_space():
            raise _Fatal(line, "unexpected text after the closing ']' of the JSON array")
    except _Fatal as fatal:
        yield Record(fatal.line, None, ("", fatal.reason), consumed_bytes)


class _NotJson(ValueError):
    """NaN, Infinity or -Infinity: Python's json module reads them, JSON has no such values."""


def _refuse_constant(name: str) -> Any:
    raise _NotJson(name)


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


def _csv_key(column: str) -> str:
    """Where a CSV column goes in the item, as named in problems."""
    if column.startswith("metadata.") or column in ("external_id", "overlap", "priority"):
        return column
    return f"data.{column}"


def read_csv(handle: IO[bytes], max_line: int) -> Iterator[Record]:
    """A header row, then one item per row. Columns `metadata.<key>` go into metadata."""
    counter = _CountingReader(handle)
    # A bad byte is kept (as a lone surrogate) and reported on its own row, not for the whole chunk.
    bad_bytes_before = _bad_bytes_met[0]
    text = io.TextIOWrapper(io.BufferedReader(counter), encoding="utf-8-sig", errors=BAD_BYTES, newline="")
    csv.field_size_limit(max_line)
    reader = csv.reader(text)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        yield Record(1, None, ("", f"the header row cannot be read: {exc}"), counter.count)
        return
    header = [h.strip() for h in header]
    for column in header:
        if _BAD_BYTE.search(column):
            yield Record(1, None, ("", "the header row is not valid UTF-8"), counter.count)
            return
    while True:
        start_line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
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
        if _bad_bytes_met[0] != bad_bytes_before:
            bad = next((key for key, cell in zip(header, row, strict=True) if _BAD_BYTE.search(cell)), None)
            if bad is not None:
                yield Record(start_line, None, (_csv_key(bad), "is not valid UTF-8"), counter.count)
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
