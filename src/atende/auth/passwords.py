"""Password hashing with argon2 (pwdlib)."""

from __future__ import annotations

from functools import cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher


@cache
def _hasher() -> PasswordHash:
    return PasswordHash((Argon2Hasher(),))


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return _hasher().verify(password, password_hash)
    except Exception:  # malformed hash in the database: never a 500, never a login
        return False


@cache
def _dummy_hash() -> str:
    import secrets

    return hash_password(secrets.token_urlsafe(16))


def verify_login(password: str, password_hash: str | None) -> bool:
    """Verify, spending the same argon2 work when there is no such user (against a dummy hash), so
    the answer's timing does not tell which e-mails exist."""
    if password_hash is None:
        verify_password(password, _dummy_hash())
        return False
    return verify_password(password, password_hash)
