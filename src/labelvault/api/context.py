"""What a running app holds: settings, database, content cipher, blob stores, job runner. One per app instance."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from labelvault.config import Settings
from labelvault.crypto.content import ContentCipher
from labelvault.jobs.runner import Runner
from labelvault.ledger.writer import LedgerWriter, Sealer
from labelvault.storage import BlobStore


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    factory: sessionmaker[Session]
    uploads: BlobStore
    media: BlobStore
    runner: Runner
    ledger: LedgerWriter
    sealer: Sealer
    content: ContentCipher  # seals item and annotation content and media; sessions of `factory` carry it
