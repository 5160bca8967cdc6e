"""Recount the report counters from the rows themselves (`atende reports rebuild`).

For history written before the counters existed (an upgrade, an import) and as the tests' oracle: the
counters the actions keep must equal this recount. It reads messages conversation by conversation
(their own index), so memory holds one batch of conversations plus the daily rows.

What the recount cannot know it reads from the final state: a message retried after a failure counts
as its last outcome, and attendances' teams are the ones they ended with.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from atende.actions.campaign_state import ACCEPTED
from atende.actions.rollups import NOT_MESSAGES, NOT_RESPONSES, day_of, hour_of
from atende.db.tables import (
    attendances,
    campaign_recipients,
    campaigns,
    conversations,
    messages,
    report_activity,
    report_daily,
)
from atende.db.tx import Tx

BATCH = 200
ZERO_ATTENDANCE = {"messages_in": 0, "messages_out": 0, "sms_segments": 0, "sms_cost": Decimal(0)}
ActivityKey = tuple[datetime, int, int, int]
DailyKey = tuple[date, str, int, int, int]


def _counters() -> defaultdict[str, Any]:
    return defaultdict(int)


@dataclass
class Recount:
    activity: dict[ActivityKey, dict[str, Any]] = field(default_factory=dict)
    daily: defaultdict[DailyKey, defaultdict[str, Any]] = field(default_factory=lambda: defaultdict(_counters))
    attendances: dict[int, dict[str, Any]] = field(default_factory=dict)
    active_on: dict[int, date] = field(default_factory=dict)


def _covering(atts: list[Any], at: datetime) -> Any:
    """The attendance running when a message was written: the last one started by then, unless it had
    already closed."""
    found = None
    for att in atts:
        if att.started_at <= at:
            found = att
        else:
            break
    if found is None or (found.closed_at is not None and at > found.closed_at):
        return None
    return found


def _add(target: dict[str, Any], amounts: dict[str, Any]) -> None:
    for name, value in amounts.items():
        target[name] = target.get(name, 0) + value


def _conversation(r: Recount, conv: Any, atts: list[Any], rows: list[Any], zone: str) -> None:
    seen_days: set[date] = set()
    for att in atts:
        r.attendances[int(att.id)] = {**ZERO_ATTENDANCE, "customer_at": None}
    for m in rows:
        if m.kind in NOT_MESSAGES:
            continue
        team = int(m.team_id or 0)
        agent = int(m.author_id) if m.direction == "out" and m.author_id is not None else 0
        amounts: dict[str, Any] = {"messages_in": 1} if m.direction == "in" else {
            "messages_out": 1, **({"messages_agent": 1} if agent else {})}
        sms_out = m.direction == "out" and m.segments is not None
        if sms_out and m.sent_at is not None:
            amounts.update(sms_sent=1, sms_segments=int(m.segments), sms_cost=m.cost or Decimal(0))
        if sms_out and m.delivered_at is not None:
            amounts["sms_delivered"] = 1
        if sms_out and m.status == "failed":
            amounts["sms_failed"] = 1
        key = (hour_of(m.created_at), int(conv.id), team, agent)
        row = r.activity.setdefault(key, {"channel": conv.channel, "connector_id": int(conv.connector_id)})
        _add(row, amounts)
        day = day_of(m.created_at, zone)
        daily = r.daily[(day, conv.channel, int(conv.connector_id), team, agent)]
        _add(daily, amounts)
        if day not in seen_days:
            seen_days.add(day)
            daily["active"] += 1
        att = _covering(atts, m.created_at)
        if att is not None:
            counts = r.attendances[int(att.id)]
            if m.direction == "in":
                counts["messages_in"] += 1
                if m.kind not in NOT_RESPONSES and counts["customer_at"] is None:
                    counts["customer_at"] = m.created_at
            else:
                counts["messages_out"] += 1
                if sms_out and m.sent_at is not None:
                    counts["sms_segments"] += int(m.segments)
                    counts["sms_cost"] += m.cost or Decimal(0)
    if seen_days:
        r.active_on[int(conv.id)] = max(seen_days)


def _attendance_days(r: Recount, att: Any, zone: str) -> None:
    dims = (att.channel, int(att.connector_id), int(att.team_id or 0))
    opened = r.daily[(day_of(att.started_at, zone), *dims, 0)]
    opened["opened"] += 1
    if att.reopened:
        opened["reopened"] += 1
    if att.closed_at is not None:
        r.daily[(day_of(att.closed_at, zone), *dims, int(att.assignee_id or 0))]["closed"] += 1
    customer_at = r.attendances.get(int(att.id), {}).get("customer_at") or att.customer_at
    if att.first_response_at is not None and customer_at is not None and att.first_response_by is not None:
        responded = r.daily[(day_of(att.first_response_at, zone), *dims, int(att.first_response_by))]
        responded["first_responses"] += 1
        responded["first_response_s"] += int((att.first_response_at - customer_at).total_seconds())


_MESSAGE_COLS = (messages.c.conversation_id, messages.c.direction, messages.c.kind, messages.c.author_id,
                 messages.c.team_id, messages.c.created_at, messages.c.segments, messages.c.cost, messages.c.sent_at,
                 messages.c.delivered_at, messages.c.status)


async def recount(conn: AsyncConnection, zone: str,
                  on_batch: Callable[[Recount], Awaitable[None]] | None = None) -> Recount:
    """Everything, conversation by conversation. With `on_batch`, each batch's activity and attendance
    figures are handed over and dropped (bounded memory); the daily rows stay for the end."""
    r = Recount()
    after = 0
    while True:
        convs = list(await conn.execute(select(conversations.c.id, conversations.c.channel,
                                               conversations.c.connector_id)
                                        .where(conversations.c.id > after).order_by(conversations.c.id).limit(BATCH)))
        if not convs:
            break
        ids = [int(c.id) for c in convs]
        atts: dict[int, list[Any]] = defaultdict(list)
        for att in await conn.execute(select(attendances).where(attendances.c.conversation_id.in_(ids))
                                      .order_by(attendances.c.conversation_id, attendances.c.started_at,
                                                attendances.c.id)):
            atts[int(att.conversation_id)].append(att)
        by_conv: dict[int, list[Any]] = defaultdict(list)
        for m in await conn.execute(select(*_MESSAGE_COLS).where(messages.c.conversation_id.in_(ids))
                                    .order_by(messages.c.conversation_id, messages.c.created_at, messages.c.id)):
            by_conv[int(m.conversation_id)].append(m)
        for conv in convs:
            _conversation(r, conv, atts[int(conv.id)], by_conv[int(conv.id)], zone)
            for att in atts[int(conv.id)]:
                _attendance_days(r, att, zone)
        if on_batch is not None:
            await on_batch(r)
            r.activity, r.attendances, r.active_on = {}, {}, {}
        after = ids[-1]
    # Campaign SMS the provider took and nobody answered: they are in no conversation, but they cost.
    # (An answered one is a message of its conversation, counted above.)
    for c in await conn.execute(
            select(campaign_recipients.c.connector_id, campaign_recipients.c.sent_at, campaign_recipients.c.segments,
                   campaign_recipients.c.cost)
            .select_from(campaign_recipients.join(campaigns, campaigns.c.id == campaign_recipients.c.campaign_id))
            .where(campaigns.c.channel == "sms", campaign_recipients.c.state.in_(ACCEPTED),
                   campaign_recipients.c.sent_at.is_not(None), campaign_recipients.c.message_id.is_(None))):
        counts = r.daily[(day_of(c.sent_at, zone), "sms", int(c.connector_id), 0, 0)]
        counts["sms_sent"] += 1
        counts["sms_segments"] += int(c.segments or 0)
        counts["sms_cost"] += c.cost or Decimal(0)
    return r


_SET_ATTENDANCE = update(attendances).where(attendances.c.id == bindparam("att_id")).values(
    messages_in=bindparam("messages_in"), messages_out=bindparam("messages_out"),
    sms_segments=bindparam("sms_segments"), sms_cost=bindparam("sms_cost", type_=attendances.c.sms_cost.type),
    customer_at=bindparam("customer_at", type_=attendances.c.customer_at.type))
_SET_ACTIVE_ON = update(conversations).where(conversations.c.id == bindparam("conv_id")).values(
    active_on=bindparam("day", type_=conversations.c.active_on.type))
_ACTIVITY_ZERO = {"messages_in": 0, "messages_out": 0, "messages_agent": 0, "sms_sent": 0, "sms_segments": 0,
                  "sms_cost": Decimal(0), "sms_delivered": 0, "sms_failed": 0}
_DAILY_ZERO = {**_ACTIVITY_ZERO, "active": 0, "opened": 0, "reopened": 0, "closed": 0, "first_responses": 0,
               "first_response_s": 0}


async def _write_batch(tx: Tx, r: Recount) -> None:
    if r.activity:
        await tx.conn.execute(insert(report_activity), [
            {**_ACTIVITY_ZERO, **values, "hour": hour, "conversation_id": conv, "team_id": team, "agent_id": agent}
            for (hour, conv, team, agent), values in r.activity.items()])
    # customer_at: what the recount found, else what the attendance knew (its messages may be erased).
    for att_id, values in r.attendances.items():
        if values["customer_at"] is None:
            values["customer_at"] = await tx.conn.scalar(
                select(attendances.c.customer_at).where(attendances.c.id == att_id))
    if r.attendances:
        await tx.conn.execute(_SET_ATTENDANCE, [{"att_id": k, **v} for k, v in r.attendances.items()])
    if r.active_on:
        await tx.conn.execute(_SET_ACTIVE_ON, [{"conv_id": k, "day": v} for k, v in r.active_on.items()])


async def rebuild(tx: Tx) -> dict[str, int]:
    """Replace every counter with the recount, in the caller's transaction (stop the service first, or
    run it right after `atende migrate`: writes during the recount would be counted twice or lost)."""
    await tx.conn.execute(delete(report_activity))
    await tx.conn.execute(delete(report_daily))
    written = {"activity": 0, "attendances": 0}

    async def flush(r: Recount) -> None:
        written["activity"] += len(r.activity)
        written["attendances"] += len(r.attendances)
        await _write_batch(tx, r)

    r = await recount(tx.conn, tx.zone, flush)
    if r.daily:
        await tx.conn.execute(insert(report_daily), [
            {**_DAILY_ZERO, **values, "day": day, "channel": channel, "connector_id": connector, "team_id": team,
             "agent_id": agent} for (day, channel, connector, team, agent), values in r.daily.items()])
    return {**written, "daily": len(r.daily)}
