"""Close reasons: the list supervisors edit, and closing a conversation with one."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from atende.actions import audit
from atende.actions import conversations as conv_actions
from atende.actions.errors import Conflict, Invalid, NotFound
from atende.auth.policy import Viewer
from atende.db.tables import attendances, close_reasons, conversations, events
from atende.db.tx import Tx
from atende.db.types import utcnow

MAX_NAME = 100


def clean_name(name: str) -> str:
    value = " ".join(name.split())
    if not value:
        raise Invalid("o motivo precisa de um nome")
    if len(value) > MAX_NAME:
        raise Invalid("nome longo demais (máximo %(max)s caracteres)", params={"max": MAX_NAME})
    return value


async def create_reason(tx: Tx, name: str, *, actor_id: int | None, ip: str | None = None) -> int:
    value = clean_name(name)
    position = await tx.conn.scalar(select(func.coalesce(func.max(close_reasons.c.position), -1) + 1))
    try:
        async with tx.conn.begin_nested():
            reason_id = int((await tx.conn.execute(insert(close_reasons).values(
                name=value, position=int(position or 0), created_at=utcnow()).returning(close_reasons.c.id)))
                .scalar_one())
    except IntegrityError:
        raise Conflict("já existe um motivo com este nome") from None
    await audit.record(tx, "close_reason.create", actor_id=actor_id, target_type="close_reason",
                       target_id=reason_id, ip=ip)
    return reason_id


async def update_reason(tx: Tx, reason_id: int, *, name: str | None = None, active: bool | None = None,
                        position: int | None = None, actor_id: int | None, ip: str | None = None) -> None:
    """Rename, retire (active=False: kept for the attendances that used it, no longer offered), reorder."""
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = clean_name(name)
    if active is not None:
        values["active"] = active
    if position is not None:
        values["position"] = position
    if not values:
        return
    try:
        async with tx.conn.begin_nested():
            result = await tx.conn.execute(update(close_reasons).where(close_reasons.c.id == reason_id)
                                           .values(**values))
    except IntegrityError:
        raise Conflict("já existe um motivo com este nome") from None
    if not result.rowcount:
        raise NotFound("motivo não encontrado")
    await audit.record(tx, "close_reason.update", actor_id=actor_id, target_type="close_reason",
                       target_id=reason_id, ip=ip, detail={k: v for k, v in values.items() if k != "name"})


async def close(tx: Tx, conversation_id: int, *, actor_id: int | None = None, reason_id: int | None = None,
                by: Viewer | None = None) -> None:
    """Close (conversations.close) and, when given, record why on the attendance that ends. The reason's
    name rides on the closing event, so the thread's line and the reports read it without a join."""
    reason = None
    if reason_id is not None:
        reason = (await tx.conn.execute(select(close_reasons.c.id, close_reasons.c.name, close_reasons.c.active)
                                        .where(close_reasons.c.id == reason_id))).first()
        if reason is None or not reason.active:
            raise Invalid("motivo de encerramento inválido", code="close_reason")
    before = tx.last_event_id
    was_open = await tx.conn.scalar(select(conversations.c.status).where(conversations.c.id == conversation_id))
    await conv_actions.close(tx, conversation_id, actor_id=actor_id, by=by)  # the policy decides
    if reason is None or was_open == "done":
        return
    attendance_id = await tx.conn.scalar(select(conversations.c.current_attendance_id)
                                         .where(conversations.c.id == conversation_id))
    if attendance_id is not None:
        await tx.conn.execute(update(attendances).where(attendances.c.id == attendance_id)
                              .values(close_reason_id=reason.id))
    # The closing event was appended in this transaction and is not published before the commit.
    closed_event = await tx.conn.execute(
        select(events.c.id, events.c.payload).where(events.c.conversation_id == conversation_id,
                                                     events.c.type == "conversation.closed", events.c.id > before)
        .order_by(events.c.id.desc()).limit(1))
    row = closed_event.first()
    if row is not None:
        await tx.conn.execute(update(events).where(events.c.id == row.id).values(
            payload={**(row.payload or {}), "reason_id": int(reason.id), "reason": reason.name}))
