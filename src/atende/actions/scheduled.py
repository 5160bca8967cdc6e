"""Scheduled messages: released to the send queue at their time, or failed with the reason the
channel gives then (WhatsApp's 24 h window closed, an SMS opt-out); cancelled while they wait."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update

from atende.actions import rollups
from atende.actions.errors import Conflict, Invalid, NotFound
from atende.actions.ingest import preview_of
from atende.actions.outbound import OPTED_OUT, WINDOW_CLOSED
from atende.auth import policy
from atende.auth.policy import Viewer
from atende.db.tables import contacts, conversations, jobs, messages
from atende.db.tx import Tx
from atende.db.types import utcnow
from atende.domain.window import is_window_open
from atende.realtime import events

#: How far ahead a message may be scheduled.
MAX_AHEAD = timedelta(days=90)
WINDOW_CLOSED_AT_SEND = f"{WINDOW_CLOSED} (a janela fechou antes do horário agendado)"


def check_send_at(send_at: datetime, now: datetime) -> None:
    if send_at.tzinfo is None:
        raise Invalid("send_at precisa de fuso horário (por exemplo 2025-12-01T09:00:00-03:00)")
    if send_at <= now:
        raise Invalid("send_at já passou: escolha um horário futuro", code="send_at_past")
    if send_at - now > MAX_AHEAD:
        raise Invalid("só é possível agendar até 90 dias à frente", code="send_at_too_far")


async def release(tx: Tx, message_id: int, *, channel: str, service_window_hours: int | None, now: datetime) -> bool:
    """A scheduled message's time has come: True when it is queued to go now (or already was)."""
    row = (await tx.conn.execute(select(messages).where(messages.c.id == message_id).with_for_update())).first()
    if row is None:
        return False
    if row.status != "scheduled":
        return str(row.status) in ("queued", "sending")
    conv = (await tx.conn.execute(select(conversations.c.last_inbound_at, conversations.c.contact_id).where(
        conversations.c.id == row.conversation_id))).one()
    reason = code = None
    opted_out = channel == "sms" and await tx.conn.scalar(
        select(contacts.c.sms_opted_out).where(contacts.c.id == conv.contact_id))
    if opted_out:
        reason, code = OPTED_OUT, "opted_out"
    if service_window_hours and row.kind != "template" and not is_window_open(conv.last_inbound_at, now,
                                                                             service_window_hours):
        reason, code = WINDOW_CLOSED_AT_SEND, "window_closed"
    if reason is not None:
        await tx.conn.execute(update(messages).where(messages.c.id == message_id).values(
            status="failed", error=reason, error_code=code, cost=0 if row.cost is not None else None,
            updated_at=utcnow()))
        # The author hears of it wherever they are (the workspace shows a notice), not only in the thread.
        await events.append(tx, "message.updated", {
            "id": message_id, "conversation_id": row.conversation_id, "status": "failed", "error": reason,
            "scheduled": True, "author_id": row.author_id}, row.conversation_id)
        return False
    await tx.conn.execute(update(messages).where(messages.c.id == message_id).values(
        status="queued", updated_at=utcnow()))
    full = (await tx.conn.execute(select(conversations).where(conversations.c.id == row.conversation_id))).one()
    new_day = rollups.active_day(tx, full, now) if rollups.counts_as_message(row.kind) else None
    await tx.conn.execute(update(conversations).where(conversations.c.id == row.conversation_id).values(
        last_activity_at=now, last_outbound_at=now, last_message_preview=preview_of(row.kind, row.text),
        last_message_direction="out", **({"active_on": new_day} if new_day is not None else {})))
    # Counted now, when it goes out (first response included), not when it was scheduled.
    await rollups.message_written(tx, full, at=now, direction="out", kind=row.kind, author_id=row.author_id,
                                  team_id=row.team_id, new_day=new_day)
    await events.append(tx, "message.updated", {"id": message_id, "conversation_id": row.conversation_id,
                                                "status": "queued"}, row.conversation_id)
    return True


async def cancel(tx: Tx, message_id: int, *, actor_id: int | None = None, by: Viewer | None = None) -> Any:
    """Cancel a message that is still scheduled: it stays in the thread as cancelled, its job is gone.
    `by`: whoever cancels it must be able to act on the conversation (auth.policy)."""
    row = (await tx.conn.execute(select(messages).where(messages.c.id == message_id).with_for_update())).first()
    if row is None or row.direction != "out":
        raise NotFound("mensagem não encontrada")
    if by is not None:
        conv = (await tx.conn.execute(select(conversations).where(conversations.c.id == row.conversation_id))).one()
        try:
            await policy.require_act(tx.conn, by, conv)
        except NotFound:
            raise NotFound("mensagem não encontrada") from None
        actor_id = by.id
    if row.status != "scheduled":
        raise Conflict("só mensagens ainda agendadas podem ser canceladas", code="not_scheduled")
    await tx.conn.execute(update(messages).where(messages.c.id == message_id).values(
        status="cancelled", updated_at=utcnow(), attributes={**(row.attributes or {}), "cancelled_by": actor_id}))
    await tx.conn.execute(delete(jobs).where(jobs.c.dedup_key == f"send:{message_id}", jobs.c.status == "pending"))
    await events.append(tx, "message.updated", {"id": message_id, "conversation_id": row.conversation_id,
                                                "status": "cancelled", "actor_id": actor_id}, row.conversation_id)
    return row
