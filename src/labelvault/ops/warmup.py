"""Rehearse the labeling loop before a server process takes requests, then forget the rehearsal.

A process fresh from start answered its first labeling requests several times slower than later ones: each of
its database connections is opened on first use, and a new PostgreSQL connection has its catalog caches empty
and the loop's statements neither prepared nor planned; in the process itself, every statement is compiled on
its first call. Under 300 next+submit cycles per second, the first 0.7 s after start fell behind and answered
in up to 130 ms, which alone put the 99th percentile of a 30 s run above 80 ms (later answers: under 20 ms).

So at start-up each process runs the loop's two routes, next item and submit, exactly as they run for a
request (the same route functions, through a gate of its own), on as many connections at once as the loop has
worker threads. The rehearsal makes a throwaway organization, person, project and items in its transaction and
rolls everything back at the end: nothing it wrote is ever seen by anyone, nothing is kept, and the access
ledger records nothing (its entries were part of the same transaction). A rehearsal that fails (a database
not migrated yet, say) is logged and the process serves all the same, only without this head start.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from fastapi import FastAPI
from sqlalchemy.orm import Session
from starlette.requests import Request

from labelvault.accounts import service as accounts
from labelvault.accounts.models import Role
from labelvault.annotations import api as annotations_api
from labelvault.annotations.schemas import AnnotationIn
from labelvault.api.context import AppContext
from labelvault.assignments import api as assignments_api
from labelvault.db.engine import start_writing, write_session
from labelvault.items import repository as items_repo
from labelvault.kit.clock import utcnow
from labelvault.kit.workers import WorkerThreads
from labelvault.projects import service as projects
from labelvault.security.policy import Principal

log = logging.getLogger("labelvault.warmup")

T = TypeVar("T")
A = TypeVar("A")

_SCHEMA: dict[str, Any] = {
    "fields": [{"name": "text", "kind": "text"}],
    "questions": [{"name": "label", "type": "single_choice", "options": [{"value": "a"}, {"value": "b"}]}],
}
_ANSWERS = {"label": "a"}


class RehearsalGate:
    """What a labeling route is given instead of `api.deps.Gate`: its work runs in the rehearsal's own
    transaction, for the rehearsal's throwaway person, after the same credential check (their API token)."""

    def __init__(self, app: FastAPI, session: Session, secret: str) -> None:
        self.request = Request({"type": "http", "method": "POST", "path": "/", "headers": [], "app": app,
                                "query_string": b"", "server": ("127.0.0.1", 0)})
        self.session = session
        self.secret = secret

    async def run(self, ahead: Callable[[Session, str, str], A], work: Callable[[Session, Principal, A], T]) -> T:
        principal, _ = accounts.principal_from_token(self.session, self.secret)
        sent = ahead(self.session, principal.organization_id, principal.user_id)
        return work(self.session, principal, sent)

    @staticmethod
    def start_writing(session: Session) -> None:
        start_writing(session)


# Cycles per rehearsal: PostgreSQL plans a prepared statement anew for each of its first five runs on a
# connection, and only then settles on a plan it keeps.
CYCLES = 6


def rehearse(app: FastAPI) -> list[str]:
    """One rehearsal on one connection, rolled back; the items it submitted, in turn (for tests)."""
    ctx: AppContext = app.state.ctx
    session = write_session(ctx.factory)
    try:
        gate, project_id = _throwaway(app, session)
        submitted = []
        for _ in range(CYCLES):
            answer = asyncio.run(assignments_api.next_item(project_id, gate))  # type: ignore[arg-type]
            item_id = str(orjson.loads(bytes(answer.body))["item"]["id"])
            body = AnnotationIn(answers=_ANSWERS, time_spent_ms=1)
            saved = asyncio.run(annotations_api.save_annotation(item_id, body, gate, None))  # type: ignore[arg-type]
            if saved.status_code != 201:
                raise RuntimeError(f"the rehearsed submission answered {saved.status_code}")
            submitted.append(item_id)
        return submitted
    finally:
        session.rollback()
        session.close()


def _throwaway(app: FastAPI, session: Session) -> tuple[RehearsalGate, str]:
    """An organization with one annotator (and an API token), a project and its items, all in `session`."""
    organization = accounts.create_organization(session, f"warm-up {secrets.token_hex(4)}")
    user = accounts.create_user(session, f"warm-up-{secrets.token_hex(8)}@warm-up.invalid", None)
    accounts.add_member(session, organization.id, user.id, Role.owner)
    principal = accounts.principal_for(session, user, organization.id)
    secret = accounts.create_token(session, principal, "warm-up").secret
    project = projects.create_project(session, principal, name="warm-up", schema=_SCHEMA)
    now = utcnow()
    items_repo.insert_items(session, [items_repo.new_item_row(organization.id, project.id, f"warm-up-{n}",
                                                              {"text": "warm-up"}, now) for n in range(CYCLES)])
    session.flush()
    return RehearsalGate(app, session, secret), project.id


async def warm_up(app: FastAPI, connections: int) -> int:
    """Rehearse on `connections` connections at once, on the loop's own worker threads (`loop_threads` of
    them: one connection each while they serve); how many rehearsals succeeded."""
    started = time.perf_counter()
    workers: WorkerThreads = app.state.loop_workers
    results = await asyncio.gather(*(workers.run(rehearse, app) for _ in range(connections)),
                                   return_exceptions=True)
    failures = [result for result in results if isinstance(result, BaseException)]
    if failures:
        log.warning("labeling loop warm-up failed; serving without it", exc_info=failures[0])
    else:
        log.info("labeling loop warmed up", extra={"connections": connections,
                                                   "ms": round(1000 * (time.perf_counter() - started))})
    return len(results) - len(failures)
