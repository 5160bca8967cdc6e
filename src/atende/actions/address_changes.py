"""A customer's address changed on a signed channel (WhatsApp `user_changed_number`,
`user_changed_user_id`): the conversation follows them and their contact gains the new identity.

Only signed providers may do this (design.md rule 10): an unsigned payload never moves a
conversation to another number. The system line itself is the message ingest stores.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update

from atende.actions import contacts as contact_actions
from atende.channels.base import AddressChange
from atende.db.tables import contact_identities, conversations
from atende.db.tx import Tx
from atende.db.types import utcnow
from atende.realtime import events


async def add_identity(tx: Tx, contact_id: int, address: str, channel: str, attributes: dict[str, Any]) -> bool:
    """Give the contact this identity unless someone already has it (never taken from another)."""
    kind, value = contact_actions.identity_of(address, channel)
    values = contact_actions.address_variants(value) if kind == "phone" else (value,)
    owner = await tx.conn.scalar(select(contact_identities.c.contact_id).where(
        contact_identities.c.kind == kind, contact_identities.c.value.in_(values)).limit(1))
    if owner is not None:
        return False
    await tx.conn.execute(insert(contact_identities).values(
        contact_id=contact_id, kind=kind, value=value, attributes=attributes, created_at=utcnow()))
    return True


def _same_form(old: str, new: str) -> bool:
    """A phone replaces a phone, a BSUID a BSUID: a phone-addressed thread keeps its phone when only
    the BSUID changed (the new one is added to the contact)."""
    return old.startswith("+") == new.startswith("+")


async def move_address(tx: Tx, conversation: Any, channel: str, change: AddressChange) -> bool:
    """Move the conversation to `change.new_address` (unless another conversation of the connector
    already has it) and add the identity to its contact. True when the conversation moved."""
    added = await add_identity(tx, int(conversation.contact_id), change.new_address, channel, dict(change.identity))
    new_key = contact_actions.address_key(change.new_address, channel)
    moved = False
    if _same_form(conversation.address, change.new_address) and new_key != conversation.address_key:
        taken = await tx.conn.scalar(select(conversations.c.id).where(
            conversations.c.connector_id == conversation.connector_id,
            conversations.c.address_key.in_(contact_actions.address_variants(new_key)),
            conversations.c.id != conversation.id))
        if taken is None:
            await tx.conn.execute(update(conversations).where(conversations.c.id == conversation.id)
                                  .values(address=change.new_address, address_key=new_key))
            moved = True
    if moved or added:
        await contact_actions.contact_event(tx, int(conversation.contact_id), {})
    if moved:
        await events.append(tx, "conversation.updated", {
            "id": int(conversation.id), "address": change.new_address,
        }, int(conversation.id))
    return moved
