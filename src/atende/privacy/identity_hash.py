"""Keyed hashes of identities (HMAC-SHA256 with a key derived from the installation secret).

Erasure replaces a contact's identities (phone numbers, WhatsApp/Meta ids) with these: nobody can
read the number back, yet the same number hashes to the same value, so an opted-out number stays
opted out when it writes again, while the person starts fresh as a new contact.
"""

from __future__ import annotations

import hashlib
import hmac

from atende.domain.phones import phone_variants

HASHED_KIND = "hashed"  # contact_identities.kind of an erased identity


def derive_key(secret_key: str) -> bytes:
    return hashlib.sha256(b"atende/identity-hash/v1\x00" + secret_key.encode()).digest()


def identity_hash(key: bytes, kind: str, value: str) -> str:
    if not key:
        raise RuntimeError("identity hash key missing: the transaction was not opened by the runtime")
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def identity_hashes(key: bytes, kind: str, value: str) -> list[str]:
    """The hashes an identity may have been stored under (a phone in each of its spellings)."""
    values = phone_variants(value) if kind == "phone" and value.startswith("+") else (value,)
    return [identity_hash(key, kind, v) for v in dict.fromkeys(values)]
