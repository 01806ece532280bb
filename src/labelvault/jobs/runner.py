"""The job worker: claims jobs from the database, so any server process (or a dedicated one) can run them."""

from __future__ import annotations

import logging
import os
import socket
import threading
import traceback
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from labelvault.db.engine import transaction
from labelvault.jobs import service
from labelvault.jobs.models import Job

log = logging.getLogger("labelvault.jobs")

# A job whose worker died this many times (e.g. it crashes the process) is failed, not retried forever.
MAX_ATTEMPTS = 5

Handler = Callable[[sessionmaker[Session], Job, str], None]


class JobLost(Exception):
    """Another worker took the job over; this one stops without writing more."""


class Runner:
    def __init__(
        self, factory: sessionmaker[Session], handlers: dict[str, Handler], *, stale_seconds: int,
        poll_seconds: float,
    ) -> None:
        self.factory = factory
        self.handlers = handlers
        self.stale_seconds = stale_seconds
        self.poll_seconds = poll_seconds
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"[:64]
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> bool:
        """Claim and run one job; False when there was none."""
        with transaction(self.factory) as session:
            job = service.claim_next(session, self.worker, self.stale_seconds)
        if job is None:
            return False
        log.info("job started", extra={"job_id": job.id, "kind": job.kind, "attempt": job.attempts})
        handler = self.handlers.get(job.kind)
        try:
            if job.attempts > MAX_ATTEMPTS:
                raise RuntimeError(f"gave up after {MAX_ATTEMPTS} attempts; each one ended without finishing")
            if handler is None:
                raise RuntimeError(f"no handler for job kind {job.kind!r}")
            handler(self.factory, job, self.worker)
        except JobLost:
            log.warning("job taken over by another worker", extra={"job_id": job.id})
            return True
        except Exception as exc:  # noqa: BLE001 - a failing job must not stop the worker
            log.error("job failed", extra={"job_id": job.id, "error": traceback.format_exc()})
            with transaction(self.factory) as session:
                service.finish(session, job, self.worker, error=str(exc) or type(exc).__name__)
            return True
        log.info("job finished", extra={"job_id": job.id})
        return True

    def run_until_idle(self) -> None:
        while self.run_once():
            pass

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="labelvault-jobs", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.run_once()
            except Exception:  # noqa: BLE001 - e.g. database briefly unreachable
                log.exception("job worker error")
                busy = False
            if not busy:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()
