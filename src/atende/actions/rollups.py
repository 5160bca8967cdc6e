"""Report counters, kept by the actions in their own transaction (issue 9): numbers never come from
scanning messages on a page view.

What counts where (the reports page says the same in words):
- A message counts in the hour (UTC, `report_activity`) and the day (installation's zone,
  `report_daily`) of its `created_at`, under the conversation's channel and connector, the team that
  served the conversation when it was written (`messages.team_id`) and, when a person wrote it, its
  author (agent 0 otherwise: customers, the bot, auto-replies, campaigns). Internal notes and system
  lines are not messages to the customer and count nowhere.
- SMS sent, segments and cost count when the provider accepts the message (refused ones cost
  nothing), in the row of the message itself; deliveries and failures likewise.
- A conversation is active on a day when it has any message that day; it counts once per day.
- Attendances: opened on the day they start (reopened when not the conversation's first), closed on
  the day they close, a first response on the day it is given, under the agent who gave it.
- The first response of an attendance is the first message a person writes after the customer's
  first message in it (`customer_at`); the bot, auto-replies, campaigns, notes and reactions never
  are one. Its business-hours wait pauses while the team is closed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, or_, select, update

from atende.db.prepared import hot, upsert_add
from atende.db.tables import attendances, conversations, report_activity, report_daily, teams
from atende.db.tx import Tx
from atende.db.types import utcnow
from atende.domain import hours as business_hours
from atende.domain.business_time import Hours, open_seconds
from atende.realtime import events

TICK = "dashboard.tick"  # today's active count moved (the board's line and the dashboard listen)
NOT_MESSAGES = frozenset({"note", "event"})  # internal: never reach the customer
NOT_RESPONSES = NOT_MESSAGES | {"reaction"}  # a reaction answers nothing, nor starts a wait
DELIVERED = frozenset({"delivered", "read"})
ACTIVITY_KEY = ("hour", "conversation_id", "team_id", "agent_id")
DAILY_KEY = ("day", "channel", "connector_id", "team_id", "agent_id")


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def hour_of(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def day_of(at: datetime, zone: str) -> date:
    return at.astimezone(_zone(zone)).date()


def counts_as_message(kind: str) -> bool:
    return kind not in NOT_MESSAGES


def where(channel: str, connector_id: int, team_id: int | None, agent_id: int | None) -> dict[str, Any]:
    """The dimensions of a counter row (0: no team, no agent)."""
    return {"channel": channel, "connector_id": int(connector_id), "team_id": team_id or 0,
            "agent_id": agent_id or 0}


async def _activity(tx: Tx, at: datetime, conversation_id: int, dims: dict[str, Any],
                    amounts: dict[str, Any]) -> None:
    stmt = upsert_add(report_activity, tx.dialect, ACTIVITY_KEY, frozenset(amounts))
    await tx.conn.execute(stmt, {"hour": hour_of(at), "conversation_id": conversation_id, **dims, **amounts})


async def _daily(tx: Tx, day: date, dims: dict[str, Any], amounts: dict[str, Any]) -> None:
    stmt = upsert_add(report_daily, tx.dialect, DAILY_KEY, frozenset(amounts))
    await tx.conn.execute(stmt, {"day": day, **dims, **amounts})


# ---- messages ------------------------------------------------------------------------------------

def active_day(tx: Tx, conv: Any, at: datetime) -> date | None:
    """The day `at` makes the conversation active for the first time (None: it already counted that
    day). The caller stores it in `conversations.active_on` with its own update of the row."""
    day = day_of(at, tx.zone)
    seen = getattr(conv, "active_on", None)
    # A late message dated before the last counted day does not count that day again.
    return day if seen is None or day > seen else None


async def message_written(tx: Tx, conv: Any, *, at: datetime, direction: str, kind: str, author_id: int | None,
                          team_id: int | None, new_day: date | None) -> None:
    """A message joined the conversation `conv` (channel, connector): count it."""
    if not counts_as_message(kind):
        return
    agent_id = author_id if direction == "out" else None
    amounts = {"messages_in": 1} if direction == "in" else {
        "messages_out": 1, **({"messages_agent": 1} if agent_id is not None else {})}
    dims = where(conv.channel, conv.connector_id, team_id, agent_id)
    await _activity(tx, at, int(conv.id), dims, amounts)
    await _daily(tx, day_of(at, tx.zone), dims, {**amounts, **({"active": 1} if new_day is not None else {})})
    if new_day is not None and new_day == day_of(utcnow(), tx.zone):
        # "Hoje: N conversas ativas" moved: a small event every screen may hear. It names no conversation,
        # and its team is not under "team_id", which the visibility rules would read as a conversation's.
        await events.append(tx, TICK, {"day": new_day.isoformat(), "channel": conv.channel, "team": team_id})
    if direction == "in":
        await _attendance_in(tx, int(conv.id), at, kind)
    else:
        await _attendance_out(tx, int(conv.id), at, kind, author_id, team_id)


_CURRENT = select(conversations.c.current_attendance_id).where(
    conversations.c.id == bindparam("cid")).scalar_subquery()
# Both run once per inbound message: hot (db/prepared.py).
_COUNT_IN = hot(update(attendances).where(attendances.c.id == _CURRENT, attendances.c.closed_at.is_(None)).values(
    messages_in=attendances.c.messages_in + 1))
# The customer's first message starts the first-response clock.
_COUNT_IN_CLOCK = hot(_COUNT_IN.values(customer_at=func.coalesce(
    attendances.c.customer_at, bindparam("at", type_=attendances.c.customer_at.type))))


async def _attendance_in(tx: Tx, conversation_id: int, at: datetime, kind: str) -> None:
    if kind in NOT_RESPONSES:
        await tx.conn.execute(_COUNT_IN, {"cid": conversation_id})
    else:
        await tx.conn.execute(_COUNT_IN_CLOCK, {"cid": conversation_id, "at": at})


async def _attendance_out(tx: Tx, conversation_id: int, at: datetime, kind: str, author_id: int | None,
                          team_id: int | None) -> None:
    att = (await tx.conn.execute(
        select(attendances.c.id, attendances.c.customer_at, attendances.c.first_response_at, attendances.c.team_id,
               attendances.c.channel, attendances.c.connector_id)
        .where(attendances.c.id == _CURRENT, attendances.c.closed_at.is_(None)), {"cid": conversation_id})).first()
    if att is None:
        return
    values: dict[str, Any] = {"messages_out": attendances.c.messages_out + 1}
    responds = author_id is not None and kind not in NOT_RESPONSES and att.customer_at is not None \
        and att.first_response_at is None and at >= att.customer_at
    if responds:
        # The attendance belongs to the team that answered it (the bot or a transfer may have moved it
        # since it started): that team's SLA and business hours judge the wait.
        wait = int((at - att.customer_at).total_seconds())
        values.update(first_response_at=at, first_response_by=author_id, team_id=team_id,
                      first_response_business_s=open_seconds(await team_hours(tx, team_id), att.customer_at, at))
        await _daily(tx, day_of(at, tx.zone), where(att.channel, att.connector_id, team_id, author_id),
                     {"first_responses": 1, "first_response_s": wait})
    await tx.conn.execute(update(attendances).where(attendances.c.id == att.id).values(**values))


def parse_hours(spec: Any, zone: str) -> Hours | None:
    """A team's `business_hours` as Hours; None: always open (no hours, or none readable)."""
    if not spec:
        return None
    try:
        return business_hours.parse(spec, default_tz=zone)
    except business_hours.InvalidHours:
        return None


async def team_hours(tx: Tx, team_id: int | None) -> Hours | None:
    """The business hours of a team (None: always open; so is the default queue)."""
    if not team_id:
        return None
    spec = await tx.conn.scalar(select(teams.c.business_hours).where(teams.c.id == team_id))
    return parse_hours(spec, tx.zone)


# ---- what the provider said ----------------------------------------------------------------------

def _sms_where(row: Any) -> dict[str, Any]:
    """The counters of an SMS message (`row`: a messages row) are those of its creation."""
    return where("sms", row.connector_id, row.team_id, row.author_id)


async def sms_accepted(tx: Tx, row: Any) -> None:
    """The provider took an SMS (segments set): it is sent and costs money from now on."""
    if row.segments is None:
        return
    segments, cost = int(row.segments or 0), row.cost or Decimal(0)
    amounts: dict[str, Any] = {"sms_sent": 1, "sms_segments": segments, "sms_cost": cost}
    await _activity(tx, row.created_at, int(row.conversation_id), _sms_where(row), amounts)
    await _daily(tx, day_of(row.created_at, tx.zone), _sms_where(row), amounts)
    covering = select(attendances.c.id).where(
        attendances.c.conversation_id == row.conversation_id, attendances.c.started_at <= row.created_at,
    ).order_by(attendances.c.started_at.desc(), attendances.c.id.desc()).limit(1).scalar_subquery()
    await tx.conn.execute(update(attendances).where(
        attendances.c.id == covering,
        or_(attendances.c.closed_at.is_(None), attendances.c.closed_at >= row.created_at),
    ).values(sms_segments=attendances.c.sms_segments + segments, sms_cost=attendances.c.sms_cost + cost))


async def campaign_sms_accepted(tx: Tx, *, at: datetime, connector_id: int, sent: int, segments: int,
                                cost: Decimal) -> None:
    """Campaign SMS the provider took: they cost money today, though they join a conversation only when
    the customer answers (the day's counters, no conversation, team or agent)."""
    if sent:
        await _daily(tx, day_of(at, tx.zone), where("sms", connector_id, None, None),
                     {"sms_sent": sent, "sms_segments": segments, "sms_cost": cost})


async def sms_status(tx: Tx, row: Any, old: str, new: str) -> None:
    """A delivery report moved an outbound SMS from `old` to `new`: count a delivery or a failure once."""
    if row.segments is None or getattr(row, "direction", "out") != "out":
        return
    if new in DELIVERED and old not in DELIVERED:
        amounts = {"sms_delivered": 1}
    elif new == "failed" and old != "failed":
        amounts = {"sms_failed": 1}
    else:
        return
    await _activity(tx, row.created_at, int(row.conversation_id), _sms_where(row), amounts)
    await _daily(tx, day_of(row.created_at, tx.zone), _sms_where(row), amounts)


# ---- attendances ---------------------------------------------------------------------------------

async def attendance_started(tx: Tx, *, conv: Any, at: datetime, reopened: bool, team_id: int | None) -> None:
    # Under no agent: who holds an attendance changes while it runs; by_agent reads the attendances.
    await _daily(tx, day_of(at, tx.zone), where(conv.channel, conv.connector_id, team_id, None),
                 {"opened": 1, **({"reopened": 1} if reopened else {})})


async def attendance_closed(tx: Tx, attendance_id: int, at: datetime) -> None:
    att = (await tx.conn.execute(select(
        attendances.c.channel, attendances.c.connector_id, attendances.c.team_id, attendances.c.assignee_id,
    ).where(attendances.c.id == attendance_id))).first()
    if att is None or att.channel is None:
        return
    await _daily(tx, day_of(at, tx.zone), where(att.channel, att.connector_id, att.team_id, att.assignee_id),
                 {"closed": 1})


__all__ = [
    "active_day", "attendance_closed", "attendance_started", "counts_as_message", "day_of", "hour_of",
    "message_written", "sms_accepted", "sms_status", "team_hours",
]
