"""Conversation lifecycle: new (waiting) → open (em atendimento) → done (concluído).

Every change keeps the board counters, the attendance row, the waiting clock, the timers and the
events log in step, in the caller's transaction. Who may make a change is asked of `auth.policy` here,
on the locked row, so the API and the pages share one rule (`by`: the person acting; None: the system).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from atende.actions import audit, rollups
from atende.actions.errors import Conflict, Invalid, NotFound
from atende.auth import policy
from atende.auth.policy import Viewer
from atende.db.prepared import insert_ignore_stmt
from atende.db.tables import (
    attendances,
    conversation_counts,
    conversation_handlers,
    conversations,
    messages,
    team_connectors,
    teams,
    users,
)
from atende.db.tx import Tx
from atende.db.types import utcnow
from atende.realtime import events


async def bump_count(tx: Tx, channel: str, status: str, assignee_id: int | None, delta: int,
                     team_id: int | None = None) -> None:
    mod = postgresql if tx.dialect == "postgresql" else sqlite
    stmt = mod.insert(conversation_counts).values(
        channel=channel, status=status, assignee_id=assignee_id or 0, team_id=team_id or 0, n=delta
    )
    await tx.conn.execute(stmt.on_conflict_do_update(
        index_elements=["channel", "status", "assignee_id", "team_id"],
        set_={"n": conversation_counts.c.n + delta},
    ))


async def _move_count(tx: Tx, channel: str, old: tuple[str, int | None, int | None],
                      new: tuple[str, int | None, int | None]) -> None:
    """One conversation leaves counter `old` for `new` (status, assignee, team). The two rows are
    touched in one fixed order, so concurrent moves on PostgreSQL never wait on each other in a circle."""
    if old == new:
        return
    changes = sorted([(old, -1), (new, 1)], key=lambda c: (c[0][0], c[0][1] or 0, c[0][2] or 0))
    for (status, assignee, team), delta in changes:
        await bump_count(tx, channel, status, assignee, delta, team)


async def load(tx: Tx, conversation_id: int) -> Any:
    row = (await tx.conn.execute(
        select(conversations).where(conversations.c.id == conversation_id).with_for_update()
    )).first()
    if row is None:
        raise NotFound("conversa não encontrada")
    return row


async def start_attendance(tx: Tx, conversation_id: int, at: datetime, assignee_id: int | None = None,
                           team_id: Any = ...) -> int:
    """A new new→open→done cycle (of `team_id`: by default the conversation's team); a reopening when
    the conversation had one before."""
    conv = (await tx.conn.execute(select(conversations).where(conversations.c.id == conversation_id))).one()
    team = conv.team_id if team_id is ... else team_id
    reopened = conv.current_attendance_id is not None
    attendance_id = int((await tx.conn.execute(
        insert(attendances).values(
            conversation_id=conversation_id, started_at=at, assignee_id=assignee_id,
            assigned_at=at if assignee_id else None, connector_id=conv.connector_id, channel=conv.channel,
            team_id=team, reopened=reopened,
        ).returning(attendances.c.id)
    )).scalar_one())
    await rollups.attendance_started(tx, conv=conv, at=at, reopened=reopened, team_id=team)
    return attendance_id


async def team_of_connector(tx: Tx, connector_id: int) -> int | None:
    value = await tx.conn.scalar(select(team_connectors.c.team_id)
                                 .where(team_connectors.c.connector_id == connector_id))
    return None if value is None else int(value)


async def add_handler(tx: Tx, conversation_id: int, user_id: int) -> None:
    """`user_id` worked this conversation: they keep reading it (read-only) after it moves on."""
    await tx.conn.execute(insert_ignore_stmt(conversation_handlers, tx.dialect),
                          {"conversation_id": conversation_id, "user_id": user_id})


async def create(
    tx: Tx, *, connector_id: int, contact_id: int, channel: str, address: str, address_key: str,
    at: datetime, status: str = "new",
) -> int:
    """A conversation enters the queue of the team that serves its connector (none: the default queue)."""
    team_id = await team_of_connector(tx, connector_id)
    values = dict(
        connector_id=connector_id, contact_id=contact_id, channel=channel, address=address,
        address_key=address_key, status=status, last_activity_at=at, created_at=utcnow(), team_id=team_id,
        waiting_since=at if status == "new" else None,
    )
    mod = postgresql if tx.dialect == "postgresql" else sqlite
    # Two processes may see the same new customer at once (PostgreSQL): the unique key decides.
    result = await tx.conn.execute(
        mod.insert(conversations).values(**values).on_conflict_do_nothing().returning(conversations.c.id)
    )
    conversation_id = result.scalar()
    if conversation_id is None:
        existing = await tx.conn.scalar(select(conversations.c.id).where(
            conversations.c.connector_id == connector_id, conversations.c.address_key == address_key))
        assert existing is not None
        return int(existing)
    conversation_id = int(conversation_id)
    if status != "done":
        attendance_id = await start_attendance(tx, conversation_id, at)
        await tx.conn.execute(update(conversations).where(conversations.c.id == conversation_id)
                              .values(current_attendance_id=attendance_id))
    await bump_count(tx, channel, status, None, 1, team_id)
    await events.append(tx, "conversation.created", {
        "id": conversation_id, "status": status, "channel": channel, "conversation_id": conversation_id,
        "contact_id": contact_id, "team_id": team_id, "assignee_id": None, "conversation_status": status,
    }, conversation_id)
    return conversation_id


async def transition(
    tx: Tx, conv: Any, status: str, assignee_id: int | None, *, actor_id: int | None, event: str,
    note: str | None = None, team_id: Any = ..., extra: dict[str, Any] | None = None,
    started_at: datetime | None = None,
) -> None:
    """Move `conv` (a locked row) to (status, assignee, team) with everything that follows from it."""
    now = utcnow()
    team = conv.team_id if team_id is ... else team_id
    values: dict[str, Any] = {"status": status, "assignee_id": assignee_id}
    if team != conv.team_id:
        values["team_id"] = team
    if status == "new" and conv.waiting_since is None:
        values["waiting_since"] = now  # entered the queue with nothing unanswered: waits from now
    elif status == "done":
        values.update(waiting_since=None, bot=None)
    if assignee_id is not None:
        values["bot"] = None  # the bot never speaks while an agent holds the conversation
    attendance_id = conv.current_attendance_id
    if status in ("new", "open") and (conv.status == "done" or attendance_id is None):
        attendance_id = await start_attendance(tx, conv.id, min(started_at or now, now), assignee_id, team)
        values["current_attendance_id"] = attendance_id
    elif attendance_id is not None:
        att: dict[str, Any] = {}
        if status == "done":
            att.update(closed_at=now, closed_by=actor_id)
        if assignee_id is not None and assignee_id != conv.assignee_id:
            att.update(assignee_id=assignee_id)
            att["assigned_at"] = now
        if att:
            stmt = update(attendances).where(attendances.c.id == attendance_id)
            if "assigned_at" in att:
                # The first assignment of an attendance is what response times are measured from.
                await tx.conn.execute(stmt.where(attendances.c.assigned_at.is_(None)).values(assigned_at=now))
                del att["assigned_at"]
            if att:
                await tx.conn.execute(stmt.values(**att))
        if status == "done" and conv.status != "done":
            await rollups.attendance_closed(tx, attendance_id, now)
    await tx.conn.execute(update(conversations).where(conversations.c.id == conv.id).values(**values))
    if status == "done" and conv.status != "done" and attendance_id is not None:
        from atende.actions.odoo import attendance_closed  # transcript to the Odoo partner's chatter

        await attendance_closed(tx, attendance_id=attendance_id, conversation_id=conv.id, contact_id=conv.contact_id)
    await _move_count(tx, conv.channel, (conv.status, conv.assignee_id, conv.team_id), (status, assignee_id, team))
    if assignee_id is not None:
        await add_handler(tx, conv.id, assignee_id)
    await events.append(tx, event, {
        "id": conv.id, "status": status, "previous_status": conv.status, "assignee_id": assignee_id,
        "previous_assignee_id": conv.assignee_id, "actor_id": actor_id, "channel": conv.channel,
        "conversation_id": conv.id, "contact_id": conv.contact_id, "team_id": team,
        "previous_team_id": conv.team_id, "conversation_status": status,
        **({"note": note} if note else {}), **(extra or {}),
    }, conv.id)
    from atende.actions import queues  # routing builds on this module; its foundations are below it

    if status == "open" and assignee_id is not None:
        if assignee_id != conv.assignee_id or conv.status != "open":
            await queues.arm_release(tx, conv.id, team)
        if conv.status != "open":
            await queues.arm_auto_close(tx, conv.id)
    if conv.assignee_id is not None and conv.status == "open" and (status != "open" or assignee_id != conv.assignee_id):
        await queues.slot_freed(tx, conv.assignee_id)
    if status == "new":
        await queues.enqueue_route(tx, conv.id)


async def _audit(tx: Tx, action: str, by: Viewer | None, conv: Any, **detail: Any) -> None:
    if by is None:
        return  # the system's own moves (routing, timers) are in the events log
    await audit.record(tx, action, actor_id=by.id, target_type="conversation", target_id=int(conv.id),
                       contact_id=int(conv.contact_id), ip=by.ip,
                       detail={k: v for k, v in detail.items() if v is not None})


async def _agent(tx: Tx, agent_id: int, *, lock: bool = False) -> Any:
    stmt = select(users.c.id, users.c.name, users.c.active, users.c.capacity, users.c.presence).where(
        users.c.id == agent_id)
    row = (await tx.conn.execute(stmt.with_for_update() if lock else stmt)).first()
    if row is None or not row.active:
        raise Invalid("agente não encontrado ou inativo")
    return row


async def holder_name(tx: Tx, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    value = await tx.conn.scalar(select(users.c.name).where(users.c.id == user_id))
    return None if value is None else str(value)


async def ensure_room(tx: Tx, agent_id: int) -> None:
    """Nobody holds more open conversations than their capacity (0: unlimited). The agent's row is
    locked first, so two assignments to one agent are counted one after the other."""
    from atende.actions.queues import has_room

    agent = await _agent(tx, agent_id, lock=True)
    if not await has_room(tx, agent):
        raise Conflict(f"{agent.name} já está no limite de conversas simultâneas", code="at_capacity")


async def assign(tx: Tx, conversation_id: int, agent_id: int, *, actor_id: int | None = None,
                 by: Viewer | None = None) -> None:
    """Take (assign to yourself) or assign to another agent. Done conversations reopen.

    Taking is a compare-and-set: a conversation in service with someone else answers 409, even to a
    supervisor (who reassigns explicitly: `assign` to someone, or `transfer`)."""
    actor_id = by.id if by is not None else actor_id
    conv = await load(tx, conversation_id)
    taking = by is not None and agent_id == by.id
    if taking:
        await policy.require_take(tx.conn, by, conv, await holder_name(tx, conv.assignee_id))
    else:
        await policy.require_act(tx.conn, by, conv)
    if conv.status == "open" and conv.assignee_id == agent_id:
        return
    await ensure_room(tx, agent_id)
    moved = conv.assignee_id not in (None, agent_id) and conv.status == "open"
    event = "conversation.transferred" if moved else "conversation.assigned"
    await transition(tx, conv, "open", agent_id, actor_id=actor_id, event=event)
    await _audit(tx, "conversation.take" if taking else ("conversation.transfer" if moved else "conversation.assign"),
                 by, conv, agent_id=agent_id, previous_agent_id=conv.assignee_id)


async def transfer(tx: Tx, conversation_id: int, *, agent_id: int | None = None, team_id: int | None = None,
                   note: str | None = None, by: Viewer | None = None) -> None:
    """To an agent (who holds it from now on) or to a team (whose queue it enters, assigned by the team's
    policy). A note is kept as an internal note on the conversation."""
    if (agent_id is None) == (team_id is None):
        raise Invalid("informe agent_id ou team_id, um dos dois")
    conv = await load(tx, conversation_id)
    await policy.require_act(tx.conn, by, conv)
    actor_id = by.id if by else None
    note = (note or "").strip() or None
    if agent_id is not None:
        if conv.assignee_id == agent_id and conv.status == "open":
            raise Conflict("a conversa já está com este agente")
        await ensure_room(tx, agent_id)
        await transition(tx, conv, "open", agent_id, actor_id=actor_id, event="conversation.transferred", note=note)
    else:
        exists = await tx.conn.scalar(select(teams.c.id).where(teams.c.id == team_id))
        if exists is None:
            raise Invalid("equipe não encontrada")
        await transition(tx, conv, "new", None, actor_id=actor_id, event="conversation.transferred", note=note,
                          team_id=team_id)
    if note and actor_id is not None:
        await insert_note(tx, conv, note, author_id=actor_id)
    await _audit(tx, "conversation.transfer", by, conv, agent_id=agent_id, team_id=team_id,
                 previous_agent_id=conv.assignee_id, previous_team_id=conv.team_id)


async def release(tx: Tx, conversation_id: int, *, actor_id: int | None = None, reason: str | None = None,
                  by: Viewer | None = None) -> None:
    """Back to the queue (open → new), by the agent or by the release timer."""
    conv = await load(tx, conversation_id)
    await policy.require_act(tx.conn, by, conv)
    if conv.status != "open":
        raise Conflict("só conversas em atendimento podem voltar para a fila")
    actor_id = by.id if by else actor_id
    await transition(tx, conv, "new", None, actor_id=actor_id, event="conversation.released", note=reason)
    await _audit(tx, "conversation.release", by, conv, previous_agent_id=conv.assignee_id)


async def close(tx: Tx, conversation_id: int, *, actor_id: int | None = None, by: Viewer | None = None) -> None:
    conv = await load(tx, conversation_id)
    await policy.require_act(tx.conn, by, conv)
    if conv.status == "done":
        return
    actor_id = by.id if by else actor_id
    await transition(tx, conv, "done", conv.assignee_id, actor_id=actor_id, event="conversation.closed")
    if by is not None:  # closing is handling: whoever closed it keeps reading it, even if never assigned
        await add_handler(tx, conversation_id, by.id)
    await _audit(tx, "conversation.close", by, conv)
    from atende.actions.csat_settings import after_close

    await after_close(tx, conversation_id)  # the satisfaction survey, where the team or connector asks it


async def reopen(tx: Tx, conversation_id: int, *, actor_id: int | None = None, assignee_id: int | None = None,
                 by: Viewer | None = None) -> None:
    conv = await load(tx, conversation_id)
    await policy.require_act(tx.conn, by, conv)
    if conv.status != "done":
        raise Conflict("a conversa não está concluída")
    if assignee_id is not None:
        await ensure_room(tx, assignee_id)
    status = "open" if assignee_id else "new"
    actor_id = by.id if by else actor_id
    await transition(tx, conv, status, assignee_id, actor_id=actor_id, event="conversation.reopened",
                      team_id=await team_of_connector(tx, conv.connector_id))
    await _audit(tx, "conversation.reopen", by, conv, agent_id=assignee_id)


async def reopen_for_inbound(tx: Tx, conv: Any, at: datetime | None = None) -> None:
    """An inbound message on a done conversation puts it back in the queue of its connector's team, as
    new: routed again (to the previous agent first when the team's policy is sticky). The new
    attendance starts when the customer wrote (`at`), so the message and its wait belong to it."""
    await transition(tx, conv, "new", None, actor_id=None, event="conversation.reopened",
                      team_id=await team_of_connector(tx, conv.connector_id), started_at=at)


async def mark_read(tx: Tx, conversation_id: int, *, by: Viewer | None = None) -> bool:
    if by is not None:
        conv = (await tx.conn.execute(select(conversations).where(conversations.c.id == conversation_id))).first()
        if conv is None:
            raise NotFound("conversa não encontrada")
        await policy.require_act(tx.conn, by, conv)
    result = await tx.conn.execute(
        update(conversations).where(conversations.c.id == conversation_id, conversations.c.unread > 0)
        .values(unread=0)
    )
    if result.rowcount:
        await events.append(tx, "conversation.read", {"id": conversation_id, "unread": 0}, conversation_id)
        from atende.actions.receipts import queue_read_receipt

        await queue_read_receipt(tx, conversation_id)  # WhatsApp: blue ticks for the customer
        return True
    return False


async def insert_note(tx: Tx, conv: Any, text: str, *, author_id: int) -> int:
    """The note row and its event, on a conversation row the caller holds."""
    now = utcnow()
    message_id = int((await tx.conn.execute(insert(messages).values(
        conversation_id=conv.id, connector_id=conv.connector_id, contact_id=conv.contact_id, direction="out",
        kind="note", text=text, status="sent", author_id=author_id, attributes={}, created_at=now, updated_at=now,
    ).returning(messages.c.id))).scalar_one())
    await events.append(tx, "message.created", {"id": message_id, "conversation_id": conv.id, "kind": "note",
                                                "direction": "out"}, conv.id)
    return message_id
