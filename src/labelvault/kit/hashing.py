"""Hashes of high-entropy secrets (tokens, links); passwords use argon2 in accounts."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def same_digest(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)
