"""Password hashing with argon2id (argon2-cffi)."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from labelvault.errors import InvalidInput

_hasher = PasswordHasher()
MIN_LENGTH = 12


# The stored hash of a person without a password (a restored person, until an administrator sets one): no
# argon2 hash has this form, so no password verifies against it, and none is hashed to make it.
NO_PASSWORD = "!"  # noqa: S105 - a marker that no password matches, not a password


def hash_password(password: str) -> str:
    check_strength(password)
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    if password_hash == NO_PASSWORD:
        # Checked against a hash of a secret nobody knows: it fails, and takes as long as any check.
        password_hash = DUMMY_HASH
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise InvalidInput(
            f"The password must have at least {MIN_LENGTH} characters.", details={"field": "password"}
        )


def random_password() -> str:
    return secrets.token_urlsafe(18)


# A fixed hash to compare against when the user does not exist, so timing does not reveal accounts.
DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
