"""Edits and deletions of messages already stored (WhatsApp `edit` / `revoke`, echoes included).

An edit changes the message's text (or caption) and sets `edited_at`; every version stays in
`attributes`: `original_text` and `edits: [{"id", "text", "at"}]` in time order, so a late edit never
overwrites a newer one. A deletion sets `deleted_at` and keeps the content: supervisors still read it
(the audit needs it), agents see a placeholder (`atende.db.queries.visible_message`).

The same revision delivered twice changes nothing (its provider id is remembered).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update

from atende.channels.base import InboundMessage
from atende.db.tables import conversations, messages
from atende.db.tx import Tx
from atende.db.types import utcnow
from atende.domain.previews import preview_of
from atende.realtime import events

DELETED_PREVIEW = "🚫 Mensagem apagada"


async def _target(tx: Tx, connector_id: int, msg: InboundMessage) -> Any:
    """The message revised, when it is ours to change: same connector, same direction (a customer
    cannot edit what we sent), and from the same thread."""
    row = (await tx.conn.execute(
        select(messages.c.id, messages.c.conversation_id, messages.c.direction, messages.c.text,
               messages.c.attributes, messages.c.edited_at, messages.c.deleted_at, conversations.c.address_key)
        .select_from(messages.join(conversations, conversations.c.id == messages.c.conversation_id))
        .where(messages.c.connector_id == connector_id, messages.c.provider_message_id == msg.revises)
        .with_for_update(of=messages))).first()
    if row is None or row.direction != msg.direction:
        return None
    return row


async def _is_last(tx: Tx, conversation_id: int, message_id: int) -> bool:
    newest = await tx.conn.scalar(select(func.max(messages.c.id)).where(messages.c.conversation_id == conversation_id))
    return newest == message_id


async def apply_revision(tx: Tx, connector_id: int, msg: InboundMessage, same_thread: frozenset[str]) -> bool:
    """Apply an edit or deletion; False when the revised message is unknown (the caller then keeps
    the revision as a message of its own, so nothing is lost). `same_thread`: the address keys the
    revision may come from (its sender's, in every spelling)."""
    target = await _target(tx, connector_id, msg)
    if target is None or (same_thread and target.address_key not in same_thread):
        return False
    if msg.revision == "delete":
        await _delete(tx, target, msg)
    else:
        await _edit(tx, target, msg)
    return True


async def _delete(tx: Tx, target: Any, msg: InboundMessage) -> None:
    if target.deleted_at is not None:
        return  # delivered twice
    attributes = {**(target.attributes or {}), "deleted_by": "customer" if msg.direction == "in" else "business",
                  "deletion_id": msg.provider_message_id}
    await tx.conn.execute(update(messages).where(messages.c.id == target.id).values(
        deleted_at=msg.timestamp, attributes=attributes, updated_at=utcnow()))
    if await _is_last(tx, target.conversation_id, target.id):
        await tx.conn.execute(update(conversations).where(conversations.c.id == target.conversation_id)
                              .values(last_message_preview=DELETED_PREVIEW))
    # No content in the event: every connected browser receives it.
    await events.append(tx, "message.updated", {
        "id": target.id, "conversation_id": target.conversation_id, "deleted_at": msg.timestamp.isoformat(),
    }, target.conversation_id)


async def _edit(tx: Tx, target: Any, msg: InboundMessage) -> None:
    attributes = dict(target.attributes or {})
    edits = [e for e in attributes.get("edits") or [] if isinstance(e, dict)]
    if any(e.get("id") == msg.provider_message_id for e in edits):
        return  # delivered twice
    if not edits:
        attributes["original_text"] = target.text
    edits.append({"id": msg.provider_message_id, "text": msg.text, "at": msg.timestamp.isoformat()})
    edits.sort(key=lambda e: str(e.get("at")))
    attributes["edits"] = edits
    newest = edits[-1]
    text = newest.get("text")
    edited_at = max(msg.timestamp, target.edited_at) if target.edited_at else msg.timestamp
    await tx.conn.execute(update(messages).where(messages.c.id == target.id).values(
        text=text, edited_at=edited_at, attributes=attributes, updated_at=utcnow()))
    if target.deleted_at is None and await _is_last(tx, target.conversation_id, target.id):
        preview = preview_of(msg.kind, text)
        if preview:
            await tx.conn.execute(update(conversations).where(conversations.c.id == target.conversation_id)
                                  .values(last_message_preview=preview))
    await events.append(tx, "message.updated", {
        "id": target.id, "conversation_id": target.conversation_id, "edited_at": edited_at.isoformat(),
    }, target.conversation_id)
