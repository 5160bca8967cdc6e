"""Routing's foundations, below the engine: agents' load and capacity, a team's settings, and the jobs
that route a conversation or a queue and time a conversation out (armed here, run by jobs/routing.py).
Conversations, users and the bot arm these; actions/routing.py decides. Nothing here imports an
action, so the actions that routing builds on can use it without a cycle."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from atende.db.tables import conversation_counts, conversations, team_members, teams, users
from atende.db.tx import Tx
from atende.db.types import utcnow
from atende.jobs.queue import arm, enqueue
from atende.settings import Settings

_DEFAULTS = Settings.model_construct()


def _setting(tx: Tx, name: str) -> Any:
    return getattr(tx.settings if tx.settings is not None else _DEFAULTS, name)


async def team_row(tx: Tx, team_id: int | None) -> Any:
    """A team's row, read once per transaction (routing asks for it at every step)."""
    if team_id is None:
        return None
    key = ("team", team_id)
    if key not in tx.memo:
        tx.memo[key] = (await tx.conn.execute(select(teams).where(teams.c.id == team_id))).first()
    return tx.memo[key]


# ---- load and capacity --------------------------------------------------------------------------

async def open_count(tx: Tx, agent_id: int) -> int:
    value = await tx.conn.scalar(select(func.coalesce(func.sum(conversation_counts.c.n), 0)).where(
        conversation_counts.c.status == "open", conversation_counts.c.assignee_id == agent_id))
    return int(value or 0)


async def open_counts(tx: Tx, agent_ids: Sequence[int]) -> dict[int, int]:
    if not agent_ids:
        return {}
    rows = await tx.conn.execute(
        select(conversation_counts.c.assignee_id, func.sum(conversation_counts.c.n))
        .where(conversation_counts.c.status == "open", conversation_counts.c.assignee_id.in_(list(agent_ids)))
        .group_by(conversation_counts.c.assignee_id))
    counts = {int(a): int(n or 0) for a, n in rows}
    return {a: counts.get(a, 0) for a in agent_ids}


async def has_room(tx: Tx, agent: Any) -> bool:
    """`agent`: a users row with id and capacity (0 = unlimited)."""
    return int(agent.capacity) <= 0 or await open_count(tx, int(agent.id)) < int(agent.capacity)


async def enqueue_route(tx: Tx, conversation_id: int) -> None:
    await enqueue(tx, "route", {"conversation_id": conversation_id}, dedup_key=f"route:{conversation_id}")


async def enqueue_queue(tx: Tx, team_id: int | None, run_at: datetime | None = None) -> None:
    """A pass over a queue: one job per queue (armed, so a pass finishing right now runs once more)."""
    await arm(tx, "route_queue", {"team_id": team_id}, run_at=run_at or utcnow(),
              dedup_key=f"route_queue:{team_id or 0}")


async def slot_freed(tx: Tx, agent_id: int) -> None:
    """An agent's conversation left them (close, release, transfer): route the queues they serve."""
    presence = await tx.conn.scalar(select(users.c.presence).where(users.c.id == agent_id))
    if presence == "online":
        await enqueue_queues_of(tx, agent_id)


async def enqueue_queues_of(tx: Tx, agent_id: int) -> None:
    team_ids = [int(r[0]) for r in await tx.conn.execute(
        select(team_members.c.team_id).where(team_members.c.user_id == agent_id))]
    for team_id in [None, *team_ids]:
        await enqueue_queue(tx, team_id)


async def team_ids(tx: Tx) -> list[int | None]:
    return [None, *(int(r[0]) for r in await tx.conn.execute(select(teams.c.id).order_by(teams.c.id)))]


# ---- timers (durable jobs, re-armed on activity) ------------------------------------------------

def _seconds(team: Any, column: str, default: int) -> int:
    value = getattr(team, column, None) if team is not None else None
    return int(default if value is None else value)


async def release_after(tx: Tx, team_id: int | None) -> int:
    return _seconds(await team_row(tx, team_id), "release_after_s", _setting(tx, "auto_release_after_s"))


async def auto_close_after(tx: Tx, team_id: int | None) -> int:
    return _seconds(await team_row(tx, team_id), "auto_close_after_s", _setting(tx, "auto_close_after_s"))


async def arm_release(tx: Tx, conversation_id: int, team_id: int | None) -> None:
    seconds = await release_after(tx, team_id)
    if seconds > 0:
        await arm(tx, "conversation_timer", {"conversation_id": conversation_id, "timer": "release"},
                  run_at=utcnow() + timedelta(seconds=seconds), dedup_key=f"timer:release:{conversation_id}")


async def arm_auto_close(tx: Tx, conversation_id: int) -> None:
    team_id = await tx.conn.scalar(select(conversations.c.team_id).where(conversations.c.id == conversation_id))
    seconds = await auto_close_after(tx, team_id)
    if seconds > 0:
        await arm(tx, "conversation_timer", {"conversation_id": conversation_id, "timer": "close"},
                  run_at=utcnow() + timedelta(seconds=seconds), dedup_key=f"timer:close:{conversation_id}")
