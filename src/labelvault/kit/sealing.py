"""Sealed files: a file encrypted for a recipient's X25519 public key or with a passphrase, in a stream.

Layout: `LVSEALED1\\n`, a JSON header line (how the file key is wrapped), then chunks of at most 1 MiB, each
`length (4 bytes) | AES-256-GCM(chunk)` with a nonce made of a random prefix and the chunk's counter and the
last chunk marked in the associated data, so that chunks cannot be reordered, dropped or cut off unnoticed.
The file key is random; it is wrapped with a key from scrypt (passphrase) or from X25519 and HKDF (public key).
"""

from __future__ import annotations

import base64
import os
import struct
from typing import IO, Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

MAGIC = b"LVSEALED1\n"
CHUNK = 1 << 20
SCRYPT = {"n": 1 << 15, "r": 8, "p": 1}


class SealError(ValueError):
    """The file cannot be opened: wrong passphrase or key, or it was changed or cut off."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: Any) -> bytes:
    return base64.b64decode(str(text))


def _scrypt(passphrase: bytes, salt: bytes) -> bytes:
    return Scrypt(salt=salt, length=32, **SCRYPT).derive(passphrase)


def _hkdf(shared: bytes, salt: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"labelvault sealed file").derive(shared)


def load_public_key(pem: bytes) -> X25519PublicKey:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, X25519PublicKey):
        raise SealError("the public key must be an X25519 key (PEM)")
    return key


def load_private_key(pem: bytes) -> X25519PrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, X25519PrivateKey):
        raise SealError("the private key must be an X25519 key (PEM, unencrypted)")
    return key


def new_key_pair() -> tuple[bytes, bytes]:
    """(private PEM, public PEM) of a new X25519 key pair, for `--encrypt-to`."""
    private = X25519PrivateKey.generate()
    return (private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()),
            private.public_key().public_bytes(serialization.Encoding.PEM,
                                              serialization.PublicFormat.SubjectPublicKeyInfo))


def seal(source: IO[bytes], target: IO[bytes], *, passphrase: bytes | None = None,
         recipient: bytes | None = None) -> None:
    """Encrypt `source` into `target` for a passphrase or a recipient's public key (PEM)."""
    if (passphrase is None) == (recipient is None):
        raise SealError("seal with either a passphrase or a public key")
    file_key, salt = AESGCM.generate_key(256), os.urandom(16)
    header: dict[str, Any] = {"cipher": "AES-256-GCM", "chunk": CHUNK, "salt": _b64(salt)}
    if passphrase is not None:
        header.update(kdf="scrypt", **SCRYPT)
        wrapping = _scrypt(passphrase, salt)
    else:
        ephemeral = X25519PrivateKey.generate()
        header.update(kdf="x25519-hkdf-sha256", ephemeral=_b64(ephemeral.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)))
        wrapping = _hkdf(ephemeral.exchange(load_public_key(recipient or b"")), salt)
    wrap_nonce = os.urandom(12)
    header.update(wrap_nonce=_b64(wrap_nonce), wrapped_key=_b64(AESGCM(wrapping).encrypt(wrap_nonce, file_key, MAGIC)),
                  prefix=_b64(os.urandom(4)))
    target.write(MAGIC + orjson.dumps(header) + b"\n")
    aead, prefix = AESGCM(file_key), _unb64(header["prefix"])
    counter = 0
    chunk = source.read(CHUNK)
    while True:
        following = source.read(CHUNK)
        last = not following
        sealed = aead.encrypt(prefix + struct.pack(">Q", counter), chunk, b"last" if last else b"more")
        target.write(struct.pack(">I", len(sealed)) + sealed)
        if last:
            return
        counter += 1
        chunk = following


def is_sealed(head: bytes) -> bool:
    return head.startswith(MAGIC)


def _file_key(header: dict[str, Any], passphrase: bytes | None, identity: bytes | None) -> bytes:
    salt = _unb64(header["salt"])
    if header.get("kdf") == "scrypt":
        if passphrase is None:
            raise SealError("this file is sealed with a passphrase; give --passphrase-file")
        wrapping = _scrypt(passphrase, salt)
    elif header.get("kdf") == "x25519-hkdf-sha256":
        if identity is None:
            raise SealError("this file is sealed to a public key; give the matching private key (--identity)")
        ephemeral = X25519PublicKey.from_public_bytes(_unb64(header["ephemeral"]))
        wrapping = _hkdf(load_private_key(identity).exchange(ephemeral), salt)
    else:
        raise SealError(f"unknown key wrapping {header.get('kdf')!r}")
    try:
        return AESGCM(wrapping).decrypt(_unb64(header["wrap_nonce"]), _unb64(header["wrapped_key"]), MAGIC)
    except InvalidTag:
        raise SealError("wrong passphrase or key") from None


def unseal(source: IO[bytes], target: IO[bytes], *, passphrase: bytes | None = None,
           identity: bytes | None = None) -> None:
    """Decrypt a sealed `source` into `target`; SealError when the key is wrong or the file was changed."""
    if source.read(len(MAGIC)) != MAGIC:
        raise SealError("not a sealed file")
    try:
        header = orjson.loads(source.readline(4096))
    except orjson.JSONDecodeError:
        raise SealError("the sealed file's header is damaged") from None
    aead = AESGCM(_file_key(header, passphrase, identity))
    prefix, counter = _unb64(header["prefix"]), 0
    while True:
        size = source.read(4)
        if len(size) < 4:
            raise SealError("the sealed file was cut off")
        sealed = source.read(struct.unpack(">I", size)[0])
        nonce = prefix + struct.pack(">Q", counter)
        plain, last = _open_chunk(aead, nonce, sealed, counter)
        target.write(plain)
        if last:
            if source.read(1):
                raise SealError("data follows the last chunk of the sealed file")
            return
        counter += 1


def _open_chunk(aead: AESGCM, nonce: bytes, sealed: bytes, counter: int) -> tuple[bytes, bool]:
    for marker, last in ((b"more", False), (b"last", True)):
        try:
            return aead.decrypt(nonce, sealed, marker), last
        except InvalidTag:
            continue
    raise SealError(f"chunk {counter} of the sealed file was changed")
