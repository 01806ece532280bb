"""Key-encryption keys behind `KeyProvider`: a local key directory by default, an external KMS by the same
two calls (wrap, unwrap).

The local provider keeps each KEK in its own file `kek-<id>.key` (mode 0600) in a directory; the newest is
current. Rotation adds a KEK; data keys are then re-wrapped in the background while the old KEK still
unwraps, so nothing stops. A KEK file is removed only once nothing is wrapped by it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE = 12


class KeyUnavailable(Exception):
    """A wrapped key cannot be unwrapped: unknown KEK, wrong context, or damaged."""


class KeyProvider(Protocol):
    """What an external KMS implements to hold labelvault's key-encryption keys."""

    def current_kek(self) -> str:
        """Id of the KEK that wraps new data keys."""

    def wrap(self, kek_id: str, data_key: bytes, context: bytes) -> bytes:
        """Encrypt `data_key` under KEK `kek_id`, bound to `context` (authenticated, not secret)."""

    def unwrap(self, kek_id: str, wrapped: bytes, context: bytes) -> bytes:
        """Inverse of wrap; raises KeyUnavailable when the KEK is gone or the context differs."""


class LocalKeyProvider:
    """KEKs as 32 random bytes (hex) in files of mode 0600, made on first use, never fixed in code."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, kek_id: str) -> Path:
        if not kek_id.isalnum():
            raise KeyUnavailable("malformed key-encryption key id")
        return self.directory / f"kek-{kek_id}.key"

    def kek_ids(self) -> list[str]:
        """Known KEK ids, oldest first (ids are zero-padded counters)."""
        if not self.directory.exists():
            return []
        return sorted(p.name[4:-4] for p in self.directory.glob("kek-*.key"))

    def current_kek(self) -> str:
        ids = self.kek_ids()
        if ids:
            return ids[-1]
        try:
            return self.add_kek()
        except FileExistsError:  # another process made the first KEK at the same moment
            return self.kek_ids()[-1]

    def add_kek(self) -> str:
        """A new KEK, which becomes current (rotation). Written whole under a temporary name, then linked into
        place, so no process ever reads a half-written key; raises FileExistsError if the id was just taken."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        ids = self.kek_ids()
        kek_id = f"{int(ids[-1]) + 1 if ids else 1:06d}"
        staged = self.directory / f".kek-{secrets.token_hex(8)}.tmp"
        fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_bytes(32).hex())
                handle.flush()
                os.fsync(handle.fileno())
            os.link(staged, self._path(kek_id))
        finally:
            staged.unlink()
        return kek_id

    def remove_kek(self, kek_id: str) -> None:
        self._path(kek_id).unlink()

    def _key(self, kek_id: str) -> bytes:
        try:
            return bytes.fromhex(self._path(kek_id).read_text().strip())
        except FileNotFoundError as exc:
            raise KeyUnavailable(f"key-encryption key {kek_id} is not available") from exc

    def wrap(self, kek_id: str, data_key: bytes, context: bytes) -> bytes:
        nonce = secrets.token_bytes(NONCE)
        return nonce + AESGCM(self._key(kek_id)).encrypt(nonce, data_key, context)

    def unwrap(self, kek_id: str, wrapped: bytes, context: bytes) -> bytes:
        try:
            return AESGCM(self._key(kek_id)).decrypt(wrapped[:NONCE], wrapped[NONCE:], context)
        except InvalidTag as exc:
            raise KeyUnavailable("the wrapped data key does not open with this context") from exc
