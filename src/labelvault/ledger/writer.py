"""Where access entries go: the ledger writer (durable before the answer, batched) and the sealer thread."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from labelvault.db.engine import transaction
from labelvault.ledger import service
from labelvault.ledger.service import EntryRow
from labelvault.ledger.signing import load_or_create_signer

log = logging.getLogger("labelvault.ledger")


class LedgerWriter:
    """Appends access entries so that an answered access is always in the ledger.

    A request that writes anyway adds its entries to its own transaction (`add`). A read-only request hands
    them to `write`, which returns once they are committed: entries of requests arriving while a commit is
    under way wait and go together in the next one (group commit), so concurrent reads share transactions.
    """

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory
        self._lock = threading.Condition()
        self._pending: list[tuple[Sequence[EntryRow], _Ticket]] = []
        self._writing = False

    def add(self, session: Session, entries: Sequence[EntryRow]) -> None:
        service.record(session, entries)

    def write(self, entries: Sequence[EntryRow]) -> None:
        ticket = _Ticket()
        with self._lock:
            self._pending.append((entries, ticket))
            while not ticket.done:
                if not self._writing:
                    self._writing = True
                    taken, self._pending = self._pending, []
                    break
                self._lock.wait()
            else:
                return ticket.check()
        error: BaseException | None = None
        try:
            with transaction(self.factory) as session:
                service.append_many(session, [e for batch, _ in taken for e in batch])
        except BaseException as exc:  # noqa: BLE001 - handed to every request of the batch
            error = exc
        with self._lock:
            for _, waiting in taken:
                waiting.done, waiting.error = True, error
            self._writing = False
            self._lock.notify_all()
        return ticket.check()


class _Ticket:
    def __init__(self) -> None:
        self.done = False
        self.error: BaseException | None = None

    def check(self) -> None:
        if self.error is not None:
            raise self.error


class NoLedger(LedgerWriter):
    """Records nothing: only for measuring what the ledger costs (passed to the app factory, never a setting)."""

    def add(self, session: Session, entries: Sequence[EntryRow]) -> None:
        return None

    def write(self, entries: Sequence[EntryRow]) -> None:
        return None


class Sealer:
    """Background thread: chains new entries in batches and signs checkpoints."""

    def __init__(self, factory: sessionmaker[Session], data_dir: Path, *, every: int, max_age_seconds: float,
                 poll_seconds: float) -> None:
        self.factory = factory
        self.data_dir = data_dir
        self.every = every
        self.max_age_us = int(max_age_seconds * 1_000_000)
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._vacuums = service.VacuumCadence()

    def run_once(self) -> int:
        """Seal everything pending, then checkpoint if due; returns how many entries were chained."""
        signer = load_or_create_signer(self.data_dir)
        total = 0
        while True:
            with transaction(self.factory) as session:
                count = service.seal(session)
            total += count
            if count < service.SEAL_BATCH:
                break
        with transaction(self.factory) as session:
            service.checkpoint(session, signer, every=self.every, max_age_us=self.max_age_us)
            due = self._vacuums.sealed(session, total)
        if due:
            self._vacuums.vacuum(self.factory.kw["bind"])
        return total

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="labelvault-ledger", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.run_once()
            except DBAPIError:  # e.g. another process sealed the same positions first; next round continues
                log.warning("ledger sealing round failed; retrying", exc_info=True)
            except Exception:  # noqa: BLE001 - the sealer must outlive a bad round
                log.exception("ledger sealer error")
