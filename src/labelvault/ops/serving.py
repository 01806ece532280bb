"""Several server processes on one port, each with a listening socket of its own (SO_REUSEPORT).

With one listening socket shared by all processes (uvicorn's `--workers`), the process that wakes first
accepts every connection waiting: annotators' browsers and SDK clients keep their connections open, so a
burst of them (a team starting its shift, a proxy opening its pool) could all land on one process while the
others sat idle. With a socket per process the kernel spreads new connections over the processes.

The supervisor starts the processes, replaces one that dies, and on SIGINT or SIGTERM asks each to finish
its requests and stop. Elsewhere than on Linux, uvicorn's own supervisor is used.
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
import sys
import time
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from typing import Any

import uvicorn

APP = "labelvault.app:serve_app"
STOP_SECONDS = 30.0
# A process that ends this soon after starting, again and again, will not start (port taken, bad settings).
EARLY_EXIT_SECONDS = 5.0
EARLY_EXITS_ALLOWED = 3


def reuse_port_available() -> bool:
    """Linux spreads connections over the sockets bound with SO_REUSEPORT; other systems may not (on BSD and
    macOS one of the sockets takes them all)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def listening_socket(host: str, port: int) -> socket.socket:
    """A listening socket on (host, port) that other processes of this user may bind as well."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def _serve_one(host: str, port: int, options: dict[str, Any]) -> None:
    """One server process: its own socket, then uvicorn on it until told to stop."""
    sock = listening_socket(host, port)
    config = uvicorn.Config(APP, factory=True, host=host, port=port, **options)
    uvicorn.Server(config).run(sockets=[sock])


@dataclass
class _Running:
    process: BaseProcess
    started_at: float  # time.monotonic()


class Supervisor:
    def __init__(self, host: str, port: int, workers: int, options: dict[str, Any]) -> None:
        self.host, self.port, self.workers, self.options = host, port, workers, options
        self.context = multiprocessing.get_context("spawn")
        self.running: list[_Running] = []
        self.stopping = False
        self.early_exits = 0

    def _start(self) -> _Running:
        process = self.context.Process(target=_serve_one, args=(self.host, self.port, self.options),
                                       name="labelvault-server")
        process.start()
        return _Running(process, time.monotonic())

    def _stop(self, *_: Any) -> None:
        self.stopping = True

    def run(self) -> int:
        """Serve until SIGINT or SIGTERM; the exit status (1 when the processes could not be kept running)."""
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.running = [self._start() for _ in range(self.workers)]
            while not self.stopping:
                time.sleep(0.2)
                if not self._replace_ended():
                    return 1
            return 0
        finally:
            self._end_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _replace_ended(self) -> bool:
        """Start a new process for each that ended; False when they keep ending as soon as they start."""
        for n, each in enumerate(self.running):
            if each.process.is_alive() or self.stopping:
                continue
            if time.monotonic() - each.started_at < EARLY_EXIT_SECONDS:
                self.early_exits += 1
                if self.early_exits > EARLY_EXITS_ALLOWED:
                    return False
            self.running[n] = self._start()
        return True

    def _end_all(self) -> None:
        processes = [each.process for each in self.running]
        for process in processes:
            if process.is_alive() and process.pid is not None:
                process.terminate()  # SIGTERM: uvicorn finishes the requests in flight, then stops
        deadline = time.monotonic() + STOP_SECONDS
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()


def serve(host: str, port: int, workers: int, **options: Any) -> int:
    """Serve the app on (host, port) with `workers` processes; the exit status."""
    if workers <= 1 or not reuse_port_available():
        uvicorn.run(APP, factory=True, host=host, port=port, workers=workers, **options)
        return 0
    return Supervisor(host, port, workers, options).run()
