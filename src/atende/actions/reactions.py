"""Reactions (WhatsApp 👍 on a message): stored as kind "reaction" messages linked to their target by
`reply_to_id`, and summed up on the target as `attributes.reactions` so a message shows them.

One reaction per side and message (as in WhatsApp): a new emoji replaces the old one, an empty one
removes it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select, update

from atende.actions.errors import Conflict, NotFound
from atende.db.tables import messages
from atende.db.tx import Tx
from atende.db.types import utcnow
from atende.realtime import events

Side = Literal["customer", "agent"]


async def apply_reaction(
    tx: Tx, target_id: int, *, side: Side, emoji: str | None, at: datetime, reaction_id: int | None = None,
    author_id: int | None = None,
) -> None:
    """Record (or remove, with an empty emoji) `side`'s reaction on message `target_id`."""
    row = (await tx.conn.execute(select(messages.c.id, messages.c.conversation_id, messages.c.attributes)
                                 .where(messages.c.id == target_id).with_for_update())).first()
    if row is None:
        return
    attributes = dict(row.attributes or {})
    current = [r for r in attributes.get("reactions") or [] if isinstance(r, dict)]
    mine = next((r for r in current if r.get("from") == side), None)
    if mine is not None and str(mine.get("at", "")) > at.isoformat():
        return  # a newer reaction of this side is already applied (webhooks arrive out of order)
    others = [r for r in current if r.get("from") != side]
    if emoji:
        entry: dict[str, Any] = {"from": side, "emoji": emoji, "at": at.isoformat()}
        if reaction_id is not None:
            entry["message_id"] = reaction_id
        if author_id is not None:
            entry["author_id"] = author_id
        others.append(entry)
    if others == current:
        return
    attributes["reactions"] = others
    await tx.conn.execute(update(messages).where(messages.c.id == target_id)
                          .values(attributes=attributes, updated_at=utcnow()))
    await events.append(tx, "message.updated", {
        "id": target_id, "conversation_id": row.conversation_id, "reactions": others,
    }, row.conversation_id)


async def react(tx: Tx, connector: Any, target_id: int, emoji: str, *, author_id: int | None,
                by: Any = None) -> int:
    """An agent reacts to a message (empty emoji: removes the reaction): queued like any send, under the
    same rule as a reply (`by`: the person reacting)."""
    from atende.actions import outbound
    from atende.auth import policy

    if by is not None:
        author_id = by.id

    target = (await tx.conn.execute(select(messages.c.id, messages.c.conversation_id, messages.c.connector_id,
                                           messages.c.provider_message_id, messages.c.kind)
                                    .where(messages.c.id == target_id))).first()
    if target is None or target.connector_id != connector.id:
        raise NotFound("mensagem não encontrada")
    if by is not None:
        from atende.actions.conversations import load

        try:
            await policy.require_act(tx.conn, by, await load(tx, int(target.conversation_id)))
        except NotFound:
            raise NotFound("mensagem não encontrada") from None
    if not connector.capabilities.reactions:
        raise Conflict("este canal não aceita reações", code="reactions_unsupported")
    if not target.provider_message_id or target.kind in ("note", "event", "reaction"):
        raise Conflict("só é possível reagir a mensagens entregues pelo canal", code="not_reactable")
    message_id = await outbound.queue_message(tx, connector, int(target.conversation_id), text=emoji,
                                              kind="reaction", author_id=author_id, reply_to_id=target_id,
                                              take=False, by=by)
    await apply_reaction(tx, target_id, side="agent", emoji=emoji, at=utcnow(), reaction_id=message_id,
                         author_id=author_id)
    return message_id
