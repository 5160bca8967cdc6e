"""The routing engine: auto-assignment to online agents, auto-release, auto-close."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, func, select

from atende.actions import conversations as conv_actions
from atende.db.tables import attendances, conversation_counts, conversations, users
from atende.db.tx import Tx
from atende.db.types import utcnow
from atende.jobs.queue import enqueue

SWEEP_LIMIT = 200


async def pick_agent(tx: Tx) -> int | None:
    """The online agent with the fewest open conversations, below capacity (ties: lowest id)."""
    load = (
        select(conversation_counts.c.assignee_id, func.sum(conversation_counts.c.n).label("n"))
        .where(conversation_counts.c.status == "open")
        .group_by(conversation_counts.c.assignee_id)
        .subquery()
    )
    open_n = func.coalesce(load.c.n, 0)
    row = (await tx.conn.execute(
        select(users.c.id)
        .select_from(users.outerjoin(load, load.c.assignee_id == users.c.id))
        .where(users.c.active.is_(True), users.c.presence == "online", open_n < users.c.capacity)
        .order_by(open_n, users.c.id)
        .limit(1)
    )).first()
    return int(row.id) if row else None


async def route_conversation(tx: Tx, conversation_id: int) -> int | None:
    conv = await conv_actions.load(tx, conversation_id)
    if conv.status != "new" or conv.assignee_id is not None:
        return None
    agent_id = await pick_agent(tx)
    if agent_id is not None:
        await conv_actions.assign(tx, conversation_id, agent_id, actor_id=None)
    return agent_id


async def route_waiting(tx: Tx) -> int:
    """Assign waiting conversations, oldest first, while agents have room."""
    rows = await tx.conn.execute(
        select(conversations.c.id).where(conversations.c.status == "new")
        .order_by(conversations.c.last_activity_at).limit(SWEEP_LIMIT))
    assigned = 0
    for row in list(rows):
        if await route_conversation(tx, int(row.id)) is None:
            break
        assigned += 1
    return assigned


async def auto_release_unanswered(tx: Tx, after: timedelta) -> int:
    """Open conversations nobody answered within `after` of being taken go back to the queue."""
    cutoff = utcnow() - after
    rows = await tx.conn.execute(
        select(conversations.c.id)
        .select_from(conversations.join(attendances, attendances.c.id == conversations.c.current_attendance_id))
        .where(conversations.c.status == "open", attendances.c.first_response_at.is_(None),
               attendances.c.assigned_at < cutoff)
        .limit(SWEEP_LIMIT))
    ids = [int(r.id) for r in rows]
    for conversation_id in ids:
        await conv_actions.release(tx, conversation_id, actor_id=None, reason="sem resposta do agente")
        await enqueue(tx, "route", {"conversation_id": conversation_id}, dedup_key=f"route:{conversation_id}")
    return len(ids)


async def auto_close_idle(tx: Tx, after: timedelta) -> int:
    """Open conversations with no activity for `after` are concluded."""
    rows = await tx.conn.execute(
        select(conversations.c.id)
        .where(and_(conversations.c.status == "open", conversations.c.last_activity_at < utcnow() - after))
        .limit(SWEEP_LIMIT))
    ids = [int(r.id) for r in rows]
    for conversation_id in ids:
        await conv_actions.close(tx, conversation_id, actor_id=None)
    return len(ids)
