"""WorkerThreads: calls run on its threads, at most `count` at once, with their results and exceptions."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from labelvault.kit.workers import WorkerThreads


def test_calls_run_on_the_threads_and_answer_on_the_loop() -> None:
    workers = WorkerThreads(2, "test")

    async def main() -> list[tuple[str, int]]:
        return await asyncio.gather(*(workers.run(lambda n: (threading.current_thread().name, n * n), n)
                                      for n in range(10)))

    try:
        answers = asyncio.run(main())
    finally:
        workers.close()
    assert [n for _, n in answers] == [n * n for n in range(10)]
    assert {name for name, _ in answers} <= {"test-0", "test-1"}
    assert threading.current_thread().name not in {name for name, _ in answers}


def test_at_most_count_calls_run_at_once() -> None:
    workers = WorkerThreads(3, "test")
    running = 0
    most = 0
    lock = threading.Lock()

    def call() -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.02)
        with lock:
            running -= 1

    async def main() -> None:
        await asyncio.gather(*(workers.run(call) for _ in range(12)))

    try:
        asyncio.run(main())
    finally:
        workers.close()
    assert most == 3


def test_an_exception_reaches_the_caller_and_the_thread_goes_on() -> None:
    workers = WorkerThreads(1, "test")

    def fail() -> None:
        raise LookupError("no such thing")

    async def main() -> int:
        with pytest.raises(LookupError, match="no such thing"):
            await workers.run(fail)
        return await workers.run(lambda: 7)

    try:
        assert asyncio.run(main()) == 7
    finally:
        workers.close()


def test_close_ends_the_threads() -> None:
    workers = WorkerThreads(2, "closing")
    asyncio.run(workers.run(lambda: None))
    workers.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("closing-")]
    with pytest.raises(ValueError):
        WorkerThreads(0, "none")
