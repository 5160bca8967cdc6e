"""Meta webhook authentication: `X-Hub-Signature-256` and the GET `hub.challenge` handshake.

The same scheme covers WhatsApp, Messenger and Instagram webhooks. The HMAC is computed over the
RAW request bytes: Meta signs an escaped-unicode body ("ä" → `\\u00e4`, "/" → `\\/`), so any
re-serialisation of parsed JSON would produce different bytes.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from atende.channels.base import WebhookRejected

SIGNATURE_HEADER = "x-hub-signature-256"
_PREFIX = "sha256="


def sign(raw: bytes, app_secret: str) -> str:
    """The header value Meta would send for `raw`: `"sha256=<hex HMAC-SHA256>"`."""
    mac = hmac.new(app_secret.encode("utf-8"), raw, hashlib.sha256).hexdigest()
    return _PREFIX + mac


def valid_signature(raw: bytes, header: str | None, app_secret: str) -> bool:
    """True when `header` is `sha256=<hex>` of HMAC-SHA256(app_secret, raw); constant-time compare."""
    if not header or not app_secret:
        return False
    header = header.strip()
    if not header.startswith(_PREFIX):
        return False
    candidate = header[len(_PREFIX) :]
    if not candidate.isascii():
        return False
    expected = hmac.new(app_secret.encode("utf-8"), raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode("ascii"), candidate.lower().encode("ascii"))


def verify_handshake(query: Mapping[str, str], verify_token: str) -> str:
    """Answer Meta's GET verification: return `hub.challenge` (to send back as the plain-text body).

    Raises WebhookRejected(403) unless `hub.mode` is "subscribe" and `hub.verify_token` equals
    ours (constant-time), and WebhookRejected(400) when the challenge is missing.
    """
    mode = query.get("hub.mode")
    token = query.get("hub.verify_token")
    if mode != "subscribe" or token is None or not verify_token:
        raise WebhookRejected(403, "Forbidden")
    given = token.encode("utf-8", "surrogatepass")
    if not hmac.compare_digest(given, verify_token.encode("utf-8", "surrogatepass")):
        raise WebhookRejected(403, "Forbidden")
    challenge = query.get("hub.challenge")
    if not challenge:
        raise WebhookRejected(400, "missing hub.challenge")
    return challenge
