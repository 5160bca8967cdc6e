"""The events log: appended inside the action's transaction, replayed by SSE with Last-Event-ID."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from atende.auth.policy import event_scope
from atende.db.prepared import hot, insert_returning_id
from atende.db.tables import conversations, events
from atende.db.tx import Tx
from atende.db.types import utcnow

_SCOPE = hot(select(conversations.c.id, conversations.c.contact_id, conversations.c.team_id,
                    conversations.c.assignee_id, conversations.c.status).where(conversations.c.id == bindparam("id")))


async def append(tx: Tx, type_: str, payload: Mapping[str, Any], conversation_id: int | None = None) -> int:
    """Append an event. A conversation's event carries the conversation's scope (contact, team, assignee,
    status) so that each live stream can filter it in memory (auth.policy.event_filter); callers that
    know it pass it in the payload, otherwise it is read here. Returns the new event's id; 0 inside a
    group commit, where events are inserted together at its end (db/write_buffer.py)."""
    data = dict(payload)
    if conversation_id is not None and "conversation_status" not in data:
        row = (await tx.conn.execute(_SCOPE, {"id": conversation_id})).first()
        if row is not None:
            for key, value in event_scope(row).items():
                data.setdefault(key, value)
    values = {"type": type_, "conversation_id": conversation_id, "payload": data, "created_at": utcnow()}
    if tx.buffer is not None:
        tx.buffer.events.append(values)
        return 0
    result = await tx.conn.execute(insert_returning_id(events), values)
    event_id = int(result.scalar_one())
    tx.last_event_id = max(tx.last_event_id, event_id)
    return event_id


async def since(conn: AsyncConnection, after_id: int, limit: int = 500) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(events).where(events.c.id > after_id).order_by(events.c.id).limit(limit)
    )
    return [dict(r._mapping) for r in rows]


async def last_id(conn: AsyncConnection) -> int:
    value = await conn.scalar(select(events.c.id).order_by(events.c.id.desc()).limit(1))
    return int(value or 0)


async def by_ids(conn: AsyncConnection, ids: list[int]) -> list[dict[str, Any]]:
    rows = await conn.execute(select(events).where(events.c.id.in_(ids)).order_by(events.c.id))
    return [dict(r._mapping) for r in rows]
