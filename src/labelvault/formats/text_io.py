"""Text over a binary file handle, handed back open (the caller owns the handle)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO


@contextmanager
def text_writer(out: IO[bytes]) -> Iterator[io.TextIOWrapper]:
    wrapper = io.TextIOWrapper(out, encoding="utf-8", newline="")
    try:
        yield wrapper
    finally:
        wrapper.flush()
        wrapper.detach()


@contextmanager
def text_reader(handle: IO[bytes]) -> Iterator[io.TextIOWrapper]:
    wrapper = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
    try:
        yield wrapper
    finally:
        wrapper.detach()
