"""The references a campaign hands to the provider, and reading them back. Pure, no I/O.

Every message of a campaign carries its recipient's reference; every /sms/store request carries
its batch's. Statuses and replies come back with them (kolmeya.md §3.2), and a crashed batch is
looked up by its batch reference. They never look like a message reference (those are the
business of `atende.actions.references`), so the two kinds cannot be confused.

A recipient's reference is `cr<id>.<tag>`: the id finds the row by its primary key (no index to
keep on 100,000-row lists), the tag (an HMAC of the id under the campaign's own random key) proves
that whoever echoes it saw our message, so a forged report cannot name a recipient by guessing ids.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

__all__ = ["batch_reference", "genuine", "new_key", "recipient_id_of", "recipient_reference"]

_RECIPIENT = re.compile(r"^cr(\d{1,18})\.([A-Za-z0-9_-]{16})$")


def new_key() -> str:
    """A campaign's reference key (stored on the campaign row)."""
    return secrets.token_hex(16)


def _tag(recipient_id: int, key: str) -> str:
    digest = hmac.new(key.encode(), f"cr{recipient_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:16]  # 96 bits


def recipient_reference(recipient_id: int, key: str) -> str:
    return f"cr{recipient_id}.{_tag(recipient_id, key)}"


def recipient_id_of(reference: str | None) -> int | None:
    """The recipient a reference claims to name (check it with `genuine`), or None when it cannot be a
    campaign recipient's."""
    match = _RECIPIENT.match(reference or "")
    return int(match.group(1)) if match else None


def genuine(reference: str | None, recipient_id: int, key: str | None) -> bool:
    """Did we hand out this reference for this recipient?"""
    match = _RECIPIENT.match(reference or "")
    if match is None or key is None or int(match.group(1)) != recipient_id:
        return False
    return hmac.compare_digest(match.group(2), _tag(recipient_id, key))


def batch_reference(campaign_id: int, batch_no: int) -> str:
    return f"atende-c{campaign_id}-b{batch_no}"
