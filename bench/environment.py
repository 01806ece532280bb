"""What every benchmark sets up for itself: a fresh data directory and database, an owner with a token,
a real server process, and a sampler of that process's memory."""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from labelvault.accounts.models import Role
from labelvault.app import local_stores
from labelvault.config import Settings
from labelvault.db.engine import build_engine
from labelvault.db.migrate import upgrade
from labelvault.testing import (
    DEFAULT_PG_ADMIN_URL,
    Actor,
    ServerProcess,
    fresh_database,
    make_actor,
    start_server,
)

WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "annotation", "label", "review",
         "model", "data", "quality", "vendor", "schema", "export", "import", "river", "mountain", "city",
         "market", "signal", "noise", "answer", "question"]


def sample_text(rng: random.Random, chars: int = 200) -> str:
    """Words joined to about `chars` characters."""
    words: list[str] = []
    length = -1
    while length < chars:
        word = rng.choice(WORDS)
        words.append(word)
        length += len(word) + 1
    return " ".join(words)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def emit(result: dict[str, Any]) -> None:
    """The result: the last line of stdout, one JSON object."""
    print(json.dumps(result), flush=True)


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    p.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN_URL,
                   help="PostgreSQL URL used to create and drop the benchmark's database.")
    return p


@dataclass
class Environment:
    data_dir: Path
    database_url: str
    factory: sessionmaker[Session]
    owner: Actor


@contextmanager
def fresh_environment(kind: str, pg_admin_url: str) -> Iterator[Environment]:
    """A temporary data directory, a migrated fresh database and an owner (instance admin) with a token."""
    with tempfile.TemporaryDirectory(prefix="labelvault-bench-") as tmp:
        data_dir = Path(tmp)
        with fresh_database(kind, data_dir, pg_admin_url) as url:
            log(f"migrating a fresh {kind} database")
            upgrade(url)
            engine = build_engine(url)
            # Seals content with the key directory the benchmark's servers use (in the same data directory).
            factory = local_stores(Settings(data_dir=data_dir, database_url=url), engine)[0]
            try:
                owner = make_actor(factory, Role.owner, is_admin=True)
                yield Environment(data_dir, url, factory, owner)
            finally:
                engine.dispose()


@contextmanager
def running_server(env: Environment) -> Iterator[ServerProcess]:
    server = start_server(env.data_dir, env.database_url)
    log(f"server pid {server.process.pid} at {server.url}")
    try:
        yield server
    finally:
        server.stop()


def _status_kb(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not found for pid {pid}")


class RssSampler:
    """Peak resident memory of one process over a stretch of time (VmHWM after a reset, and sampling)."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid = pid
        self.interval = interval
        self.before_kb = 0
        self.peak_kb = 0
        self.after_kb = 0
        self.peak_mark_reset = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        try:
            # "5" resets the kernel's peak-RSS mark, so VmHWM covers only the measured stretch.
            with open(f"/proc/{self.pid}/clear_refs", "w") as handle:
                handle.write("5")
            self.peak_mark_reset = True
        except OSError:
            pass
        self.before_kb = _status_kb(self.pid, "VmRSS")
        self.peak_kb = self.before_kb
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_kb = max(self.peak_kb, _status_kb(self.pid, "VmRSS"))

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.after_kb = _status_kb(self.pid, "VmRSS")
        self.peak_kb = max(self.peak_kb, self.after_kb)
        if self.peak_mark_reset:
            self.peak_kb = max(self.peak_kb, _status_kb(self.pid, "VmHWM"))

    @property
    def growth_mb(self) -> float:
        return (self.peak_kb - self.before_kb) / 1024
