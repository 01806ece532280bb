"""Pausing Python's cycle collector for the length of an export, a bundle or a restore."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_pause_lock = threading.Lock()
_pauses = 0
_was_enabled = [True]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector off while an export or bundle runs (back on when the last one ends).

    An export makes millions of short-lived dicts and lists whose chunk stays alive for a moment, and the
    collector, counting those allocations, walked every live object of the process again and again: half the
    time of a Parquet export. What is written creates no reference cycles; other threads' cyclic garbage waits
    until the collector is back on."""
    global _pauses
    with _pause_lock:
        _pauses += 1
        if _pauses == 1:
            _was_enabled[0] = gc.isenabled()
            gc.disable()
    try:
        yield
    finally:
        with _pause_lock:
            _pauses -= 1
            if _pauses == 0 and _was_enabled[0]:
                gc.enable()
