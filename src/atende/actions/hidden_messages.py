"""Hiding a sensitive message ("ocultar"): agents no longer read it, supervisors still do.

The content stays (supervisors, exports and the titular may still need it); what agents see is
decided by auth/policy.visible_message. A hidden last message also leaves the conversation's preview.
Audited both ways.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from atende.actions import audit
from atende.actions.errors import Conflict, NotFound
from atende.actions.ingest import preview_of
from atende.auth import policy
from atende.db.tables import conversations, messages
from atende.db.tx import Tx
from atende.db.types import utcnow
from atende.realtime import events

HIDDEN_PREVIEW = "🙈 Mensagem oculta"


async def _locked(tx: Tx, message_id: int) -> Any:
    row = (await tx.conn.execute(select(messages.c.id, messages.c.conversation_id, messages.c.contact_id,
                                        messages.c.kind, messages.c.text, messages.c.hidden_at)
                                 .where(messages.c.id == message_id).with_for_update())).first()
    if row is None:
        raise NotFound("mensagem não encontrada")
    return row


async def _is_last(tx: Tx, row: Any) -> bool:
    newest = await tx.conn.scalar(select(messages.c.id).where(messages.c.conversation_id == row.conversation_id)
                                  .order_by(messages.c.id.desc()).limit(1))
    return newest == row.id


async def hide(tx: Tx, message_id: int, *, actor_id: int | None = None, ip: str | None = None,
               by: policy.Viewer | None = None) -> bool:
    """`by`: who asks (auth.policy.require_hide); their id and address are recorded."""
    if by is not None:
        actor_id, ip = by.id, by.ip
    row = await _locked(tx, message_id)
    await policy.require_hide(tx.conn, by, message_id)
    if row.kind in ("event",):
        raise Conflict("esta linha não pode ser ocultada")
    if row.hidden_at is not None:
        return False
    await tx.conn.execute(update(messages).where(messages.c.id == message_id).values(
        hidden_at=utcnow(), hidden_by=actor_id))
    if await _is_last(tx, row):
        await tx.conn.execute(update(conversations).where(conversations.c.id == row.conversation_id)
                              .values(last_message_preview=HIDDEN_PREVIEW))
    await _after(tx, row, "message.hide", True, actor_id, ip)
    return True


async def unhide(tx: Tx, message_id: int, *, actor_id: int | None = None, ip: str | None = None,
                 by: policy.Viewer | None = None) -> bool:
    if by is not None:
        actor_id, ip = by.id, by.ip
    row = await _locked(tx, message_id)
    await policy.require_show_again(tx.conn, by, message_id)
    if row.hidden_at is None:
        return False
    await tx.conn.execute(update(messages).where(messages.c.id == message_id).values(hidden_at=None, hidden_by=None))
    if await _is_last(tx, row):
        await tx.conn.execute(update(conversations).where(conversations.c.id == row.conversation_id)
                              .values(last_message_preview=preview_of(row.kind, row.text)))
    await _after(tx, row, "message.unhide", False, actor_id, ip)
    return True


async def _after(tx: Tx, row: Any, action: str, hidden: bool, actor_id: int | None, ip: str | None) -> None:
    await audit.record(tx, action, actor_id=actor_id, target_type="message", target_id=int(row.id),
                       contact_id=int(row.contact_id), ip=ip, detail={"conversation_id": int(row.conversation_id)})
    conv = (await tx.conn.execute(select(conversations.c.id, conversations.c.contact_id, conversations.c.team_id,
                                         conversations.c.assignee_id, conversations.c.status)
                                  .where(conversations.c.id == row.conversation_id))).one()
    await events.append(tx, "message.updated", {**policy.event_scope(conv), "id": int(row.id),
                                                "hidden": hidden}, int(row.conversation_id))
