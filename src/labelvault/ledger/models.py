"""Ledger tables: access entries (sealed into a hash chain by position) and signed checkpoints.

No foreign keys: the ledger outlives the users, items and organizations it names.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from labelvault.db.base import Base, id_column


class EntryKind:
    read = "read"
    export = "export"
    permission = "permission"


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (
        Index("ix_ledger_entries_org_time", "organization_id", "recorded_us"),
        # Entries the sealer has not chained yet, in the order it chains them.
        Index("ix_ledger_entries_unsealed", "recorded_us", "id", sqlite_where=text("position IS NULL"),
              postgresql_where=text("position IS NULL")),
    )

    id: Mapped[str] = id_column()
    organization_id: Mapped[str] = mapped_column(String(36), nullable=False)
    # Microseconds since the epoch: an integer hashes the same on both databases without parsing.
    recorded_us: Mapped[int] = mapped_column(BigInteger, nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    actor_user_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    actor_email: Mapped[str] = mapped_column(String(320), nullable=False, default="")
    token_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    vendor_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    route: Mapped[str] = mapped_column(String(300), nullable=False)
    project_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    # JSON text, hashed exactly as stored.
    item_ids: Mapped[str] = mapped_column(Text, nullable=False, default="[]")
    fields: Mapped[str] = mapped_column(Text, nullable=False, default="[]")
    detail: Mapped[str] = mapped_column(Text, nullable=False, default="{}")
    # Set by the sealer: the place in the chain (1, 2, ...) and SHA-256(0x00 || previous hash || entry).
    position: Mapped[int | None] = mapped_column(BigInteger, nullable=True, unique=True)
    entry_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)


class LedgerCheckpoint(Base):
    __tablename__ = "ledger_checkpoints"

    id: Mapped[str] = id_column()
    size: Mapped[int] = mapped_column(BigInteger, nullable=False, unique=True)
    root_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    # The Merkle frontier (roots of the perfect subtrees) so the next checkpoint starts from here.
    frontier: Mapped[str] = mapped_column(Text, nullable=False)
    signed_us: Mapped[int] = mapped_column(BigInteger, nullable=False)
    public_key: Mapped[str] = mapped_column(String(64), nullable=False)
    signature: Mapped[str] = mapped_column(String(128), nullable=False)
