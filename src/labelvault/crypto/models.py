"""Wrapped per-project data keys. Deleting a project's rows is the crypto-shred: its content is unreadable."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from labelvault.db.base import Base, created_column, id_column


class ProjectDataKey(Base):
    __tablename__ = "project_data_keys"
    __table_args__ = (UniqueConstraint("project_id", "version"),)

    id: Mapped[str] = id_column()
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False)
    # Ciphertexts name the version that sealed them; the highest version seals new content.
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    kek_id: Mapped[str] = mapped_column(String(200), nullable=False)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[dt.datetime] = created_column()
