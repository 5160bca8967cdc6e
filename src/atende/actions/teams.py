"""Teams: members, the connectors they serve, routing policy, visibility, business hours and timers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from atende.actions import audit
from atende.actions.conversations import bump_count
from atende.actions.errors import Conflict, Forbidden, Invalid, NotFound
from atende.actions.queues import enqueue_queue
from atende.actions.routing import POLICIES, VISIBILITIES
from atende.auth.policy import Viewer
from atende.db.tables import (
    connectors,
    conversation_counts,
    conversations,
    team_connectors,
    team_members,
    teams,
    users,
)
from atende.db.tx import Tx
from atende.db.types import utcnow
from atende.domain import hours as business_hours
from atende.realtime import events

MAX_MESSAGE = 1000
MAX_TIMER_S = 30 * 24 * 3600
# What a supervisor may change in their own teams; the rest is for admins.
SUPERVISOR_FIELDS = frozenset({"member_ids"})
FIELDS = ("name", "policy", "visibility", "business_hours", "out_of_hours_message", "release_after_s",
          "auto_close_after_s", "closing_message", "fallback_agent_id")


def _text(value: Any, field: str, limit: int = MAX_MESSAGE) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if len(text) > limit:
        raise Invalid(f"{field}: no máximo {limit} caracteres")
    return text or None


def _timer(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TIMER_S:
        raise Invalid(f"{field}: segundos, de 0 (desligado) a {MAX_TIMER_S}")
    return value


async def _check_users(tx: Tx, ids: Iterable[int], field: str) -> list[int]:
    wanted = sorted({int(i) for i in ids})
    if not wanted:
        return []
    found = {int(r[0]) for r in await tx.conn.execute(select(users.c.id).where(users.c.id.in_(wanted)))}
    missing = [i for i in wanted if i not in found]
    if missing:
        raise Invalid(f"{field}: usuário(s) inexistente(s): {', '.join(map(str, missing))}")
    return wanted


async def _values(tx: Tx, body: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "name" in body:
        name = _text(body["name"], "name", 100)
        if not name:
            raise Invalid("informe o nome da equipe")
        values["name"] = name
    if "policy" in body:
        if body["policy"] not in POLICIES:
            raise Invalid(f"policy deve ser {', '.join(POLICIES)}")
        values["policy"] = body["policy"]
    if "visibility" in body:
        if body["visibility"] not in VISIBILITIES:
            raise Invalid(f"visibility deve ser {', '.join(VISIBILITIES)}")
        values["visibility"] = body["visibility"]
    if "business_hours" in body:
        try:
            parsed = business_hours.parse(body["business_hours"])
        except business_hours.InvalidHours as exc:
            raise Invalid(f"business_hours: {exc}") from None
        values["business_hours"] = None if parsed is None else business_hours.normalized(parsed)
    for field in ("out_of_hours_message", "closing_message"):
        if field in body:
            values[field] = _text(body[field], field)
    for field in ("release_after_s", "auto_close_after_s"):
        if field in body:
            values[field] = _timer(body[field], field)
    if "fallback_agent_id" in body:
        fallback = body["fallback_agent_id"]
        values["fallback_agent_id"] = None if fallback is None else (await _check_users(tx, [fallback],
                                                                                          "fallback_agent_id"))[0]
    return values


async def _set_members(tx: Tx, team_id: int, member_ids: list[int]) -> None:
    await tx.conn.execute(delete(team_members).where(team_members.c.team_id == team_id))
    if member_ids:
        now = utcnow()
        await tx.conn.execute(insert(team_members), [
            {"team_id": team_id, "user_id": uid, "created_at": now} for uid in member_ids])


async def _set_connectors(tx: Tx, team_id: int, connector_ids: list[int]) -> None:
    wanted = sorted({int(i) for i in connector_ids})
    if wanted:
        found = {int(r[0]) for r in await tx.conn.execute(select(connectors.c.id).where(connectors.c.id.in_(wanted)))}
        missing = [i for i in wanted if i not in found]
        if missing:
            raise Invalid(f"connector_ids: conector(es) inexistente(s): {', '.join(map(str, missing))}")
        taken = list(await tx.conn.execute(
            select(team_connectors.c.connector_id, teams.c.name)
            .select_from(team_connectors.join(teams, teams.c.id == team_connectors.c.team_id))
            .where(team_connectors.c.connector_id.in_(wanted), team_connectors.c.team_id != team_id)))
        if taken:
            raise Conflict("conector já atendido por outra equipe: " +
                           ", ".join(f"{r.connector_id} ({r.name})" for r in taken))
    await tx.conn.execute(delete(team_connectors).where(team_connectors.c.team_id == team_id))
    if wanted:
        await tx.conn.execute(insert(team_connectors), [{"team_id": team_id, "connector_id": c} for c in wanted])


def _int_list(body: Mapping[str, Any], field: str) -> list[int] | None:
    if field not in body or body[field] is None:
        return None
    value = body[field]
    if not isinstance(value, list) or any(isinstance(i, bool) or not isinstance(i, int) for i in value):
        raise Invalid(f"{field}: uma lista de ids")
    if len(value) > 1000:
        raise Invalid(f"{field}: no máximo 1000 ids")
    return [int(i) for i in value]


async def _event(tx: Tx, kind: str, team_id: int) -> None:
    members = [int(r[0]) for r in await tx.conn.execute(
        select(team_members.c.user_id).where(team_members.c.team_id == team_id))]
    await events.append(tx, kind, {"id": team_id, "member_ids": members})


async def create_team(tx: Tx, body: Mapping[str, Any], *, by: Viewer | None = None) -> int:
    if by is not None and not by.is_admin:
        raise Forbidden("só administradores criam equipes")
    values = await _values(tx, {"policy": "least_busy", "visibility": "own", **body})
    if "name" not in values:
        raise Invalid("informe o nome da equipe")
    now = utcnow()
    try:
        async with tx.conn.begin_nested():
            team_id = int((await tx.conn.execute(insert(teams).values(created_at=now, updated_at=now, **values)
                                                 .returning(teams.c.id))).scalar_one())
    except IntegrityError:
        raise Conflict("já existe uma equipe com este nome") from None
    await _set_members(tx, team_id, await _check_users(tx, _int_list(body, "member_ids") or [], "member_ids"))
    await _set_connectors(tx, team_id, _int_list(body, "connector_ids") or [])
    await _event(tx, "team.created", team_id)
    if by is not None:
        await audit.record(tx, "team.create", actor_id=by.id, target_type="team", target_id=team_id, ip=by.ip)
    return team_id


async def update_team(tx: Tx, team_id: int, body: Mapping[str, Any], *, by: Viewer | None = None) -> None:
    exists = await tx.conn.scalar(select(teams.c.id).where(teams.c.id == team_id).with_for_update())
    if exists is None:
        raise NotFound("equipe não encontrada")
    if by is not None and not by.is_admin:
        if not (by.is_staff and team_id in by.teams):
            raise Forbidden("você só edita os membros das suas equipes")
        extra = {k for k in body if body.get(k) is not None} - SUPERVISOR_FIELDS
        if extra:
            raise Forbidden(f"supervisores só alteram os membros da equipe (não: {', '.join(sorted(extra))})")
    values = await _values(tx, body)
    tx.memo.pop(("team", team_id), None)
    if values:
        try:
            async with tx.conn.begin_nested():
                await tx.conn.execute(update(teams).where(teams.c.id == team_id).values(updated_at=utcnow(), **values))
        except IntegrityError:
            raise Conflict("já existe uma equipe com este nome") from None
    members = _int_list(body, "member_ids")
    if members is not None:
        await _set_members(tx, team_id, await _check_users(tx, members, "member_ids"))
    connector_ids = _int_list(body, "connector_ids")
    if connector_ids is not None:
        await _set_connectors(tx, team_id, connector_ids)
    await _event(tx, "team.updated", team_id)
    await enqueue_queue(tx, team_id)  # new members, new hours, a new policy: route what waits
    if by is not None:
        await audit.record(tx, "team.update", actor_id=by.id, target_type="team", target_id=team_id, ip=by.ip,
                           detail={"fields": sorted(k for k in body if body.get(k) is not None)})


async def delete_team(tx: Tx, team_id: int, *, by: Viewer | None = None) -> None:
    """The team's conversations join the default queue (their counters move with them)."""
    if by is not None and not by.is_admin:
        raise Forbidden("só administradores excluem equipes")
    if await tx.conn.scalar(select(teams.c.id).where(teams.c.id == team_id).with_for_update()) is None:
        raise NotFound("equipe não encontrada")
    rows = list(await tx.conn.execute(select(conversation_counts).where(conversation_counts.c.team_id == team_id)))
    for row in rows:
        await bump_count(tx, row.channel, row.status, row.assignee_id or None, int(row.n), None)
    await tx.conn.execute(delete(conversation_counts).where(conversation_counts.c.team_id == team_id))
    await tx.conn.execute(update(conversations).where(conversations.c.team_id == team_id).values(team_id=None))
    await tx.conn.execute(delete(teams).where(teams.c.id == team_id))
    await events.append(tx, "team.deleted", {"id": team_id})
    await enqueue_queue(tx, None)
    if by is not None:
        await audit.record(tx, "team.delete", actor_id=by.id, target_type="team", target_id=team_id, ip=by.ip)


async def team_view(conn: Any, team_id: int) -> dict[str, Any] | None:
    row = (await conn.execute(select(teams).where(teams.c.id == team_id))).first()
    if row is None:
        return None
    return (await team_views(conn, [row]))[0]


async def team_views(conn: Any, rows: list[Any] | None = None) -> list[dict[str, Any]]:
    from atende.db.queries import iso

    if rows is None:
        rows = list(await conn.execute(select(teams).order_by(teams.c.name)))
    ids = [int(r.id) for r in rows]
    members: dict[int, list[int]] = {i: [] for i in ids}
    served: dict[int, list[int]] = {i: [] for i in ids}
    if ids:
        for r in await conn.execute(select(team_members.c.team_id, team_members.c.user_id)
                                    .where(team_members.c.team_id.in_(ids)).order_by(team_members.c.user_id)):
            members[int(r.team_id)].append(int(r.user_id))
        for r in await conn.execute(select(team_connectors.c.team_id, team_connectors.c.connector_id)
                                    .where(team_connectors.c.team_id.in_(ids)).order_by(team_connectors.c.connector_id)):
            served[int(r.team_id)].append(int(r.connector_id))
    now = utcnow()
    out = []
    for r in rows:
        hours = business_hours.parse(r.business_hours) if r.business_hours else None
        out.append({
            "id": r.id, "name": r.name, "policy": r.policy, "visibility": r.visibility,
            "member_ids": members[int(r.id)], "connector_ids": served[int(r.id)],
            "business_hours": r.business_hours, "open_now": hours is None or hours.is_open(now),
            "out_of_hours_message": r.out_of_hours_message, "release_after_s": r.release_after_s,
            "auto_close_after_s": r.auto_close_after_s, "closing_message": r.closing_message,
            "fallback_agent_id": r.fallback_agent_id, "created_at": iso(r.created_at), "updated_at": iso(r.updated_at),
        })
    return out
