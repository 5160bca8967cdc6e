"""Satisfaction survey (CSAT): asked when a conversation closes, answered 1-5 within N hours, stored
on the attendance it judges, with an optional comment from the next message. An answer never
reopens the conversation; anything that is not an answer follows the normal course (reopens it).

Settings (per connector or per team) are `atende.actions.csat_settings`, re-exported here.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from atende.actions.csat_settings import (
    MAX_QUESTION,
    SURVEY_JOB,
    after_close,
    get_settings,
    save_settings,
    settings_dict,
    settings_for,
)
from atende.actions.errors import ActionError
from atende.db.tables import attendances, conversations, users
from atende.db.tx import Tx
from atende.db.types import utcnow
from atende.domain.csat import parse_rating
from atende.realtime import events

__all__ = ["MAX_QUESTION", "SURVEY_JOB", "absorb", "after_close", "ask", "get_settings", "ratings", "save_settings",
           "settings_dict"]

#: The comment is the message right after the rating, if it comes this soon (a later message is a
#: new request: it must reopen the conversation, not be filed as a comment).
COMMENT_WINDOW = timedelta(hours=1)
MAX_COMMENT = 2000


async def ask(tx: Tx, connector: Any, conversation_id: int, attendance_id: int) -> bool:
    """Send the question for this attendance, if the conversation is still closed on it. A customer who
    cannot be written to (SMS opt-out, WhatsApp window closed) is simply not asked."""
    from atende.actions.outbound import queue_message

    conv = (await tx.conn.execute(select(conversations).where(conversations.c.id == conversation_id))).first()
    if conv is None or conv.status != "done" or conv.current_attendance_id != attendance_id:
        return False  # reopened meanwhile: that attendance is not over
    settings = await settings_for(tx, conv)
    if settings is None:
        return False
    try:
        async with tx.conn.begin_nested():
            await queue_message(tx, connector, conversation_id, text=settings.question, author_id=None, take=False)
    except ActionError:
        return False
    await tx.conn.execute(update(attendances).where(attendances.c.id == attendance_id).values(
        csat_asked_at=utcnow()))
    return True


async def absorb(tx: Tx, conv: Any, text: str | None, at: datetime) -> bool:
    """An inbound message on a closed conversation: True when it is the survey's answer (a 1-5 rating
    within the window) or the comment right after it — stored, and the conversation stays closed."""
    if conv.current_attendance_id is None or not text:
        return False
    att = (await tx.conn.execute(select(attendances).where(attendances.c.id == conv.current_attendance_id)
                                 .with_for_update())).first()
    if att is None or att.csat_asked_at is None:
        return False
    if att.csat_rating is None:
        settings = await settings_for(tx, conv)
        window = settings.window_hours if settings is not None else 24
        rating = parse_rating(text)
        if rating is None or at - att.csat_asked_at > timedelta(hours=int(window)):
            return False
        await tx.conn.execute(update(attendances).where(attendances.c.id == att.id).values(
            csat_rating=rating, csat_answered_at=at))
        await events.append(tx, "csat.rated", {"conversation_id": conv.id, "attendance_id": att.id,
                                               "rating": rating, "assignee_id": att.assignee_id}, conv.id)
        return True
    if att.csat_comment is None and att.csat_answered_at is not None and at - att.csat_answered_at <= COMMENT_WINDOW:
        await tx.conn.execute(update(attendances).where(attendances.c.id == att.id).values(
            csat_comment=text.strip()[:MAX_COMMENT]))
        await events.append(tx, "csat.commented", {"conversation_id": conv.id, "attendance_id": att.id}, conv.id)
        return True
    return False


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


async def ratings(conn: AsyncConnection, *, conversation_id: int | None = None, contact_id: int | None = None,
                  limit: int = 50) -> list[dict[str, Any]]:
    """Rated attendances, newest first, of one conversation or of every conversation of a contact."""
    stmt = (select(attendances.c.id, attendances.c.conversation_id, attendances.c.assignee_id,
                   attendances.c.csat_rating, attendances.c.csat_comment, attendances.c.csat_asked_at,
                   attendances.c.csat_answered_at, users.c.name.label("assignee_name"), conversations.c.channel)
            .select_from(attendances.join(conversations, conversations.c.id == attendances.c.conversation_id)
                         .outerjoin(users, users.c.id == attendances.c.assignee_id))
            .where(attendances.c.csat_rating.is_not(None)))
    if conversation_id is not None:
        stmt = stmt.where(attendances.c.conversation_id == conversation_id)
    if contact_id is not None:
        stmt = stmt.where(conversations.c.contact_id == contact_id)
    rows = await conn.execute(stmt.order_by(attendances.c.id.desc()).limit(limit))
    return [{"attendance_id": r.id, "conversation_id": r.conversation_id, "channel": r.channel,
             "rating": r.csat_rating, "comment": r.csat_comment, "asked_at": _iso(r.csat_asked_at),
             "answered_at": _iso(r.csat_answered_at),
             "assignee": {"id": r.assignee_id, "name": r.assignee_name} if r.assignee_id else None} for r in rows]

