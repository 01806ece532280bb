"""Restoring a bundle file into this instance: open a sealed one, unpack and check it, write it in one go."""

from __future__ import annotations

import tempfile
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from labelvault.db.engine import transaction
from labelvault.exports.bundle import BundleRefused, Restored, restore_bundle, unpack
from labelvault.exports.collector import collector_paused
from labelvault.kit.sealing import SealError, is_sealed, unseal
from labelvault.storage import BlobStore


def restore_file(factory: sessionmaker[Session], media: BlobStore, path: Path, *, organization_id: str | None = None,
                 passphrase: bytes | None = None, identity: bytes | None = None) -> Restored:
    """Restore the bundle at `path` (sealed or not); nothing is written unless every file checks out."""
    with tempfile.TemporaryDirectory(prefix="lv-restore-") as scratch:
        root = Path(scratch) / "bundle"
        root.mkdir()
        with path.open("rb") as handle:
            sealed = is_sealed(handle.read(16))
            handle.seek(0)
            if sealed:
                opened = Path(scratch) / "opened.tar.zst"
                try:
                    with opened.open("wb") as plain:
                        unseal(handle, plain, passphrase=passphrase, identity=identity)
                except SealError as exc:
                    raise BundleRefused(f"The sealed bundle cannot be opened: {exc}.") from None
                with opened.open("rb") as plain:
                    manifest = unpack(plain, root)
            else:
                manifest = unpack(handle, root)
        with collector_paused(), transaction(factory) as session:
            return restore_bundle(session, media, root, manifest, organization_id=organization_id)
