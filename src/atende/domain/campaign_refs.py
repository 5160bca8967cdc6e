"""The references a campaign hands to the provider, and reading them back. Pure, no I/O.

Every message of a campaign carries its recipient's reference; every /sms/store request carries
its batch's. Statuses and replies come back with them (kolmeya.md §3.2), and a crashed batch is
looked up by its batch reference. They never look like a message reference (those are the
business of `atende.actions.outbound`), so the two kinds cannot be confused.
"""

from __future__ import annotations

import re

__all__ = ["batch_reference", "recipient_id_of", "recipient_reference"]

_RECIPIENT = re.compile(r"^cr(\d{1,18})$")


def recipient_reference(recipient_id: int) -> str:
    return f"cr{recipient_id}"


def recipient_id_of(reference: str | None) -> int | None:
    """The recipient a reference names, or None when it is not a campaign recipient's."""
    match = _RECIPIENT.match(reference or "")
    return int(match.group(1)) if match else None


def batch_reference(campaign_id: int, batch_no: int) -> str:
    return f"atende-c{campaign_id}-b{batch_no}"
