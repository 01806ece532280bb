"""Queries of sign-in throttling (before authentication, so not scoped to an organization)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from labelvault.security.models import LoginThrottle


def throttles(session: Session, keys: Sequence[str]) -> dict[str, LoginThrottle]:
    # unscoped: sign-in precedes knowing anyone's organization
    rows = session.scalars(select(LoginThrottle).where(LoginThrottle.key.in_(keys)))
    return {row.key: row for row in rows}


def add(session: Session, row: LoginThrottle) -> None:
    session.add(row)


def clear(session: Session, key: str) -> None:
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == key))
