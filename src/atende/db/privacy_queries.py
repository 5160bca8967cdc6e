"""Reads for LGPD: the consent ledger, the request log, legal holds."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from atende.db.queries import MAX_LIMIT, cursor_id, decode_cursor, encode_cursor, iso
from atende.db.tables import consents, contacts, conversations, data_requests
from atende.db.types import utcnow


async def consents_of(conn: AsyncConnection, contact_id: int) -> dict[str, Any] | None:
    """The ledger of a contact, oldest first, and the current state per channel."""
    contact = (await conn.execute(select(contacts).where(contacts.c.id == contact_id))).first()
    if contact is None:
        return None
    rows = list(await conn.execute(select(consents).where(consents.c.contact_id == contact_id)
                                   .order_by(consents.c.id)))
    current: dict[str, bool] = {}
    for r in rows:
        current[r.channel] = bool(r.opted_out)
    for column in contacts.c:  # channels with a flag on the contact: the flag is the current state
        if column.name.endswith("_opted_out"):
            current[column.name.removesuffix("_opted_out")] = bool(getattr(contact, column.name))
    items = [{"id": r.id, "channel": r.channel, "opted_out": r.opted_out, "source": r.source,
              "actor_id": r.actor_id, "at": iso(r.at), "detail": r.detail or {}} for r in rows]
    return {"contact_id": contact_id, "current": {k: {"opted_out": v} for k, v in sorted(current.items())},
            "items": items}


def request_dict(row: Any) -> dict[str, Any]:
    overdue = row.status == "open" and row.due_at < utcnow()
    return {"id": row.id, "contact_id": row.contact_id, "kind": row.kind, "status": row.status,
            "requester": row.requester, "reference": row.reference, "requested_at": iso(row.requested_at),
            "due_at": iso(row.due_at), "overdue": overdue, "created_by": row.created_by,
            "handler_id": row.handler_id, "completed_at": iso(row.completed_at),
            "on_time": None if row.completed_at is None else row.completed_at <= row.due_at,
            "outcome": row.outcome or {}}


async def request(conn: AsyncConnection, request_id: int) -> dict[str, Any] | None:
    row = (await conn.execute(select(data_requests).where(data_requests.c.id == request_id))).first()
    return request_dict(row) if row else None


async def requests_page(conn: AsyncConnection, *, status: str | None = None, contact_id: int | None = None,
                        limit: int = 50, cursor: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
    """Newest first, keyset by id."""
    limit = max(1, min(limit, MAX_LIMIT))
    stmt = select(data_requests)
    if status:
        stmt = stmt.where(data_requests.c.status == status)
    if contact_id:
        stmt = stmt.where(data_requests.c.contact_id == contact_id)
    if cursor:
        (before,) = decode_cursor(cursor, 1)
        stmt = stmt.where(data_requests.c.id < cursor_id(before))
    rows = list(await conn.execute(stmt.order_by(data_requests.c.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return [request_dict(r) for r in rows], (encode_cursor(rows[-1].id) if more else None)


async def legal_hold(conn: AsyncConnection, conversation_id: int) -> dict[str, Any] | None:
    row = (await conn.execute(select(conversations.c.id, conversations.c.legal_hold_at, conversations.c.legal_hold_by,
                                     conversations.c.legal_hold_reason)
                              .where(conversations.c.id == conversation_id))).first()
    if row is None:
        return None
    return {"conversation_id": row.id, "legal_hold": row.legal_hold_at is not None,
            "since": iso(row.legal_hold_at), "by": row.legal_hold_by, "reason": row.legal_hold_reason}
