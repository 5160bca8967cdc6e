"""Read receipts: when an agent reads a conversation, tell the channel (WhatsApp blue ticks)."""

from __future__ import annotations

from sqlalchemy import select

from atende.db.tables import conversations
from atende.db.tx import Tx
from atende.jobs.queue import enqueue

#: Channels whose provider accepts read receipts (capabilities.read_receipts).
READ_RECEIPT_CHANNELS = frozenset({"whatsapp"})


async def queue_read_receipt(tx: Tx, conversation_id: int) -> bool:
    """Enqueue a `mark_read` job for the conversation (one pending per conversation; the job marks
    the newest inbound message when it runs)."""
    channel = await tx.conn.scalar(select(conversations.c.channel).where(conversations.c.id == conversation_id))
    if channel not in READ_RECEIPT_CHANNELS:
        return False
    await enqueue(tx, "mark_read", {"conversation_id": conversation_id}, dedup_key=f"read:{conversation_id}",
                  max_attempts=4)
    return True
