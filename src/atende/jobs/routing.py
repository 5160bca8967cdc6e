"""Routing jobs: a waiting conversation's next step (bot, out-of-hours answer, agent), a queue's pass
oldest first, and each conversation's timers (release, auto-close, bot timeout). The rules are in
actions/routing.py; these only run them, one short transaction at a time."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from atende.actions import queues, routing
from atende.actions.errors import NotFound
from atende.db.tables import conversations
from atende.db.types import utcnow
from atende.jobs.common import Sendable, sendable
from atende.jobs.worker import PermanentJobError, Reschedule

if TYPE_CHECKING:
    from atende.runtime import Runtime

MAX_ROUTED_PER_JOB = 500


async def _sender_for(rt: Runtime, conversation_id: int) -> Sendable | None:
    """What the bot and the out-of-hours answer send through (None: the connector is gone or off)."""
    async with rt.read() as conn:
        connector_id = await conn.scalar(select(conversations.c.connector_id)
                                         .where(conversations.c.id == conversation_id))
    loaded = await rt.connector(int(connector_id)) if connector_id is not None else None
    return sendable(loaded) if loaded is not None and loaded.active else None


async def route(rt: Runtime, job: Any) -> None:
    """A waiting conversation's next step: the bot, the out-of-hours answer, or an agent."""
    conversation_id = int(job.payload["conversation_id"])
    sender = await _sender_for(rt, conversation_id)
    async with rt.write() as tx:
        await routing.route_conversation(tx, conversation_id, sender=sender, auto_assign=rt.settings.auto_assign)


async def route_queue(rt: Runtime, job: Any) -> Reschedule | None:
    """Assign a queue's waiting conversations, oldest first, while its agents have room: one assignment
    per transaction (several workers may run this at once, see actions/routing.py). A closed team is
    looked at again when it opens."""
    team_id = job.payload.get("team_id")
    skip: set[int] = set()
    for _ in range(MAX_ROUTED_PER_JOB):
        async with rt.write() as tx:
            routed = await routing.route_next(tx, team_id, auto_assign=rt.settings.auto_assign, skip=skip)
        if routed.outcome == "closed":
            return Reschedule(routed.opens_at) if routed.opens_at else None
        if routed.outcome != "assigned":
            return None
    return Reschedule(utcnow())  # more to do: let other jobs run in between


async def route_all(rt: Runtime, job: Any) -> None:
    """Route every queue (kept for jobs queued before teams existed)."""
    async with rt.write() as tx:
        for team_id in await queues.team_ids(tx):
            await queues.enqueue_queue(tx, team_id)


async def conversation_timer(rt: Runtime, job: Any) -> Reschedule | None:
    """A conversation's timer (release, auto-close, bot timeout): acts if due, else waits for the new due
    time (activity since it was armed moved it)."""
    conversation_id, timer = int(job.payload["conversation_id"]), job.payload["timer"]
    sender = await _sender_for(rt, conversation_id) if timer == "close" else None
    async with rt.write() as tx:
        try:
            if timer == "release":
                due = await routing.release_timer(tx, conversation_id)
            elif timer == "close":
                due = await routing.close_timer(tx, conversation_id, sender)
            elif timer == "bot":
                from atende.actions import bot

                due = await bot.timeout(tx, conversation_id)
            else:
                raise PermanentJobError(f"unknown timer {timer!r}")
        except NotFound:
            return None  # the conversation is gone (erased)
    return Reschedule(due) if due is not None else None
