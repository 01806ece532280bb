"""Cutting a stream into lists of a fixed size (the last one shorter), for work done a batch at a time."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def batched(values: Iterable[T], size: int) -> Iterator[list[T]]:
    """`values` in lists of `size` (the last one may be shorter; none is empty), read as they are consumed."""
    batch: list[T] = []
    for value in values:
        batch.append(value)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
