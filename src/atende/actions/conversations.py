"""Conversation lifecycle: new (waiting) → open (em atendimento) → done (concluído).

Every change keeps the board counters, the attendance row and the events log in step, in the
caller's transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from atende.actions.errors import Conflict, Invalid, NotFound
from atende.db.tables import attendances, conversation_counts, conversations, users
from atende.db.tx import Tx
from atende.db.types import utcnow
from atende.realtime import events


async def bump_count(tx: Tx, channel: str, status: str, assignee_id: int | None, delta: int) -> None:
    mod = postgresql if tx.dialect == "postgresql" else sqlite
    stmt = mod.insert(conversation_counts).values(
        channel=channel, status=status, assignee_id=assignee_id or 0, n=delta
    )
    await tx.conn.execute(stmt.on_conflict_do_update(
        index_elements=["channel", "status", "assignee_id"],
        set_={"n": conversation_counts.c.n + delta},
    ))


async def load(tx: Tx, conversation_id: int) -> Any:
    row = (await tx.conn.execute(
        select(conversations).where(conversations.c.id == conversation_id).with_for_update()
    )).first()
    if row is None:
        raise NotFound("conversa não encontrada")
    return row


async def start_attendance(tx: Tx, conversation_id: int, at: datetime, assignee_id: int | None = None) -> int:
    return int((await tx.conn.execute(
        insert(attendances).values(
            conversation_id=conversation_id, started_at=at, assignee_id=assignee_id,
            assigned_at=at if assignee_id else None,
        ).returning(attendances.c.id)
    )).scalar_one())


async def create(
    tx: Tx, *, connector_id: int, contact_id: int, channel: str, address: str, address_key: str,
    at: datetime, status: str = "new",
) -> int:
    values = dict(
        connector_id=connector_id, contact_id=contact_id, channel=channel, address=address,
        address_key=address_key, status=status, last_activity_at=at, created_at=utcnow(),
    )
    mod = postgresql if tx.dialect == "postgresql" else sqlite
    # Two processes may see the same new customer at once (PostgreSQL): the unique key decides.
    result = await tx.conn.execute(
        mod.insert(conversations).values(**values).on_conflict_do_nothing().returning(conversations.c.id)
    )
    conversation_id = result.scalar()
    if conversation_id is None:
        existing = await tx.conn.scalar(select(conversations.c.id).where(
            conversations.c.connector_id == connector_id, conversations.c.address_key == address_key))
        assert existing is not None
        return int(existing)
    conversation_id = int(conversation_id)
    if status != "done":
        attendance_id = await start_attendance(tx, conversation_id, at)
        await tx.conn.execute(update(conversations).where(conversations.c.id == conversation_id)
                              .values(current_attendance_id=attendance_id))
    await bump_count(tx, channel, status, None, 1)
    await events.append(tx, "conversation.created", {"id": conversation_id, "status": status,
                                                      "channel": channel}, conversation_id)
    return conversation_id


async def _transition(
    tx: Tx, conv: Any, status: str, assignee_id: int | None, *, actor_id: int | None, event: str,
    note: str | None = None,
) -> None:
    now = utcnow()
    values: dict[str, Any] = {"status": status, "assignee_id": assignee_id}
    attendance_id = conv.current_attendance_id
    if status in ("new", "open") and (conv.status == "done" or attendance_id is None):
        attendance_id = await start_attendance(tx, conv.id, now, assignee_id)
        values["current_attendance_id"] = attendance_id
    elif attendance_id is not None:
        att: dict[str, Any] = {}
        if status == "done":
            att.update(closed_at=now, closed_by=actor_id)
        if assignee_id is not None and assignee_id != conv.assignee_id:
            att.update(assignee_id=assignee_id)
            att["assigned_at"] = now
        if att:
            stmt = update(attendances).where(attendances.c.id == attendance_id)
            if "assigned_at" in att:
                # The first assignment of an attendance is what response times are measured from.
                await tx.conn.execute(stmt.where(attendances.c.assigned_at.is_(None)).values(assigned_at=now))
                del att["assigned_at"]
            if att:
                await tx.conn.execute(stmt.values(**att))
    await tx.conn.execute(update(conversations).where(conversations.c.id == conv.id).values(**values))
    if status == "done" and conv.status != "done" and attendance_id is not None:
        from atende.actions.odoo import attendance_closed  # transcript to the Odoo partner's chatter

        await attendance_closed(tx, attendance_id=attendance_id, conversation_id=conv.id, contact_id=conv.contact_id)
    if (conv.status, conv.assignee_id) != (status, assignee_id):
        await bump_count(tx, conv.channel, conv.status, conv.assignee_id, -1)
        await bump_count(tx, conv.channel, status, assignee_id, 1)
    await events.append(tx, event, {
        "id": conv.id, "status": status, "previous_status": conv.status, "assignee_id": assignee_id,
        "previous_assignee_id": conv.assignee_id, "actor_id": actor_id, "channel": conv.channel,
        **({"note": note} if note else {}),
    }, conv.id)


async def _check_agent(tx: Tx, agent_id: int) -> None:
    row = (await tx.conn.execute(select(users.c.active).where(users.c.id == agent_id))).first()
    if row is None or not row.active:
        raise Invalid("agente não encontrado ou inativo")


async def assign(tx: Tx, conversation_id: int, agent_id: int, *, actor_id: int | None) -> None:
    """Take (assign to self) or transfer (assign to another agent). Done conversations reopen."""
    await _check_agent(tx, agent_id)
    conv = await load(tx, conversation_id)
    if conv.status == "open" and conv.assignee_id == agent_id:
        return
    event = "conversation.transferred" if conv.assignee_id not in (None, agent_id) else "conversation.assigned"
    await _transition(tx, conv, "open", agent_id, actor_id=actor_id, event=event)


async def release(tx: Tx, conversation_id: int, *, actor_id: int | None, reason: str | None = None) -> None:
    """Back to the queue (open → new), e.g. auto-release of an unanswered chat."""
    conv = await load(tx, conversation_id)
    if conv.status != "open":
        raise Conflict("só conversas em atendimento podem voltar para a fila")
    await _transition(tx, conv, "new", None, actor_id=actor_id, event="conversation.released", note=reason)


async def close(tx: Tx, conversation_id: int, *, actor_id: int | None) -> None:
    conv = await load(tx, conversation_id)
    if conv.status == "done":
        return
    await _transition(tx, conv, "done", conv.assignee_id, actor_id=actor_id, event="conversation.closed")


async def reopen(tx: Tx, conversation_id: int, *, actor_id: int | None, assignee_id: int | None = None) -> None:
    conv = await load(tx, conversation_id)
    if conv.status != "done":
        raise Conflict("a conversa não está concluída")
    if assignee_id is not None:
        await _check_agent(tx, assignee_id)
    status = "open" if assignee_id else "new"
    await _transition(tx, conv, status, assignee_id, actor_id=actor_id, event="conversation.reopened")


async def reopen_for_inbound(tx: Tx, conv: Any) -> None:
    """An inbound message on a done conversation puts it back in the queue as new."""
    await _transition(tx, conv, "new", None, actor_id=None, event="conversation.reopened")


async def mark_read(tx: Tx, conversation_id: int) -> bool:
    result = await tx.conn.execute(
        update(conversations).where(conversations.c.id == conversation_id, conversations.c.unread > 0)
        .values(unread=0)
    )
    if result.rowcount:
        await events.append(tx, "conversation.read", {"id": conversation_id, "unread": 0}, conversation_id)
        from atende.actions.receipts import queue_read_receipt

        await queue_read_receipt(tx, conversation_id)  # WhatsApp: blue ticks for the customer
        return True
    return False
