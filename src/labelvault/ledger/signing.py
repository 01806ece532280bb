"""The checkpoint signing key: Ed25519, made on first run in the data directory (mode 0600), never fixed."""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

KEY_FILE = "ledger-signing.key"
DOMAIN = b"labelvault ledger checkpoint v1\x00"


def checkpoint_message(size: int, root: bytes, signed_us: int) -> bytes:
    return DOMAIN + struct.pack(">QQ", size, signed_us) + root


@dataclass(frozen=True)
class Signer:
    key: Ed25519PrivateKey

    @property
    def public_hex(self) -> str:
        return self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()

    def sign(self, size: int, root: bytes, signed_us: int) -> bytes:
        return self.key.sign(checkpoint_message(size, root, signed_us))


def signature_valid(public_hex: str, size: int, root: bytes, signed_us: int, signature_hex: str) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex)).verify(
            bytes.fromhex(signature_hex), checkpoint_message(size, root, signed_us))
    except (InvalidSignature, ValueError):
        return False
    return True


def load_or_create_signer(data_dir: Path) -> Signer:
    """The instance's signing key; the first process to start makes it (O_EXCL: never two different keys)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / KEY_FILE
    if not path.exists():
        # Written whole under a private name, then linked: a process starting at the same moment never
        # reads a half-written key, and only the first link wins.
        staging = data_dir / f".{KEY_FILE}.{os.getpid()}"
        fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(Ed25519PrivateKey.generate().private_bytes_raw().hex())
        try:
            os.link(staging, path)
        except FileExistsError:
            pass
        finally:
            staging.unlink()
    return Signer(Ed25519PrivateKey.from_private_bytes(bytes.fromhex(path.read_text().strip())))
