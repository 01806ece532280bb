"""Sign-in rate limiting and lockout.

Failures are counted per e-mail address (whether or not such a user exists, so a lockout reveals nothing)
and per client address. Past the limit within the window, that key is locked for a while and every
attempt on it, right or wrong, answers 429 without checking the password. A success clears the e-mail's
count. The state lives in the database so that all server processes share it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker

from labelvault.config import Settings
from labelvault.db.engine import transaction
from labelvault.errors import DomainError, NotAuthenticated
from labelvault.kit.clock import utcnow
from labelvault.security import repository as repo
from labelvault.security.models import LoginThrottle

T = TypeVar("T")


class TooManyAttempts(DomainError):
    code = "too_many_attempts"
    status = 429


@dataclass(frozen=True)
class Limits:
    per_email: int
    per_address: int
    window: dt.timedelta
    lockout: dt.timedelta


def limits(settings: Settings) -> Limits:
    return Limits(settings.login_max_failures, settings.login_max_failures_per_address,
                  dt.timedelta(seconds=settings.login_window_seconds),
                  dt.timedelta(seconds=settings.login_lockout_seconds))


def keys_for(email: str, address: str) -> dict[str, str]:
    """The throttle keys of an attempt, by kind."""
    return {"email": f"email:{email.strip().lower()}"[:400], "ip": f"ip:{address}"[:400]}


def guarded_sign_in(factory: sessionmaker[Session], limits: Limits, keys: dict[str, str],
                    authenticate: Callable[[Session], T]) -> T:
    """Run `authenticate` unless a key is locked; count its failure (committed even though it raises)."""
    now = utcnow()
    failure: NotAuthenticated | None = None
    with transaction(factory) as session:
        rows = repo.throttles(session, list(keys.values()))
        locked = [r.locked_until for r in rows.values() if r.locked_until is not None and r.locked_until > now]
        if locked:
            wait = int((max(locked) - now).total_seconds()) + 1
            raise TooManyAttempts(f"Too many failed sign-ins; try again in {wait} seconds.",
                                  details={"retry_after": wait})
        try:
            result = authenticate(session)
        except NotAuthenticated as exc:
            failure = exc
            for kind, key in keys.items():
                limit = limits.per_email if kind == "email" else limits.per_address
                _count_failure(session, rows.get(key), key, limit, limits, now)
        else:
            repo.clear(session, keys["email"])
    if failure is not None:
        raise failure
    return result


def _count_failure(session: Session, row: LoginThrottle | None, key: str, limit: int, limits: Limits,
                   now: dt.datetime) -> None:
    if row is None:
        row = LoginThrottle(key=key, failures=0, window_started_at=now)
        repo.add(session, row)
    if now - row.window_started_at > limits.window:
        row.failures, row.window_started_at, row.locked_until = 0, now, None
    row.failures += 1
    if row.failures >= limit:
        row.locked_until = now + limits.lockout
    session.flush()
