"""A few threads that run blocking calls for an event loop, each taking the next call as soon as it is done."""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_STOP = None


class WorkerThreads:
    """`await workers.run(fn, *args)` runs `fn(*args)` on one of `count` threads and answers its result (or
    raises its exception) on the caller's event loop.

    Lighter per call than `anyio.to_thread.run_sync` (one lock-free queue put and one wake-up of the loop, no
    capacity limiter, cancel scope or context copy): it is for the few calls made by every request of a hot
    route. A call whose caller was cancelled still runs to its end; its answer is dropped. The threads start
    on the first call and end with `close()` (or with the process: they are daemons).
    """

    def __init__(self, count: int, name: str) -> None:
        if count < 1:
            raise ValueError("at least one worker thread")
        self.count = count
        self.name = name
        self._calls: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        if not self._threads:
            self._start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._calls.put((loop, future, fn, args))
        return await future

    def _start(self) -> None:
        with self._lock:
            if self._threads:
                return
            threads = [threading.Thread(target=self._work, name=f"{self.name}-{n}", daemon=True)
                       for n in range(self.count)]
            for thread in threads:
                thread.start()
            self._threads = threads

    def _work(self) -> None:
        while (call := self._calls.get()) is not _STOP:
            loop, future, fn, args = call
            try:
                answer: tuple[Any, BaseException | None] = (fn(*args), None)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller, whatever it is
                answer = (None, exc)
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits for the answer
                loop.call_soon_threadsafe(_settle, future, *answer)

    def close(self) -> None:
        """Let the calls already queued finish, then end the threads."""
        with self._lock:
            threads, self._threads = self._threads, []
        for _ in threads:
            self._calls.put(_STOP)
        for thread in threads:
            thread.join()


def _settle(future: asyncio.Future[Any], result: Any, exc: BaseException | None) -> None:
    if future.cancelled():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)
