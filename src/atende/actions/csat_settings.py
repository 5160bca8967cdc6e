"""Satisfaction survey (CSAT) settings: per connector (`csat_settings.connector_id`) or per team
(`team_id`); a conversation's team, when it has a survey row (on or off), decides, else its
connector's row. `after_close` runs in the closing transaction and only queues the question (the
sending side is `atende.actions.csat`, which the conversations module must not import)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from atende.actions.errors import Invalid
from atende.db.tables import conversations, csat_settings
from atende.db.tx import Tx
from atende.db.types import utcnow
from atende.domain.csat import DEFAULT_QUESTION
from atende.jobs.queue import enqueue

SURVEY_JOB = "csat_survey"
MAX_QUESTION = 500


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


async def settings_for(tx: Tx, conv: Any) -> Any:
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
    if conv is None or conv.current_attendance_id is None or await settings_for(tx, conv) is None:
        return
    await enqueue(tx, SURVEY_JOB, {"conversation_id": conversation_id, "attendance_id": conv.current_attendance_id},
                  dedup_key=f"csat:{conv.current_attendance_id}")
