"""Read receipts: when an agent reads a conversation, tell the channel (WhatsApp blue ticks,
Messenger and Instagram "seen") where the connector's provider can (`capabilities.read_receipts`)."""

from __future__ import annotations

from sqlalchemy import select

from atende.channels.registry import UnknownProvider, provider_type
from atende.db.tables import connectors, conversations
from atende.db.tx import Tx
from atende.jobs.queue import enqueue


async def queue_read_receipt(tx: Tx, conversation_id: int) -> bool:
    """Enqueue a `mark_read` job for the conversation (one pending per conversation; the job marks
    the newest inbound message when it runs)."""
    provider = await tx.conn.scalar(select(connectors.c.provider).select_from(
        conversations.join(connectors, connectors.c.id == conversations.c.connector_id))
        .where(conversations.c.id == conversation_id))
    try:
        receipts = provider is not None and provider_type(provider).capabilities.read_receipts
    except UnknownProvider:
        receipts = False
    if not receipts:
        return False
    await enqueue(tx, "mark_read", {"conversation_id": conversation_id}, dedup_key=f"read:{conversation_id}",
                  max_attempts=4)
    return True
