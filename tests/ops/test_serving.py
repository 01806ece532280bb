"""`labelvault serve --workers N`: a listening socket per process, connections spread over the processes, an
ended process replaced, and a clean stop on SIGTERM."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from labelvault.ops.serving import reuse_port_available
from labelvault.testing import fresh_database, start_server

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not reuse_port_available(), reason="Linux only spreads connections")]

LISTEN, ESTABLISHED = "0A", "01"
T = TypeVar("T")


def _sockets(port: int, state: str) -> set[str]:
    """Inodes of this machine's TCP sockets with local port `port` in `state`."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
                found.add(fields[9])
    return found


def _owners(inodes: set[str]) -> dict[str, int]:
    """Which process holds each socket inode."""
    owners = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            links = [os.readlink(fd) for fd in (entry / "fd").iterdir()]
        except OSError:
            continue
        for link in links:
            if link.startswith("socket:[") and link[8:-1] in inodes:
                owners[link[8:-1]] = int(entry.name)
    return owners


def _until(check: Callable[[], T | None], seconds: float = 30) -> T:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("timed out")


def _listeners(port: int, count: int) -> dict[str, int] | None:
    owners = _owners(_sockets(port, LISTEN))
    return owners if len(set(owners.values())) == count else None


def test_server_processes_listen_each_on_its_own_socket(tmp_path: Path) -> None:
    with fresh_database("sqlite", tmp_path) as url:
        (tmp_path / "data").mkdir()
        server = start_server(tmp_path / "data", url, workers=2, timeout=60)
        port = int(server.url.rsplit(":", 1)[1])
        try:
            first = _until(lambda: _listeners(port, 2))
            assert server.process.pid not in first.values()  # the supervisor itself does not listen

            # Connections opened at once spread over both processes (with one shared socket, the process that
            # woke first took them all).
            clients = [httpx.Client(base_url=server.url) for _ in range(16)]
            try:
                assert all(c.get("/readyz").status_code == 200 for c in clients)
                served_by = set(_owners(_sockets(port, ESTABLISHED)).values()) - {os.getpid()}
                assert set(first.values()) <= served_by
            finally:
                for client in clients:
                    client.close()

            # A process that ends is replaced, on a socket of its own.
            victim = next(iter(first.values()))
            os.kill(victim, signal.SIGKILL)
            second = _until(lambda: (found := _listeners(port, 2)) and victim not in found.values() and found)
            assert len(set(second.values()) & set(first.values())) == 1
            assert httpx.get(f"{server.url}/readyz").status_code == 200
        finally:
            server.process.send_signal(signal.SIGTERM)
            assert server.process.wait(40) == 0
        assert not _owners(_sockets(port, LISTEN))  # every process has stopped
