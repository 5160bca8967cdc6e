"""Reads of the audit log: newest first, keyset by id."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from atende.db.queries import MAX_LIMIT, cursor_id, decode_cursor, encode_cursor, iso
from atende.db.tables import audit_log


def audit_dict(row: Any) -> dict[str, Any]:
    return {"id": row.id, "at": iso(row.at), "actor_id": row.actor_id, "action": row.action,
            "target_type": row.target_type, "target_id": row.target_id, "contact_id": row.contact_id,
            "ip": row.ip, "detail": row.detail or {}}


async def audit_page(
    conn: AsyncConnection, *, actor_id: int | None = None, action: str | None = None,
    target_type: str | None = None, target_id: int | None = None, contact_id: int | None = None,
    since: datetime | None = None, until: datetime | None = None, limit: int = 50, cursor: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """`action` ending in "." is a prefix ("login." → every login entry); otherwise exact."""
    limit = max(1, min(limit, MAX_LIMIT))
    stmt = select(audit_log)
    if actor_id is not None:
        stmt = stmt.where(audit_log.c.actor_id == actor_id)
    if action:
        if action.endswith("."):
            stmt = stmt.where(audit_log.c.action >= action, audit_log.c.action < action[:-1] + "/")
        else:
            stmt = stmt.where(audit_log.c.action == action)
    if target_type is not None:
        stmt = stmt.where(audit_log.c.target_type == target_type)
    if target_id is not None:
        stmt = stmt.where(audit_log.c.target_id == target_id)
    if contact_id is not None:
        stmt = stmt.where(audit_log.c.contact_id == contact_id)
    if since is not None:
        stmt = stmt.where(audit_log.c.at >= since)
    if until is not None:
        stmt = stmt.where(audit_log.c.at < until)
    if cursor:
        (before,) = decode_cursor(cursor, 1)
        stmt = stmt.where(audit_log.c.id < cursor_id(before))
    rows = list(await conn.execute(stmt.order_by(audit_log.c.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return [audit_dict(r) for r in rows], (encode_cursor(rows[-1].id) if more else None)
