"""Satisfaction survey (CSAT): asked when a conversation closes, answered 1-5 within N hours, stored
on the attendance it judges, with an optional comment from the next message. An answer never
reopens the conversation; anything that is not an answer follows the normal course (reopens it).

Settings are per connector (`csat_settings.connector_id`); a row per team (`team_id`) is read
first once conversations belong to teams.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from atende.actions.errors import ActionError, Invalid
from atende.db.tables import attendances, conversations, csat_settings, users
from atende.db.tx import Tx
from atende.db.types import utcnow
from atende.domain.csat import DEFAULT_QUESTION, parse_rating
from atende.jobs.queue import enqueue
from atende.realtime import events

SURVEY_JOB = "csat_survey"

#: The comment is the message right after the rating, if it comes this soon (a later message is a
#: new request: it must reopen the conversation, not be filed as a comment).
COMMENT_WINDOW = timedelta(hours=1)
MAX_QUESTION = 500
MAX_COMMENT = 2000


def settings_dict(row: Any, connector_id: int) -> dict[str, Any]:
    if row is None:
        return {"connector_id": connector_id, "enabled": False, "question": DEFAULT_QUESTION, "window_hours": 24}
    return {"connector_id": row.connector_id, "enabled": row.enabled, "question": row.question,
            "window_hours": row.window_hours}


async def get_settings(conn: AsyncConnection, connector_id: int) -> dict[str, Any]:
    row = (await conn.execute(select(csat_settings).where(csat_settings.c.connector_id == connector_id))).first()
    return settings_dict(row, connector_id)


async def save_settings(tx: Tx, connector_id: int, *, enabled: bool, question: str | None,
                        window_hours: int) -> None:
    text = (question or "").strip() or DEFAULT_QUESTION
    if len(text) > MAX_QUESTION:
        raise Invalid(f"pergunta longa demais (máximo {MAX_QUESTION} caracteres)")
    if not 1 <= window_hours <= 168:
        raise Invalid("a resposta vale de 1 a 168 horas depois da pergunta")
    values = {"enabled": enabled, "question": text, "window_hours": window_hours, "updated_at": utcnow()}
    mod = postgresql if tx.dialect == "postgresql" else sqlite
    await tx.conn.execute(mod.insert(csat_settings).values(connector_id=connector_id, **values)
                          .on_conflict_do_update(index_elements=["connector_id"], set_=values))


async def _settings_for(tx: Tx, conv: Any) -> Any:
    return (await tx.conn.execute(select(csat_settings).where(
        csat_settings.c.connector_id == conv.connector_id, csat_settings.c.enabled.is_(True)))).first()


async def after_close(tx: Tx, conversation_id: int) -> None:
    """Called in the closing transaction: if this connector surveys, the question goes out from a job
    (`csat_survey`, which has the connector's settings at hand)."""
    conv = (await tx.conn.execute(select(conversations.c.connector_id, conversations.c.current_attendance_id)
                                  .where(conversations.c.id == conversation_id))).first()
    if conv is None or conv.current_attendance_id is None or await _settings_for(tx, conv) is None:
        return
    await enqueue(tx, SURVEY_JOB, {"conversation_id": conversation_id, "attendance_id": conv.current_attendance_id},
                  dedup_key=f"csat:{conv.current_attendance_id}")


async def ask(tx: Tx, connector: Any, conversation_id: int, attendance_id: int) -> bool:
    """Send the question for this attendance, if the conversation is still closed on it. A customer who
    cannot be written to (SMS opt-out, WhatsApp window closed) is simply not asked."""
    from atende.actions.outbound import queue_message

    conv = (await tx.conn.execute(select(conversations).where(conversations.c.id == conversation_id))).first()
    if conv is None or conv.status != "done" or conv.current_attendance_id != attendance_id:
        return False  # reopened meanwhile: that attendance is not over
    settings = await _settings_for(tx, conv)
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
        window = await tx.conn.scalar(select(csat_settings.c.window_hours).where(
            csat_settings.c.connector_id == conv.connector_id)) or 24
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

