"""The contact.updated event, carrying the scopes of the contact's conversations (who may see it, live:
auth.policy.event_filter). Its own module: contacts and the Odoo bridge both write it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from atende.auth import policy
from atende.db.tx import Tx
from atende.realtime import events


async def contact_event(tx: Tx, contact_id: int, payload: Mapping[str, Any]) -> None:
    """A contact event carries the scopes of the contact's conversations (who may see it, live)."""
    await events.append(tx, "contact.updated", {
        "id": contact_id, "contact_id": contact_id, **payload,
        "contact_conversations": await policy.contact_scope(tx.conn, contact_id)})
