"""`batched`: every value once, in order, in lists of the size asked for (the last shorter), none empty."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from labelvault.kit.batches import batched


@pytest.mark.parametrize("count,size", [(0, 3), (1, 3), (3, 3), (7, 3), (9, 1)])
def test_batches_cover_every_value_in_order(count: int, size: int) -> None:
    batches = list(batched(range(count), size))
    assert [v for batch in batches for v in batch] == list(range(count))
    assert all(len(batch) == size for batch in batches[:-1])
    assert all(0 < len(batch) <= size for batch in batches)


def test_values_are_read_as_batches_are_consumed() -> None:
    read: list[int] = []

    def source() -> Iterator[int]:
        for n in range(10):
            read.append(n)
            yield n

    batches = batched(source(), 4)
    assert next(batches) == [0, 1, 2, 3]
    assert read == [0, 1, 2, 3]
