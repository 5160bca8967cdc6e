"""The access log (LGPD): who opened which customer, recorded as `contact.view` in the audit log
once per user, contact and hour, whatever the surface (conversation, contact page, API).

A check against `access_marks` (one primary-key read) comes first, so repeated opens within the
hour cost no write; the mark and the audit entry are written together.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from atende.actions import audit
from atende.db.prepared import insert_ignore_stmt
from atende.db.tables import access_marks, conversations
from atende.db.tx import Tx
from atende.db.types import utcnow


async def record_view(rt: Any, user_id: int, contact_id: int, *, via: str, conversation_id: int | None = None,
                      ip: str | None = None) -> bool:
    """True when this open was written (the first of the hour for this user and contact)."""
    hour = utcnow().replace(minute=0, second=0, microsecond=0)
    key = {"user_id": user_id, "contact_id": contact_id, "hour": hour}
    async with rt.read() as conn:
        seen = await conn.scalar(select(access_marks.c.user_id).where(
            access_marks.c.user_id == user_id, access_marks.c.contact_id == contact_id, access_marks.c.hour == hour))
    if seen is not None:
        return False
    async with rt.write() as tx:
        inserted = await tx.conn.execute(insert_ignore_stmt(access_marks, tx.dialect).returning(
            access_marks.c.user_id), key)
        if inserted.scalar() is None:
            return False  # another request of the same user won the race
        detail: dict[str, Any] = {"via": via}
        if conversation_id is not None:
            detail["conversation_id"] = conversation_id
        await audit.record(tx, "contact.view", actor_id=user_id, target_type="contact", target_id=contact_id,
                           contact_id=contact_id, ip=ip, detail=detail)
    return True


async def record_conversation_view(rt: Any, user_id: int, conversation_id: int, *, via: str,
                                   ip: str | None = None) -> bool:
    async with rt.read() as conn:
        contact_id = await conn.scalar(select(conversations.c.contact_id).where(conversations.c.id == conversation_id))
    if contact_id is None:
        return False
    return await record_view(rt, user_id, int(contact_id), via=via, conversation_id=conversation_id, ip=ip)


async def prune_marks(tx: Tx) -> int:
    """Marks of past hours are no longer needed (the audit entries stay)."""
    hour = utcnow().replace(minute=0, second=0, microsecond=0)
    result = await tx.conn.execute(delete(access_marks).where(access_marks.c.hour < hour))
    return int(result.rowcount or 0)
