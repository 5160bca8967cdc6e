"""The routing engine: queues per team, assignment by policy and capacity, timers, business hours.

A new conversation belongs to the team that serves its connector (none: the default queue, served
by every agent). It is assigned at once when an eligible agent is free: online, active, a member of
the team, under capacity (0: unlimited), chosen by the team's policy (least_busy, round_robin, sticky:
the customer's previous agent first, manual: agents pick). Otherwise it waits, oldest first (the
waiting clock: the first unanswered customer message), and is assigned the moment a slot frees.

Never assigned twice, nobody over capacity, with several workers on PostgreSQL: the conversation row
is locked first (waiting ones are picked with SKIP LOCKED), then the agent's row, and the agent's load
is counted again under that lock; one assignment per transaction, so locks are never held in a
circle. SQLite has one writer at a time, which gives the same guarantees.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import and_, or_, select, text, update

from atende.actions import conversations as conv_actions
from atende.actions.errors import ActionError
from atende.actions.queues import (
    auto_close_after,
    enqueue_queue,
    has_room,
    open_counts,
    release_after,
    team_row,
)
from atende.db.tables import (
    attendances,
    connector_bots,
    conversations,
    team_members,
    teams,
    users,
)
from atende.db.tx import Tx
from atende.db.types import utcnow
from atende.domain import hours as business_hours

log = structlog.get_logger(__name__)

SWEEP_LIMIT = 200
POLICIES = ("least_busy", "round_robin", "sticky", "manual")
VISIBILITIES = ("own", "team")
async def previous_agent(tx: Tx, contact_id: int) -> int | None:
    """The customer's last agent, on any conversation (sticky routing)."""
    value = await tx.conn.scalar(
        select(attendances.c.assignee_id)
        .select_from(attendances.join(conversations, conversations.c.id == attendances.c.conversation_id))
        .where(conversations.c.contact_id == contact_id, attendances.c.assignee_id.is_not(None))
        .order_by(attendances.c.id.desc()).limit(1))
    return None if value is None else int(value)


async def _eligible(tx: Tx, team: Any) -> list[Any]:
    """Online, active agents who may receive this queue's work (members of the team; anyone for the
    default queue), with their capacity."""
    stmt = select(users.c.id, users.c.capacity).where(users.c.active.is_(True), users.c.presence == "online")
    if team is not None:
        stmt = stmt.where(users.c.id.in_(select(team_members.c.user_id).where(team_members.c.team_id == team.id)))
    return list(await tx.conn.execute(stmt.order_by(users.c.id)))


async def free_agents(tx: Tx, team: Any = None) -> tuple[list[Any], dict[int, int]]:
    """The eligible agents with room (not locked: a first look) and everyone's open count."""
    candidates = await _eligible(tx, team)
    if not candidates:
        return [], {}
    loads = await open_counts(tx, [int(c.id) for c in candidates])
    return [c for c in candidates if int(c.capacity) <= 0 or loads[int(c.id)] < int(c.capacity)], loads


async def pick_agent(tx: Tx, team: Any = None, *, contact_id: int | None = None, avoid: int | None = None,
                     free: tuple[list[Any], dict[int, int]] | None = None) -> int | None:
    """The agent the policy picks among those with room, locked, or None. Candidates are tried in policy
    order; each is locked and counted again, so a concurrent assignment can't push anyone over capacity.
    `avoid` (who let this conversation go unanswered) comes last."""
    candidates, loads = free if free is not None else await free_agents(tx, team)
    if not candidates:
        return None
    policy = team.policy if team is not None else "least_busy"
    ordered = sorted(candidates, key=lambda c: (loads[int(c.id)], int(c.id)))
    if policy == "round_robin" and team is not None:
        ids = sorted(candidates, key=lambda c: int(c.id))
        last = team.last_assigned_id or 0
        ordered = [c for c in ids if int(c.id) > last] + [c for c in ids if int(c.id) <= last]
    elif policy == "sticky" and contact_id is not None:
        previous = await previous_agent(tx, contact_id)
        ordered = [c for c in ordered if int(c.id) == previous] + [c for c in ordered if int(c.id) != previous]
    if avoid is not None:
        ordered = [c for c in ordered if int(c.id) != avoid] + [c for c in ordered if int(c.id) == avoid]
    for candidate in ordered:
        agent = (await tx.conn.execute(
            select(users.c.id, users.c.capacity, users.c.active, users.c.presence)
            .where(users.c.id == candidate.id).with_for_update())).first()
        if agent is None or not agent.active or agent.presence != "online":
            continue
        if await has_room(tx, agent):
            if policy == "round_robin" and team is not None:
                await tx.conn.execute(update(teams).where(teams.c.id == team.id)
                                      .values(last_assigned_id=int(agent.id)))
                tx.memo.pop(("team", int(team.id)), None)
            return int(agent.id)
    return None


# ---- routing ------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Routed:
    outcome: str  # assigned | waiting | closed | bot | skip
    agent_id: int | None = None
    opens_at: datetime | None = None


def _closed_until(team: Any, now: datetime) -> tuple[bool, datetime | None]:
    """(closed now?, next opening) of a team's business hours."""
    if team is None or not team.business_hours:
        return False, None
    hours = business_hours.parse(team.business_hours)
    if hours is None or hours.is_open(now):
        return False, None
    return True, hours.next_opening(now)


async def route_conversation(tx: Tx, conversation_id: int, *, sender: Any = None,
                             auto_assign: bool = True) -> Routed:
    """The next step of a waiting conversation: the bot's menu, the out-of-hours answer; then its queue
    is served, oldest waiting first (so concurrent jobs never assign out of order)."""
    first = (await tx.conn.execute(select(conversations.c.team_id, conversations.c.status, conversations.c.assignee_id)
                                   .where(conversations.c.id == conversation_id))).first()
    if first is None or first.status != "new" or first.assignee_id is not None:
        return Routed("skip")  # taken meanwhile: freed slots route the queue themselves (route_queue)
    team_id = first.team_id
    await lock_queue(tx, team_id)  # before the row: the queue's pass must find this one unlocked
    conv = await conv_actions.load(tx, conversation_id)
    if conv.status == "new" and conv.assignee_id is None:
        if sender is not None:
            from atende.actions import bot

            if await bot.step(tx, conv, sender):
                return Routed("bot")
            conv = await conv_actions.load(tx, conversation_id)
            if conv.team_id != team_id:  # the bot sent it to another team: that queue's own pass serves it
                await enqueue_queue(tx, conv.team_id)
                return Routed("waiting")
        team = await team_row(tx, conv.team_id)
        closed, opens_at = _closed_until(team, utcnow())
        if closed:
            await out_of_hours(tx, conv, team, sender, opens_at)
            return Routed("closed", opens_at=opens_at)
    return await route_next(tx, conv.team_id, auto_assign=auto_assign)


async def out_of_hours(tx: Tx, conv: Any, team: Any, sender: Any, opens_at: datetime | None) -> None:
    """Closed: the out-of-hours message goes once per conversation per closed period, and the queue is
    routed again at the next opening."""
    now = utcnow()
    if team.out_of_hours_message and sender is not None and (
            conv.out_of_hours_until is None or conv.out_of_hours_until <= now):
        from atende.actions import outbound

        try:
            await outbound.queue_message(tx, sender, int(conv.id), text=team.out_of_hours_message, author_id=None,
                                         take=False)
        except ActionError as exc:  # opted out, outside the WhatsApp window: nothing to send
            log.info("out-of-hours message not sent", conversation_id=conv.id, reason=exc.code or "refused")
        await tx.conn.execute(update(conversations).where(conversations.c.id == conv.id).values(
            out_of_hours_until=opens_at or now + timedelta(days=business_hours.LOOKAHEAD_DAYS)))
    if opens_at is not None:
        await enqueue_queue(tx, team.id, opens_at)


_WAITING_COLS = (conversations.c.id, conversations.c.waiting_since, conversations.c.bot, conversations.c.connector_id)


def _with_the_bot(row: Any, bots: set[int]) -> bool:
    """The bot talks to the customer (its menu), or is about to greet them (its connector has one and
    it hasn't spoken yet): not routing's to assign."""
    stage = (row.bot or {}).get("stage")
    return stage == "menu" or (stage is None and int(row.connector_id) in bots)


async def next_waiting(tx: Tx, team_id: int | None, *, skip: set[int] | None = None) -> Any:
    """The longest-waiting conversation of a queue that routing may assign, locked (the caller holds the
    queue's lock, so no other routing pass is choosing from this queue)."""
    bots = {int(r[0]) for r in await tx.conn.execute(
        select(connector_bots.c.connector_id).where(connector_bots.c.enabled.is_(True)))}
    after: tuple[datetime, int] | None = None
    team_cond = conversations.c.team_id.is_(None) if team_id is None else conversations.c.team_id == team_id
    while True:
        stmt = select(*_WAITING_COLS).where(conversations.c.status == "new", team_cond,
                                            conversations.c.assignee_id.is_(None))
        if after is not None:
            stmt = stmt.where(or_(conversations.c.waiting_since > after[0],
                                  and_(conversations.c.waiting_since == after[0], conversations.c.id > after[1])))
        rows = list(await tx.conn.execute(stmt.order_by(conversations.c.waiting_since, conversations.c.id).limit(20)))
        for row in rows:
            if _with_the_bot(row, bots) or (skip and int(row.id) in skip):
                continue
            conv = await conv_actions.load(tx, int(row.id))  # waits for a take or a message in flight
            if conv.status == "new" and conv.assignee_id is None and conv.team_id == team_id:
                return conv
        if len(rows) < 20:
            return None
        after = (rows[-1].waiting_since, int(rows[-1].id))


QUEUE_LOCK_BASE = 0x5EA7_0000_0000  # advisory lock keys of the queues: this + the team id (0: default queue)


async def lock_queue(tx: Tx, team_id: int | None) -> None:
    """Serve one queue at a time (PostgreSQL; SQLite has a single writer anyway): a queue is first in, first
    out, and two workers assigning from it at once could let a younger conversation take the last slot
    while the oldest one is being looked at. Different queues are routed in parallel."""
    if tx.dialect == "postgresql":
        await tx.conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": QUEUE_LOCK_BASE + (team_id or 0)})


async def route_next(tx: Tx, team_id: int | None, *, auto_assign: bool = True,
                     skip: set[int] | None = None) -> Routed:
    """Assign the longest-waiting conversation of one queue, if an agent can take it (one per transaction)."""
    await lock_queue(tx, team_id)
    team = await team_row(tx, team_id)
    if team_id is not None and team is None:
        return Routed("skip")
    closed, opens_at = _closed_until(team, utcnow())
    if closed:
        return Routed("closed", opens_at=opens_at)
    if not auto_assign or (team is not None and team.policy == "manual"):
        return Routed("waiting")
    free = await free_agents(tx, team)
    if not free[0]:
        return Routed("waiting")  # nobody has room: the queue stays as it is
    conv = await next_waiting(tx, team_id, skip=skip)
    if conv is None:
        return Routed("skip")
    # Released in this attendance (nobody answered): someone else first.
    avoid = await tx.conn.scalar(select(attendances.c.assignee_id).where(
        attendances.c.id == conv.current_attendance_id)) if conv.current_attendance_id is not None else None
    agent_id = await pick_agent(tx, team, contact_id=int(conv.contact_id), avoid=avoid, free=free)
    if agent_id is None:
        return Routed("waiting")
    await conv_actions.transition(tx, conv, "open", agent_id, actor_id=None, event="conversation.assigned")
    return Routed("assigned", agent_id)


async def release_timer(tx: Tx, conversation_id: int) -> datetime | None:
    """Taken but unanswered for the team's release time: back to the queue, or to the team's fallback
    agent. Returns when to look again (None: nothing left to watch)."""
    conv = await conv_actions.load(tx, conversation_id)
    if conv.status != "open" or conv.current_attendance_id is None:
        return None
    seconds = await release_after(tx, conv.team_id)
    att = (await tx.conn.execute(select(attendances.c.assigned_at, attendances.c.first_response_at)
                                 .where(attendances.c.id == conv.current_attendance_id))).first()
    if seconds <= 0 or att is None or att.first_response_at is not None or att.assigned_at is None:
        return None
    due = att.assigned_at + timedelta(seconds=seconds)
    if utcnow() < due:
        return due
    team = await team_row(tx, conv.team_id)
    fallback = team.fallback_agent_id if team is not None else None
    if fallback is not None and fallback != conv.assignee_id:
        try:
            await conv_actions.ensure_room(tx, int(fallback))
        except ActionError:
            fallback = None
        else:
            await conv_actions.transition(tx, conv, "open", int(fallback), actor_id=None,
                                           event="conversation.transferred", note="sem resposta do agente")
            return utcnow() + timedelta(seconds=seconds)
    await conv_actions.transition(tx, conv, "new", None, actor_id=None, event="conversation.released",
                                   note="sem resposta do agente")
    return None


async def close_timer(tx: Tx, conversation_id: int, sender: Any = None) -> datetime | None:
    """Idle for the team's auto-close time: concluded, with the team's closing message if it has one."""
    conv = await conv_actions.load(tx, conversation_id)
    if conv.status != "open":
        return None
    seconds = await auto_close_after(tx, conv.team_id)
    if seconds <= 0:
        return None
    due = conv.last_activity_at + timedelta(seconds=seconds)
    if utcnow() < due:
        return due
    team = await team_row(tx, conv.team_id)
    if team is not None and team.closing_message and sender is not None:
        from atende.actions import outbound

        try:
            await outbound.queue_message(tx, sender, conversation_id, text=team.closing_message, author_id=None,
                                         take=False)
        except ActionError as exc:
            log.info("closing message not sent", conversation_id=conversation_id, reason=exc.code or "refused")
        conv = await conv_actions.load(tx, conversation_id)
    await conv_actions.transition(tx, conv, "done", conv.assignee_id, actor_id=None, event="conversation.closed")
    return None


# ---- sweeps (kept for installations upgrading with conversations already open) -----------------

async def auto_release_unanswered(tx: Tx, after: timedelta) -> int:
    """Open conversations nobody answered within `after` of being taken go back to the queue."""
    cutoff = utcnow() - after
    rows = await tx.conn.execute(
        select(conversations.c.id)
        .select_from(conversations.join(attendances, attendances.c.id == conversations.c.current_attendance_id))
        .where(conversations.c.status == "open", attendances.c.first_response_at.is_(None),
               attendances.c.assigned_at < cutoff)
        .limit(SWEEP_LIMIT))
    ids = [int(r.id) for r in rows]
    for conversation_id in ids:
        await conv_actions.release(tx, conversation_id, actor_id=None, reason="sem resposta do agente")
    return len(ids)


async def auto_close_idle(tx: Tx, after: timedelta) -> int:
    """Open conversations with no activity for `after` are concluded."""
    rows = await tx.conn.execute(
        select(conversations.c.id)
        .where(and_(conversations.c.status == "open", conversations.c.last_activity_at < utcnow() - after))
        .limit(SWEEP_LIMIT))
    ids = [int(r.id) for r in rows]
    for conversation_id in ids:
        await conv_actions.close(tx, conversation_id, actor_id=None)
    return len(ids)


async def auto_away(tx: Tx, after: timedelta) -> int:
    """Online agents with no live connection for `after` become away (they stop receiving work)."""
    from atende.actions.users import set_presence

    rows = await tx.conn.execute(select(users.c.id).where(
        users.c.presence == "online", or_(users.c.last_seen_at.is_(None), users.c.last_seen_at < utcnow() - after)))
    ids = [int(r.id) for r in rows]
    for user_id in ids:
        await set_presence(tx, user_id, "away")
    return len(ids)
