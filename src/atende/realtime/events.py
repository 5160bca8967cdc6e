"""The events log: appended inside the action's transaction, replayed by SSE with Last-Event-ID."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from atende.db.prepared import insert_returning_id
from atende.db.tables import events
from atende.db.tx import Tx
from atende.db.types import utcnow


async def append(tx: Tx, type_: str, payload: Mapping[str, Any], conversation_id: int | None = None) -> int:
    """The new event's id; 0 inside a group commit, where events are inserted together at its end."""
    row = {"type": type_, "conversation_id": conversation_id, "payload": dict(payload), "created_at": utcnow()}
    if tx.buffer is not None:
        tx.buffer.events.append(row)
        return 0
    result = await tx.conn.execute(insert_returning_id(events), row)
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
