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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, SessionTransaction

from labelvault.crypto import repository as repo
from labelvault.crypto.keys import KeyProvider
from labelvault.crypto.models import ProjectDataKey
from labelvault.errors import DomainError

MAGIC = b"LV1"
HEADER = struct.Struct(">3sI12s")  # magic, key version, nonce
# Keys made by a session that has not committed yet: usable by that session only (a rollback drops them).
FRESH_KEYS = "labelvault_fresh_data_keys"


@event.listens_for(Session, "after_transaction_end")
def _forget_fresh_keys(session: Session, transaction: SessionTransaction) -> None:
    # Committed, they are read from the database from now on; rolled back, they never existed.
    if transaction.parent is None:
        session.info.pop(FRESH_KEYS, None)


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
        return associated_data(self.organization_id, self.project_id, self.item_id, self.field)


def associated_data(organization_id: str, project_id: str, item_id: str, field: str) -> bytes:
    return f"labelvault field v1\x00{organization_id}\x00{project_id}\x00{item_id}\x00{field}".encode()


def _key_context(organization_id: str, project_id: str, version: int) -> bytes:
    return f"labelvault data key v1\x00{organization_id}\x00{project_id}\x00{version}".encode()


class ProjectKeys:
    """One project's data keys as seen by one session: the newest seals, any version opens. Looked up once and
    then kept, so sealing or opening many fields (an import, an export) pays only AES-GCM."""

    def __init__(self, envelope: Envelope, session: Session, organization_id: str, project_id: str) -> None:
        self.envelope, self.session = envelope, session
        self.organization_id, self.project_id = organization_id, project_id
        self._prefix = f"labelvault field v1\x00{organization_id}\x00{project_id}\x00"
        self._prefix_bytes = self._prefix.encode()
        self._current: tuple[int, AESGCM] | None = None
        self._versions: dict[int, AESGCM] = {}

    def preload(self) -> None:
        """Look up every version now (before a stream that keeps the session's connection busy)."""
        for row in repo.project_keys(self.session, self.organization_id, self.project_id):
            self._versions[row.version] = self.envelope.key(self.session, self.organization_id, self.project_id,
                                                            row.version)

    def ready_to_seal(self) -> None:
        """Look up (or make) the key new content is sealed with now (before a stream, such as a COPY, that keeps
        the session's connection busy)."""
        if self._current is None:
            self._current = self.envelope.current_key(self.session, self.organization_id, self.project_id)

    def seal(self, item_id: str, field: str, plaintext: bytes) -> bytes:
        if self._current is None:
            self.ready_to_seal()
        assert self._current is not None
        version, aead = self._current
        nonce = secrets.token_bytes(12)
        data = (self._prefix + item_id + "\x00" + field).encode()
        return HEADER.pack(MAGIC, version, nonce) + aead.encrypt(nonce, plaintext, data)

    def open(self, item_id: str, field: str, ciphertext: bytes) -> bytes:
        return self._open(ciphertext, (self._prefix + item_id + "\x00" + field).encode())

    def open_rows(self, rows: Sequence[tuple[Any, ...]], column: int,
                  bound_to: Callable[[tuple[Any, ...]], bytes]) -> list[tuple[Any, ...]]:
        """Rows with the ciphertext at `column` replaced by its plaintext; `bound_to(row)` gives the row's
        `item id NUL field` as bytes (the export's rows carry ids as bytes: nothing is decoded)."""
        prefix, unpack, versions, after = self._prefix_bytes, HEADER.unpack_from, self._versions, column + 1
        opened = []
        for row in rows:
            sealed = row[column]
            magic, version, nonce = unpack(sealed)
            aead = versions.get(version)
            if aead is None or magic != MAGIC:
                plain = self._open(bytes(sealed), prefix + bound_to(row))
            else:
                try:
                    plain = aead.decrypt(nonce, sealed[HEADER.size:], prefix + bound_to(row))
                except InvalidTag as exc:
                    raise ContentDamaged("The content does not belong here or was altered.") from exc
            opened.append((*row[:column], plain, *row[after:]))
        return opened

    def _open(self, ciphertext: bytes, associated: bytes) -> bytes:
        magic, version, nonce = HEADER.unpack_from(ciphertext)
        if magic != MAGIC:
            raise ContentDamaged("This content is not a labelvault ciphertext.")
        aead = self._versions.get(version)
        if aead is None:
            aead = self._versions[version] = self.envelope.key(self.session, self.organization_id,
                                                                 self.project_id, version)
        try:
            return aead.decrypt(nonce, ciphertext[HEADER.size:], associated)
        except InvalidTag as exc:
            raise ContentDamaged("The content does not belong here or was altered.") from exc


class Envelope:
    """Encrypts and decrypts fields; unwrapped data keys are cached for `cache_seconds` (so a shred or a data key
    rotation in another process takes effect here within that time)."""

    def __init__(self, provider: KeyProvider, *, cache_seconds: float = 60.0) -> None:
        self.provider = provider
        self.cache_seconds = cache_seconds
        self._keys: dict[tuple[str, str, int], tuple[AESGCM, float]] = {}
        self._current: dict[tuple[str, str], tuple[int, AESGCM, float]] = {}

    def project(self, session: Session, organization_id: str, project_id: str) -> ProjectKeys:
        return ProjectKeys(self, session, organization_id, project_id)

    def encrypt(self, session: Session, scope: FieldScope, plaintext: bytes) -> bytes:
        return self.project(session, scope.organization_id, scope.project_id).seal(scope.item_id, scope.field,
                                                                                   plaintext)

    def decrypt(self, session: Session, scope: FieldScope, ciphertext: bytes) -> bytes:
        return self.project(session, scope.organization_id, scope.project_id).open(scope.item_id, scope.field,
                                                                                   ciphertext)

    def current_key(self, session: Session, organization_id: str, project_id: str) -> tuple[int, AESGCM]:
        """The project's newest data key (made on first use), for new content."""
        fresh: list[tuple[int, AESGCM]] | None = session.info.get(FRESH_KEYS, {}).get((organization_id, project_id))
        if fresh is not None:
            return fresh[-1]
        cached = self._current.get((organization_id, project_id))
        if cached is not None and cached[2] > time.monotonic():
            return cached[0], cached[1]
        keys = repo.project_keys(session, organization_id, project_id)
        if not keys:
            return self._new_key(session, organization_id, project_id, 1)
        row = keys[-1]
        aead = self._unwrap(row)
        self._current[(organization_id, project_id)] = (row.version, aead, time.monotonic() + self.cache_seconds)
        return row.version, aead

    def key(self, session: Session, organization_id: str, project_id: str, version: int) -> AESGCM:
        """The data key of this version, to open content sealed with it."""
        fresh: list[tuple[int, AESGCM]] = session.info.get(FRESH_KEYS, {}).get((organization_id, project_id), [])
        for fresh_version, aead in fresh:
            if fresh_version == version:
                return aead
        cached = self._keys.get((organization_id, project_id, version))
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        row = repo.project_key(session, organization_id, project_id, version)
        if row is None:
            raise ContentDestroyed("This project's content was destroyed (its keys were shredded).")
        return self._unwrap(row)

    def rotate_data_key(self, session: Session, organization_id: str, project_id: str) -> int:
        """A new data key version for new content; earlier versions stay readable. Returns the new version."""
        keys = repo.project_keys(session, organization_id, project_id)
        version = keys[-1].version + 1 if keys else 1
        self._new_key(session, organization_id, project_id, version)
        self._current.pop((organization_id, project_id), None)
        return version

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
        self.forget(organization_id, project_id)
        session.info.get(FRESH_KEYS, {}).pop((organization_id, project_id), None)
        return count

    def forget(self, organization_id: str, project_id: str) -> None:
        """Drop the project's keys from this process's cache."""
        for cached in [k for k in self._keys if k[:2] == (organization_id, project_id)]:
            del self._keys[cached]
        self._current.pop((organization_id, project_id), None)

    def _new_key(self, session: Session, organization_id: str, project_id: str, version: int) -> tuple[int, AESGCM]:
        kek = self.provider.current_kek()
        plain = AESGCM.generate_key(bit_length=256)
        row = ProjectDataKey(organization_id=organization_id, project_id=project_id, version=version, kek_id=kek,
                             wrapped_key=self.provider.wrap(kek, plain,
                                                            _key_context(organization_id, project_id, version)))
        try:
            with session.begin_nested():
                repo.add_key(session, row)
        except IntegrityError:
            # Another process made this version first: use theirs (ours was never stored).
            existing = repo.project_key(session, organization_id, project_id, version)
            if existing is None:
                raise
            return version, self._unwrap(existing)
        made = (version, AESGCM(plain))
        session.info.setdefault(FRESH_KEYS, {}).setdefault((organization_id, project_id), []).append(made)
        return made

    def _unwrap(self, row: ProjectDataKey) -> AESGCM:
        plain = self.provider.unwrap(row.kek_id, row.wrapped_key,
                                     _key_context(row.organization_id, row.project_id, row.version))
        aead = AESGCM(plain)
        self._keys[(row.organization_id, row.project_id, row.version)] = (aead, time.monotonic() + self.cache_seconds)
        return aead
