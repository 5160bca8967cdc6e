"""Provider secrets at rest: Fernet with a key derived from ATENDE_SECRET_KEY."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken


class SecretBox:
    def __init__(self, secret_key: str) -> None:
        # HKDF would be nicer, but a salted SHA-256 of a long random key is enough to get 32 bytes.
        raw = hashlib.sha256(b"atende/secrets/v1\x00" + secret_key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(raw))

    def encrypt_json(self, value: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(value, separators=(",", ":")).encode()).decode()

    def encrypt_text(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def decrypt_text(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("secret cannot be decrypted: was ATENDE_SECRET_KEY changed?") from exc

    def decrypt_json(self, token: str) -> dict[str, Any]:
        try:
            data = json.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken as exc:
            raise ValueError("connector config cannot be decrypted: was ATENDE_SECRET_KEY changed?") from exc
        if not isinstance(data, dict):
            raise ValueError("connector config is not an object")
        return data
