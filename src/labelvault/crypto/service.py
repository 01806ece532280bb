"""Envelope encryption of item and annotation content.

Each project has data keys (AES-256-GCM, 32 random bytes), stored only wrapped by a KEK of the
`KeyProvider`. A field's ciphertext is bound (GCM associated data) to its organization, project, item and
field: moved to another row it fails to decrypt. New content uses the project's newest key version; older
versions stay readable. Destroying a project's keys (`shred`) makes all its content unrecoverable.
"""

from __future__ import annotations

import secrets
import struct
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.orm import Session

from labelvault.crypto import repository as repo
from labelvault.crypto.keys import KeyProvider
from labelvault.crypto.models import ProjectDataKey
from labelvault.errors import DomainError

MAGIC = b"LV1"
HEADER = struct.Struct(">3sI12s")  # magic, key version, nonce


class ContentDestroyed(DomainError):
    code = "content_destroyed"
    status = 410


class ContentDamaged(DomainError):
    """The ciphertext does not open: altered, or moved from another row or field."""

    code = "content_damaged"
    status = 500


@dataclass(frozen=True)
class FieldScope:
    """Where a ciphertext belongs; it opens only there."""

    organization_id: str
    project_id: str
    item_id: str
    field: str

    def associated_data(self) -> bytes:
        parts = (self.organization_id, self.project_id, self.item_id, self.field)
        return b"labelvault field v1\x00" + b"\x00".join(p.encode() for p in parts)


def _key_context(organization_id: str, project_id: str, version: int) -> bytes:
    return f"labelvault data key v1\x00{organization_id}\x00{project_id}\x00{version}".encode()


class Envelope:
    """Encrypts and decrypts fields; unwrapped data keys are cached for `cache_seconds` (so a shred in another
    process takes effect here within that time)."""

    def __init__(self, provider: KeyProvider, *, cache_seconds: float = 60.0) -> None:
        self.provider = provider
        self.cache_seconds = cache_seconds
        self._cache: dict[tuple[str, int], tuple[bytes, float]] = {}

    def encrypt(self, session: Session, scope: FieldScope, plaintext: bytes) -> bytes:
        keys = repo.project_keys(session, scope.organization_id, scope.project_id)
        row = keys[-1] if keys else self._new_key(session, scope.organization_id, scope.project_id, 1)
        nonce = secrets.token_bytes(12)
        sealed = AESGCM(self._unwrap(row)).encrypt(nonce, plaintext, scope.associated_data())
        return HEADER.pack(MAGIC, row.version, nonce) + sealed

    def decrypt(self, session: Session, scope: FieldScope, ciphertext: bytes) -> bytes:
        magic, version, nonce = HEADER.unpack_from(ciphertext)
        if magic != MAGIC:
            raise ContentDamaged("This content is not a labelvault ciphertext.")
        row = repo.project_key(session, scope.organization_id, scope.project_id, version)
        if row is None:
            raise ContentDestroyed("This project's content was destroyed (its keys were shredded).")
        try:
            return AESGCM(self._unwrap(row)).decrypt(nonce, ciphertext[HEADER.size:], scope.associated_data())
        except InvalidTag as exc:
            raise ContentDamaged("The content does not belong here or was altered.") from exc

    def rotate_data_key(self, session: Session, organization_id: str, project_id: str) -> int:
        """A new data key version for new content; earlier versions stay readable. Returns the new version."""
        keys = repo.project_keys(session, organization_id, project_id)
        return self._new_key(session, organization_id, project_id, keys[-1].version + 1 if keys else 1).version

    def rewrap(self, session: Session, batch: int = 500) -> int:
        """Re-wrap up to `batch` data keys still under an older KEK with the current one; returns how many.

        Run in batches (each its own transaction) after adding a KEK: readers keep working throughout,
        since every key opens under the KEK that wrapped it until its row changes.
        """
        current = self.provider.current_kek()
        rows = repo.keys_not_under(session, current, batch)
        for row in rows:
            context = _key_context(row.organization_id, row.project_id, row.version)
            plain = self.provider.unwrap(row.kek_id, row.wrapped_key, context)
            row.wrapped_key, row.kek_id = self.provider.wrap(current, plain, context), current
        session.flush()
        return len(rows)

    def shred(self, session: Session, organization_id: str, project_id: str) -> int:
        """Destroy every data key of the project: its content, in the database or in files, can no longer be
        decrypted by anyone. Returns how many keys were destroyed."""
        count = repo.delete_project_keys(session, organization_id, project_id)
        session.flush()
        for cached in [k for k in self._cache if k[0] == project_id]:
            del self._cache[cached]
        return count

    def _new_key(self, session: Session, organization_id: str, project_id: str, version: int) -> ProjectDataKey:
        kek = self.provider.current_kek()
        plain = AESGCM.generate_key(bit_length=256)
        row = ProjectDataKey(organization_id=organization_id, project_id=project_id, version=version, kek_id=kek,
                             wrapped_key=self.provider.wrap(kek, plain,
                                                            _key_context(organization_id, project_id, version)))
        repo.add_key(session, row)
        session.flush()
        self._cache[(project_id, version)] = (plain, time.monotonic() + self.cache_seconds)
        return row

    def _unwrap(self, row: ProjectDataKey) -> bytes:
        cached = self._cache.get((row.project_id, row.version))
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        plain = self.provider.unwrap(row.kek_id, row.wrapped_key,
                                     _key_context(row.organization_id, row.project_id, row.version))
        self._cache[(row.project_id, row.version)] = (plain, time.monotonic() + self.cache_seconds)
        return plain
