"""Reads of the close reasons (a short list) and of how attendances ended, for reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from atende.db.queries import iso
from atende.db.tables import attendances, close_reasons, conversations


def reason_dict(row: Any) -> dict[str, Any]:
    return {"id": int(row.id), "name": row.name, "active": bool(row.active), "position": int(row.position),
            "created_at": iso(row.created_at)}


async def reasons(conn: AsyncConnection, *, active_only: bool = False) -> list[dict[str, Any]]:
    stmt = select(close_reasons)
    if active_only:
        stmt = stmt.where(close_reasons.c.active.is_(True))
    rows = await conn.execute(stmt.order_by(close_reasons.c.position, close_reasons.c.name, close_reasons.c.id))
    return [reason_dict(r) for r in rows]


async def current_reason(conn: AsyncConnection, conversation_id: int) -> dict[str, Any] | None:
    """The reason the conversation's current (last) attendance was closed with, if any."""
    row = (await conn.execute(
        select(close_reasons.c.id, close_reasons.c.name)
        .select_from(conversations.join(attendances, attendances.c.id == conversations.c.current_attendance_id)
                     .join(close_reasons, close_reasons.c.id == attendances.c.close_reason_id))
        .where(conversations.c.id == conversation_id))).first()
    return {"id": int(row.id), "name": row.name} if row else None


async def summary(conn: AsyncConnection, start: datetime, end: datetime, *, channel: str | None = None,
                  agent_id: int | None = None) -> list[dict[str, Any]]:
    """Attendances closed in [start, end) per reason (reason None: closed without one), most first.
    Reads the attendances' closed_at index; the set is one period's closes, grouped in the database."""
    conds = [attendances.c.closed_at >= start, attendances.c.closed_at < end]
    src = attendances.outerjoin(close_reasons, close_reasons.c.id == attendances.c.close_reason_id)
    if channel:
        src = src.join(conversations, conversations.c.id == attendances.c.conversation_id)
        conds.append(conversations.c.channel == channel)
    if agent_id is not None:
        conds.append(attendances.c.assignee_id == agent_id)
    rows = await conn.execute(
        select(close_reasons.c.id, close_reasons.c.name, func.count().label("n")).select_from(src)
        .where(and_(*conds)).group_by(close_reasons.c.id, close_reasons.c.name))
    items = [{"reason_id": int(r.id) if r.id is not None else None, "name": r.name, "closed": int(r.n)}
             for r in rows]
    return sorted(items, key=lambda i: (-i["closed"], i["name"] or ""))
