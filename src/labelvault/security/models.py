"""Sign-in throttling state, shared by every server process through the database."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from labelvault.db.base import Base, UtcDateTime


class LoginThrottle(Base):
    """Failed sign-ins counted per e-mail address and per client address within a window."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)  # "email:<address>" or "ip:<address>"
    failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    window_started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), nullable=False)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)
