"""Legal hold: a conversation kept out of retention (and out of erasure) while a legal matter needs
it. Supervisors set it with a reason; every change is audited."""

from __future__ import annotations

from sqlalchemy import select, update

from atende.actions import audit
from atende.actions.errors import Invalid, NotFound
from atende.auth import policy
from atende.db.tables import conversations
from atende.db.tx import Tx
from atende.db.types import utcnow
from atende.realtime import events

MAX_REASON = 500
# What the policy and the live events need of the conversation.
_SCOPE = (conversations.c.id, conversations.c.contact_id, conversations.c.team_id, conversations.c.assignee_id,
          conversations.c.status)


async def set_hold(tx: Tx, conversation_id: int, reason: str, *, actor_id: int | None = None, ip: str | None = None,
                   by: policy.Viewer | None = None) -> None:
    """`by`: who asks (auth.policy.require_hold_on); their id and address are recorded."""
    if by is not None:
        actor_id, ip = by.id, by.ip
    reason = reason.strip()
    if not reason:
        raise Invalid("informe o motivo da retenção legal")
    if len(reason) > MAX_REASON:
        raise Invalid(f"o motivo tem no máximo {MAX_REASON} caracteres")
    row = (await tx.conn.execute(select(*_SCOPE).where(conversations.c.id == conversation_id)
                                 .with_for_update())).first()
    if row is None:
        raise NotFound("conversa não encontrada")
    await policy.require_hold_on(tx.conn, by, row)
    await tx.conn.execute(update(conversations).where(conversations.c.id == conversation_id).values(
        legal_hold_at=utcnow(), legal_hold_by=actor_id, legal_hold_reason=reason))
    await audit.record(tx, "conversation.legal_hold", actor_id=actor_id, target_type="conversation",
                       target_id=conversation_id, contact_id=int(row.contact_id), ip=ip, detail={"reason": reason})
    await events.append(tx, "conversation.legal_hold", {**policy.event_scope(row), "id": conversation_id,
                                                        "legal_hold": True}, conversation_id)


async def release_hold(tx: Tx, conversation_id: int, *, actor_id: int | None = None, ip: str | None = None,
                       by: policy.Viewer | None = None) -> bool:
    if by is not None:
        actor_id, ip = by.id, by.ip
    row = (await tx.conn.execute(select(*_SCOPE, conversations.c.legal_hold_at)
                                 .where(conversations.c.id == conversation_id).with_for_update())).first()
    if row is None:
        raise NotFound("conversa não encontrada")
    await policy.require_hold_on(tx.conn, by, row)
    if row.legal_hold_at is None:
        return False
    await tx.conn.execute(update(conversations).where(conversations.c.id == conversation_id).values(
        legal_hold_at=None, legal_hold_by=None, legal_hold_reason=None))
    await audit.record(tx, "conversation.legal_hold_release", actor_id=actor_id, target_type="conversation",
                       target_id=conversation_id, contact_id=int(row.contact_id), ip=ip)
    await events.append(tx, "conversation.legal_hold", {**policy.event_scope(row), "id": conversation_id,
                                                        "legal_hold": False}, conversation_id)
    return True
