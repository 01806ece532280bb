"""Request dependencies: the database session (committed once at the boundary) and the policy check.

Every route depends on `require(Action.X)` or on `public(reason)`; a test walks all routes and fails
on any that has neither.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from labelvault.accounts import service as accounts
from labelvault.accounts.models import BrowserSession
from labelvault.api.context import AppContext
from labelvault.db.engine import start_writing, transaction, write_session
from labelvault.errors import ConcurrentWrite, Forbidden, NotAuthenticated
from labelvault.kit.hashing import same_digest, token_digest
from labelvault.kit.workers import WorkerThreads
from labelvault.security.policy import Action, Principal, authorize

log = logging.getLogger("labelvault.auth")

SESSION_COOKIE = "lv_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


async def _context(request: Request) -> AppContext:
    # A coroutine: FastAPI runs a plain function dependency on a worker thread, a hand-off per request.
    return context(request)


async def db_session(request: Request) -> AsyncIterator[Session]:
    """One transaction per request, committed before the response is sent.

    The session is made on the event loop (it touches the database only at its first statement, on the
    route's worker thread); commit and rollback run on a worker thread, as every database call does.
    """
    session = _session_for(request)
    try:
        yield session
    except BaseException:
        await run_in_threadpool(_end, session, None)
        raise
    await run_in_threadpool(_end, session, request)


def _session_for(request: Request) -> Session:
    """The request's session: read-only for safe methods, else one that writes from its first statement."""
    factory = context(request).factory
    return factory() if request.method in SAFE_METHODS else write_session(factory)


def _end(session: Session, committed: Request | None) -> None:
    """Commit (and run the request's after-commit callbacks) or, without a request, roll back; then close."""
    try:
        if committed is None:
            session.rollback()
            return
        try:
            session.commit()
        except BaseException:
            session.rollback()
            raise
        for callback in getattr(committed.state, "after_commit", ()):
            callback()
    finally:
        session.close()


DB = Annotated[Session, Depends(db_session, scope="function")]
Ctx = Annotated[AppContext, Depends(_context)]


def _bearer(request: Request) -> str | None:
    """The API token the request sends, if it sends one."""
    header = request.headers.get("authorization", "")
    if not header:
        return None
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise NotAuthenticated("Use the header `Authorization: Bearer <token>`.")
    return secret.strip()


def _principal(request: Request, session: Session, digest: str | None = None) -> Principal:
    secret = _bearer(request)
    if secret is not None:
        principal, due = accounts.principal_from_token(session, secret, digest)
        if due and principal.token_id:
            token_id = principal.token_id
            after_commit(request, lambda: _record_token_use(request, token_id))
        return principal
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        principal = accounts.principal_from_session(
            session, cookie, request.headers.get("x-organization") or None
        )
        if request.method not in SAFE_METHODS:
            _check_csrf(request, session, principal)
        return principal
    raise NotAuthenticated("Sign in or send an API token.")


def after_commit(request: Request, callback: Callable[[], None]) -> None:
    """Run `callback` once the request's transaction has committed (never inside it)."""
    if not hasattr(request.state, "after_commit"):
        request.state.after_commit = []
    request.state.after_commit.append(callback)


def _record_token_use(request: Request, token_id: str) -> None:
    """In its own short write transaction, so that read-only requests stay read-only."""
    try:
        with transaction(context(request).factory) as session:
            accounts.record_token_use(session, token_id)
    except OperationalError:
        log.warning("could not record token use", extra={"token_id": token_id})


def _check_csrf(request: Request, session: Session, principal: Principal) -> None:
    browser = session.get(BrowserSession, principal.session_id)
    sent = request.headers.get(CSRF_HEADER, "")
    if browser is None or not sent or not same_digest(sent, browser.csrf_token):
        raise Forbidden("The request lacks a valid CSRF token.", code="csrf_failed")


def require(action: Action) -> Callable[..., Principal]:
    """Dependency: authenticate, then authorize `action` for the caller's organization."""

    def dependency(request: Request, session: DB) -> Principal:
        principal = _principal(request, session)
        authorize(principal, action)
        request.state.principal = principal
        return principal

    dependency.__policy__ = action  # type: ignore[attr-defined]
    dependency.__name__ = f"require_{action.value}"
    return dependency


T = TypeVar("T")
A = TypeVar("A")


def _loop_workers(request: Request) -> WorkerThreads:
    """The labeling loop's own few worker threads (`loop_threads`), apart from the shared pool of the other routes.

    With a thread per waiting request (64 annotators: 40 threads per process), the threads take turns at the
    interpreter lock and the database's CPU for every statement, and a cycle costs half again as much CPU; a
    few threads, each taking the next request when done, keep both busy with less switching (PostgreSQL at
    C=64: 154 instead of 49 annotations/s)."""
    workers: WorkerThreads = request.app.state.loop_workers
    return workers


# What a gated route sends ahead (`Gate.run`), for an organization and a person.
Ahead = Callable[[Session, str, str], A]
_GUESSES = 10_000


class Gate:
    """The policy check and the transaction of a route, run together in one worker-thread hand-off.

    For the routes of the labeling loop (next item, submit), which every annotator calls all day: a route
    that depends on `require` runs its credential check, its body and its commit on three worker threads one
    after the other (and its answer's validation on a fourth). A route that depends on `gated` instead calls
    `await gate.run(ahead, work)`; `work(session, principal, sent)` then runs on one worker thread between the
    same credential check and policy decision as `require`'s and the same commit as `db_session`'s. The work
    calls `start_writing` once its reads are done.

    `ahead(session, organization_id, user_id)` sends the work's first reads ahead (`db.direct.Direct.ahead`,
    PostgreSQL), so that they go in the round trip of the credential check: for the organization and person
    the same API token was last found to be (a guess, kept per process), and its result is given to the work
    as `sent`. The work then asks for these reads as the principal: only a read with the very same parameters
    takes a result sent ahead; after a wrong guess (a token not seen before, or whose membership changed) the
    reads are sent again, and what the guess read is dropped with the transaction, unseen. Without a guess
    (a browser session, a new token) `ahead` runs after the credential check."""

    def __init__(self, request: Request, action: Action) -> None:
        self.request = request
        self.action = action

    async def run(self, ahead: Ahead[A], work: Callable[[Session, Principal, A], T]) -> T:
        """Run the work (see the class); once more from the start when it met another request's write of the
        same row (`ConcurrentWrite`): its transaction was rolled back, and the other one has committed."""
        workers = _loop_workers(self.request)
        try:
            return await workers.run(self._run_ahead, ahead, work)
        except ConcurrentWrite:
            return await workers.run(self._run_ahead, ahead, work)

    def _run_ahead(self, ahead: Ahead[A], work: Callable[[Session, Principal, A], T]) -> T:
        secret = _bearer(self.request)
        digest = token_digest(secret) if secret is not None else None
        guesses: dict[str, tuple[str, str]] = self.request.app.state.token_guesses
        guess = guesses.get(digest) if digest is not None else None
        sent: list[A] = []

        def with_reads(session: Session, principal: Principal) -> T:
            if guess != (principal.organization_id, principal.user_id):
                if digest is not None and principal.token_id is not None:
                    if len(guesses) >= _GUESSES:
                        guesses.clear()
                    guesses[digest] = (principal.organization_id, principal.user_id)
                sent[:] = [ahead(session, principal.organization_id, principal.user_id)]
            return work(session, principal, sent[0])

        def first(session: Session) -> None:
            if guess is not None:
                sent.append(ahead(session, *guess))

        return self._run(with_reads, first, digest)

    @staticmethod
    def start_writing(session: Session) -> None:
        """Called by the work between its reads (the credential check among them) and its first write: see
        `db.engine.start_writing`."""
        start_writing(session)

    def _run(self, work: Callable[[Session, Principal], T], first: Callable[[Session], None] | None = None,
             digest: str | None = None) -> T:
        # A session that begins as a reader on SQLite (WAL: never waits for the write lock); the work calls
        # `start_writing` before its first write.
        session = context(self.request).factory()
        try:
            if first is not None:
                first(session)
            principal = _principal(self.request, session, digest)
            authorize(principal, self.action)
            self.request.state.principal = principal
            result = work(session, principal)
        except BaseException:
            _end(session, None)
            raise
        _end(session, self.request)
        return result


def gated(action: Action) -> Callable[..., Any]:
    """Dependency: a `Gate` that authenticates and authorizes `action` when the route runs its work. A request
    without any credential is refused here already, before its body is read."""

    async def dependency(request: Request) -> Gate:
        if not request.headers.get("authorization") and not request.cookies.get(SESSION_COOKIE):
            raise NotAuthenticated("Sign in or send an API token.")
        return Gate(request, action)

    dependency.__policy__ = action  # type: ignore[attr-defined]
    dependency.__name__ = f"gated_{action.value}"
    return dependency


def public(reason: str) -> Callable[[], None]:
    """Dependency marking a route that needs no credential, with the reason why."""

    def dependency() -> None:
        return None

    dependency.__policy__ = f"public: {reason}"  # type: ignore[attr-defined]
    return dependency


def _allowed(action: Action) -> Any:
    return Annotated[Principal, Depends(require(action))]


# Typed permissions for route signatures: reading a route tells who may call it.
AnnotateGate = Annotated[Gate, Depends(gated(Action.annotate))]
CanReadSelf = _allowed(Action.read_self)
CanReadProject = _allowed(Action.read_project)
CanManageProject = _allowed(Action.manage_project)
CanReadItems = _allowed(Action.read_items)
CanManageItems = _allowed(Action.manage_items)
CanAnnotate = _allowed(Action.annotate)
CanReadAllAnnotations = _allowed(Action.read_all_annotations)
CanReview = _allowed(Action.review)
CanExport = _allowed(Action.export)
CanReadMembers = _allowed(Action.read_members)
CanInvite = _allowed(Action.invite_members)
CanManageMembers = _allowed(Action.manage_members)
CanUseOwnTokens = _allowed(Action.use_own_tokens)
CanReadJobs = _allowed(Action.read_jobs)
CanManageOrganizations = _allowed(Action.manage_organizations)
CanReadExposure = _allowed(Action.read_exposure)
CanReadWorkforce = _allowed(Action.read_workforce)
CanManageWorkforce = _allowed(Action.manage_workforce)
CanSetVendorReview = _allowed(Action.set_vendor_review)
