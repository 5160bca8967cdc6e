"""Conversation priority (low / normal / high / urgent): shown on cards, a sort option of the lists."""

from __future__ import annotations

from sqlalchemy import update

from atende.actions import conversations as conv_actions
from atende.actions.errors import Invalid, NotFound
from atende.auth import policy
from atende.auth.policy import Viewer
from atende.db.tables import conversations
from atende.db.tx import Tx
from atende.domain import priority
from atende.realtime import events


async def set_priority(tx: Tx, conversation_id: int, name: str, *, actor_id: int | None = None,
                       by: Viewer | None = None) -> bool:
    """True when it changed. Emits conversation.priority so boards and lists re-sort live. `by`: the
    person changing it (the policy decides whether they may act on this conversation)."""
    try:
        value = priority.rank(name)
    except ValueError:
        raise Invalid("prioridade inválida (low, normal, high, urgent)", code="priority") from None
    conv = await conv_actions.load(tx, conversation_id)
    await policy.require_act(tx.conn, by, conv)
    if by is not None:
        actor_id = by.id
    current = conv.priority
    if current is None:
        raise NotFound("conversa não encontrada")
    if int(current) == value:
        return False
    await tx.conn.execute(update(conversations).where(conversations.c.id == conversation_id).values(priority=value))
    await events.append(tx, "conversation.priority", {"id": conversation_id, "priority": name,
                                                      "previous_priority": priority.name_of(int(current)),
                                                      "actor_id": actor_id}, conversation_id)
    return True
