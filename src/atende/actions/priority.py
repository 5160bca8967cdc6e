"""Conversation priority (low / normal / high / urgent): shown on cards, a sort option of the lists."""

from __future__ import annotations

from sqlalchemy import select, update

from atende.actions.errors import Invalid, NotFound
from atende.db.tables import conversations
from atende.db.tx import Tx
from atende.domain import priority
from atende.realtime import events


async def set_priority(tx: Tx, conversation_id: int, name: str, *, actor_id: int | None) -> bool:
    """True when it changed. Emits conversation.priority so boards and lists re-sort live."""
    try:
        value = priority.rank(name)
    except ValueError:
        raise Invalid("prioridade inválida (low, normal, high, urgent)", code="priority") from None
    current = await tx.conn.scalar(select(conversations.c.priority).where(conversations.c.id == conversation_id)
                                   .with_for_update())
    if current is None:
        raise NotFound("conversa não encontrada")
    if int(current) == value:
        return False
    await tx.conn.execute(update(conversations).where(conversations.c.id == conversation_id).values(priority=value))
    await events.append(tx, "conversation.priority", {"id": conversation_id, "priority": name,
                                                      "previous_priority": priority.name_of(int(current)),
                                                      "actor_id": actor_id}, conversation_id)
    return True
