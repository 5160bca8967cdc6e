"""How many conversations of each board column wait past their thresholds (the columns' "over" counts).

Only Novo and Em atendimento have customers waiting; the count reads the active conversations (the
status index), never the closed ones, and waits no longer than the thresholds say."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from atende.db.tables import conversations
from atende.domain.waiting import Thresholds

WAITING_STATUSES = ("new", "open")


def _clock() -> Any:
    """The waiting clock: the customer's unanswered last message."""
    return case((conversations.c.last_message_direction == "in", conversations.c.last_inbound_at), else_=None)


async def over_counts(conn: AsyncConnection, *, now: datetime, thresholds: Thresholds, channel: str | None = None,
                      assignee: int | None = None, unassigned: bool = False) -> dict[str, dict[str, int]]:
    """{"new": {"warn": amber, "late": red}, "open": {...}} within the board's filter."""
    counts = {status: {"warn": 0, "late": 0} for status in WAITING_STATUSES}
    cuts = [now - timedelta(seconds=s) for s in (thresholds.warn_s, thresholds.late_s) if s]
    if not cuts:
        return counts
    clock = _clock()
    late = clock <= now - timedelta(seconds=thresholds.late_s) if thresholds.late_s else None
    warn = clock <= now - timedelta(seconds=thresholds.warn_s) if thresholds.warn_s else None
    cols = [conversations.c.status,
            func.sum(case((late, 1), else_=0)) if late is not None else func.sum(0),
            func.sum(case((and_(warn, ~late) if late is not None else warn, 1), else_=0))
            if warn is not None else func.sum(0)]
    stmt = (select(*cols).where(conversations.c.status.in_(WAITING_STATUSES), clock <= max(cuts))
            .group_by(conversations.c.status))
    if channel:
        stmt = stmt.where(conversations.c.channel == channel)
    if unassigned:
        stmt = stmt.where(conversations.c.assignee_id.is_(None))
    elif assignee is not None:
        stmt = stmt.where(conversations.c.assignee_id == assignee)
    for status, n_late, n_warn in await conn.execute(stmt):
        counts[status] = {"warn": int(n_warn or 0), "late": int(n_late or 0)}
    return counts
