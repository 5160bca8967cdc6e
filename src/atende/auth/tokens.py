"""Opaque bearer and session tokens: random, shown once, stored as SHA-256."""

from __future__ import annotations

import hashlib
import secrets

API_TOKEN_PREFIX = "atd_"


def new_token(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
