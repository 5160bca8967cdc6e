"""Satisfaction survey (CSAT): asked when a conversation closes, answered 1-5 within N hours, stored
on the attendance it judges, with an optional comment from the next message. An answer never
reopens the conversation; anything that is not an answer follows the normal course (reopens it).

Settings are per connector (`csat_settings.connector_id`) or per team (`team_id`): a conversation's
team, when it has a survey row (on or off), decides; else its connector's row.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
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


def settings_dict(row: Any, connector_id: int | None = None, *, team_id: int | None = None) -> dict[str, Any]:
    owner = {"team_id": team_id} if team_id is not None else {"connector_id": connector_id}
    if row is None:
        return {**owner, "enabled": False, "question": DEFAULT_QUESTION, "window_hours": 24}
    return {**owner, "enabled": row.enabled, "question": row.question, "window_hours": row.window_hours}


def _owner(connector_id: int | None, team_id: int | None) -> Any:
    if (connector_id is None) == (team_id is None):
        raise ValueError("a survey belongs to one connector or one team")
    return csat_settings.c.team_id == team_id if team_id is not None else csat_settings.c.connector_id == connector_id


async def get_settings(conn: AsyncConnection, connector_id: int | None = None, *,
                       team_id: int | None = None) -> dict[str, Any]:
    row = (await conn.execute(select(csat_settings).where(_owner(connector_id, team_id)))).first()
    return settings_dict(row, connector_id, team_id=team_id)


async def save_settings(tx: Tx, connector_id: int | None = None, *, enabled: bool, question: str | None,
                        window_hours: int, team_id: int | None = None) -> None:
    """A connector's survey, or a team's (which, when the team has one, wins over the connector's)."""
    text = (question or "").strip() or DEFAULT_QUESTION
    if len(text) > MAX_QUESTION:
        raise Invalid(f"pergunta longa demais (máximo {MAX_QUESTION} caracteres)")
    if not 1 <= window_hours <= 168:
        raise Invalid("a resposta vale de 1 a 168 horas depois da pergunta")
    _owner(connector_id, team_id)
    values = {"enabled": enabled, "question": text, "window_hours": window_hours, "updated_at": utcnow()}
    mod = postgresql if tx.dialect == "postgresql" else sqlite
    key, owner = ("team_id", team_id) if team_id is not None else ("connector_id", connector_id)
    await tx.conn.execute(mod.insert(csat_settings).values(**{key: owner}, **values)
                          .on_conflict_do_update(index_elements=[key], set_=values))


async def _settings_for(tx: Tx, conv: Any) -> Any:
    """The survey that applies to a conversation: its team's when the team has one (on or off), else
    its connector's; None when that one is off."""
    team_id = getattr(conv, "team_id", None)
    cond = csat_settings.c.connector_id == conv.connector_id
    if team_id is not None:
        cond = or_(cond, csat_settings.c.team_id == team_id)
    rows = list(await tx.conn.execute(select(csat_settings).where(cond)))
    row = next((r for r in rows if team_id is not None and r.team_id == team_id), None) or \
        next((r for r in rows if r.connector_id == conv.connector_id), None)
    return row if row is not None and row.enabled else None


async def after_close(tx: Tx, conversation_id: int) -> None:
    """Called in the closing transaction: if this connector surveys, the question goes out from a job
    (`csat_survey`, which has the connector's settings at hand)."""
    conv = (await tx.conn.execute(select(conversations).where(conversations.c.id == conversation_id))).first()
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
        settings = await _settings_for(tx, conv)
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

