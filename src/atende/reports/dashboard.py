"""GET /api/v1/dashboard: how the operation is doing today, from counters only.

Every figure is a sum of a handful of counter rows (report_daily, conversation_counts), an index seek
(the longest wait) or a small table (users, balances): the cost does not grow with the number of
conversations or messages.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from atende.db.tables import (
    connector_balances,
    connectors,
    conversation_counts,
    conversations,
    metadata,
    report_daily,
    users,
)
from atende.db.types import utcnow
from atende.reports.filters import NO_TEAM
from atende.reports.summary import money, rate

ALWAYS_CHANNELS = ("sms", "whatsapp")


def _in_scope(column: Any, scope: frozenset[int] | None) -> ColumnElement[bool]:
    return true() if scope is None else column.in_(sorted(scope))


async def _team_names(conn: AsyncConnection) -> dict[int, str]:
    teams = metadata.tables.get("teams")
    if teams is None:
        return {}
    return {int(r.id): str(r.name) for r in await conn.execute(select(teams.c.id, teams.c.name))}


async def active_today(conn: AsyncConnection, zone: str, scope: frozenset[int] | None,
                       now: datetime | None = None) -> dict[str, Any]:
    """Conversations with a message today: the whole, per channel, connector and team (also the board's line)."""
    today = (now or utcnow()).astimezone(ZoneInfo(zone)).date()
    d = report_daily
    rows = list(await conn.execute(
        select(d.c.channel, d.c.connector_id, d.c.team_id, func.sum(d.c.active).label("active"))
        .where(d.c.day == today, _in_scope(d.c.team_id, scope))
        .group_by(d.c.channel, d.c.connector_id, d.c.team_id)))
    out: dict[str, Any] = {"total": 0, **dict.fromkeys(ALWAYS_CHANNELS, 0)}
    per_connector: dict[int, int] = {}
    per_team: dict[int, int] = {}
    for row in rows:
        n = int(row.active or 0)
        out["total"] += n
        out[row.channel] = out.get(row.channel, 0) + n
        per_connector[int(row.connector_id)] = per_connector.get(int(row.connector_id), 0) + n
        per_team[int(row.team_id)] = per_team.get(int(row.team_id), 0) + n
    out["day"] = today.isoformat()
    out["_per_connector"] = per_connector
    out["_per_team"] = per_team
    return out


async def _connectors(conn: AsyncConnection) -> dict[int, Any]:
    return {int(r.id): r for r in await conn.execute(
        select(connectors.c.id, connectors.c.name, connectors.c.channel, connectors.c.provider, connectors.c.active,
               connectors.c.alerts))}


ALERTS_SHOWN = ("critical", "warning")
ALERTS_PER_CONNECTOR = 3


def _alerts(known: dict[int, Any]) -> list[dict[str, Any]]:
    """What providers said about active connectors' accounts (restrictions, quality, limits): the newest
    critical and warning alerts of each, critical first (kept on the connector: no scan)."""
    out = []
    for cid, c in sorted(known.items()):
        if not c.active:
            continue
        shown = [a for a in (c.alerts or []) if isinstance(a, dict) and a.get("severity") in ALERTS_SHOWN]
        for a in shown[:ALERTS_PER_CONNECTOR]:
            out.append({"connector_id": cid, "name": c.name, "channel": c.channel, "type": a.get("type"),
                        "detail": a.get("detail"), "at": a.get("at"), "severity": a.get("severity")})
    out.sort(key=lambda a: str(a["at"]), reverse=True)  # newest first, then (stable) critical first
    return sorted(out, key=lambda a: ALERTS_SHOWN.index(str(a["severity"])))


async def _today(conn: AsyncConnection, today: Any, scope: frozenset[int] | None) -> dict[str, Any]:
    d = report_daily
    row = (await conn.execute(select(
        *(func.coalesce(func.sum(d.c[name]), 0).label(name) for name in (
            "opened", "reopened", "closed", "messages_in", "messages_out", "messages_agent", "first_responses",
            "first_response_s")),
    ).where(d.c.day == today, _in_scope(d.c.team_id, scope)))).one()
    return {"opened": int(row.opened), "reopened": int(row.reopened), "closed": int(row.closed),
            "messages_in": int(row.messages_in), "messages_out": int(row.messages_out),
            "first_responses": int(row.first_responses),
            "first_response_avg_s": _avg(int(row.first_response_s), int(row.first_responses))}


def _avg(total: int, n: int) -> int | None:
    return None if n == 0 else round(total / n)


async def _queue(conn: AsyncConnection, scope: frozenset[int] | None, now: datetime,
                 team_names: dict[int, str]) -> dict[str, Any]:
    """Waiting conversations (the board's counters) and the longest wait (an index seek per team)."""
    c = conversation_counts
    has_teams = "team_id" in c.c
    team_col = c.c.team_id if has_teams else None
    groups = [team_col] if team_col is not None else []
    rows = await conn.execute(select(*groups, func.sum(c.c.n).label("n")).where(c.c.status == "new", *(
        [_in_scope(team_col, scope)] if team_col is not None else [])).group_by(*groups))
    waiting: dict[int, int] = {}
    for row in rows:
        team = int(row.team_id) if has_teams else NO_TEAM
        waiting[team] = waiting.get(team, 0) + int(row.n or 0)
    by_team = []
    longest_all: int | None = None
    for team, n in sorted(waiting.items()):
        if n <= 0:
            continue
        oldest = await _oldest_waiting(conn, team if has_teams else None)
        wait = None if oldest is None else max(0, int((now - oldest).total_seconds()))
        if wait is not None:
            longest_all = wait if longest_all is None else max(longest_all, wait)
        by_team.append({"team_id": None if team == NO_TEAM else team,
                        "name": team_names.get(team, "Sem equipe" if team == NO_TEAM else f"#{team}"),
                        "waiting": n, "longest_wait_s": wait})
    return {"waiting": sum(t["waiting"] for t in by_team), "longest_wait_s": longest_all, "by_team": by_team}


async def _oldest_waiting(conn: AsyncConnection, team: int | None) -> datetime | None:
    """When the longest-waiting conversation of a queue started waiting."""
    c = conversations
    if "waiting_since" in c.c:
        clock = c.c.waiting_since
        cond = [c.c.team_id.is_(None) if not team else c.c.team_id == team]
    else:  # before teams: the oldest activity among the waiting ones
        clock, cond = c.c.last_activity_at, []
    value = await conn.scalar(select(clock).where(c.c.status == "new", clock.is_not(None), *cond)
                              .order_by(clock).limit(1))
    return value if isinstance(value, datetime) else None


async def _agents(conn: AsyncConnection, today: Any, scope: frozenset[int] | None) -> list[dict[str, Any]]:
    members = metadata.tables.get("team_members")
    cond: list[Any] = [users.c.active.is_(True), users.c.role.in_(("agent", "supervisor"))]
    if scope is not None and members is not None:
        # The members of the viewer's teams, and the people in no team (they serve only the default queue).
        cond.append(or_(users.c.id.in_(select(members.c.user_id).where(members.c.team_id.in_(sorted(scope)))),
                        users.c.id.not_in(select(members.c.user_id))))
    people = list(await conn.execute(select(users.c.id, users.c.name, users.c.role, users.c.presence,
                                            users.c.capacity).where(*cond).order_by(users.c.name, users.c.id)))
    if not people:
        return []
    ids = [int(p.id) for p in people]
    c = conversation_counts
    open_rows = await conn.execute(select(c.c.assignee_id, func.sum(c.c.n)).where(
        c.c.status == "open", c.c.assignee_id.in_(ids)).group_by(c.c.assignee_id))
    holding = {int(a): int(n or 0) for a, n in open_rows}
    d = report_daily
    fr_rows = await conn.execute(select(d.c.agent_id, func.sum(d.c.first_responses), func.sum(d.c.first_response_s),
                                        func.sum(d.c.messages_agent)).where(
        d.c.day == today, d.c.agent_id.in_(ids)).group_by(d.c.agent_id))
    responses = {int(a): (int(n or 0), int(s or 0), int(m or 0)) for a, n, s, m in fr_rows}
    out = []
    for p in people:
        n, total, sent = responses.get(int(p.id), (0, 0, 0))
        out.append({"id": int(p.id), "name": p.name, "role": p.role, "presence": p.presence,
                    "open": holding.get(int(p.id), 0), "capacity": int(p.capacity),
                    "first_response_today_s": _avg(total, n), "first_responses_today": n,
                    "messages_today": sent})
    return out


def _sms_block(row: Any) -> dict[str, Any]:
    sent = int(row.sms_sent or 0) if row is not None else 0
    delivered = int(row.sms_delivered or 0) if row is not None else 0
    return {"messages": sent, "segments": int(row.sms_segments or 0) if row is not None else 0,
            "cost": money((row.sms_cost if row is not None else None) or Decimal(0)),
            "delivered": delivered, "failed": int(row.sms_failed or 0) if row is not None else 0,
            "delivery_rate": rate(delivered, sent)}


async def _sms(conn: AsyncConnection, today: Any, scope: frozenset[int] | None,
               known: dict[int, Any]) -> dict[str, Any]:
    d = report_daily
    names = ("sms_sent", "sms_segments", "sms_cost", "sms_delivered", "sms_failed")
    sums = [func.sum(d.c[n]).label(n) for n in names]
    base = [d.c.channel == "sms", _in_scope(d.c.team_id, scope)]
    month = {int(r.connector_id): r for r in await conn.execute(
        select(d.c.connector_id, *sums).where(d.c.day >= today.replace(day=1), d.c.day <= today, *base)
        .group_by(d.c.connector_id))}
    day = {int(r.connector_id): r for r in await conn.execute(
        select(d.c.connector_id, *sums).where(d.c.day == today, *base).group_by(d.c.connector_id))}
    wanted = sorted(set(month) | {cid for cid, c in known.items() if c.channel == "sms" and c.active})
    per = [{"connector_id": cid, "name": known[cid].name if cid in known else f"#{cid}",
            "today": _sms_block(day.get(cid)), "month": _sms_block(month.get(cid))} for cid in wanted]
    total_today = _total(per, "today")
    total_month = _total(per, "month")
    return {"today": total_today, "month": total_month, "by_connector": per}


def _total(per: list[dict[str, Any]], key: str) -> dict[str, Any]:
    sent = sum(p[key]["messages"] for p in per)
    delivered = sum(p[key]["delivered"] for p in per)
    return {"messages": sent, "segments": sum(p[key]["segments"] for p in per),
            "cost": money(sum((Decimal(p[key]["cost"]) for p in per), Decimal(0))),
            "delivered": delivered, "failed": sum(p[key]["failed"] for p in per),
            "delivery_rate": rate(delivered, sent)}


async def _balances(conn: AsyncConnection, known: dict[int, Any], thresholds: dict[int, Decimal | None]
                    ) -> list[dict[str, Any]]:
    b = connector_balances
    out = []
    for row in await conn.execute(select(b).order_by(b.c.connector_id)):
        cid = int(row.connector_id)
        if cid not in known:
            continue
        threshold = thresholds.get(cid)
        out.append({"connector_id": cid, "name": known[cid].name,
                    "balance": money(row.balance) if row.balance is not None else None,
                    "threshold": money(threshold) if threshold is not None else None, "low": bool(row.low),
                    "checked_at": row.checked_at.isoformat().replace("+00:00", "Z"), "error": row.error})
    return out


async def dashboard(conn: AsyncConnection, *, zone: str, scope: frozenset[int] | None,
                    thresholds: dict[int, Decimal | None], now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    today = now.astimezone(ZoneInfo(zone)).date()
    known = await _connectors(conn)
    team_names = await _team_names(conn)
    active = await active_today(conn, zone, scope, now)
    per_connector = active.pop("_per_connector")
    per_team = active.pop("_per_team")
    active["by_connector"] = [{"connector_id": cid, "name": known[cid].name if cid in known else f"#{cid}",
                               "channel": known[cid].channel if cid in known else None, "active": n}
                              for cid, n in sorted(per_connector.items())]
    active["by_team"] = [{"team_id": None if team == NO_TEAM else team,
                          "name": team_names.get(team, "Sem equipe" if team == NO_TEAM else f"#{team}"),
                          "active": n} for team, n in sorted(per_team.items())]
    return {
        "at": now.isoformat().replace("+00:00", "Z"),
        "timezone": zone,
        "active_today": active,
        "today": await _today(conn, today, scope),
        "queue": await _queue(conn, scope, now, team_names),
        "agents": await _agents(conn, today, scope),
        "sms": await _sms(conn, today, scope, known),
        "balances": await _balances(conn, known, thresholds),
        "alerts": _alerts(known),
    }
