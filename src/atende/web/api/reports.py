"""GET /api/v1/dashboard, /api/v1/reports/summary and the CSV exports (supervisors and admins)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from atende.actions import audit
from atende.actions import sla_targets as sla_actions
from atende.reports import dashboard as dash
from atende.reports.access import report_scope, require_team
from atende.reports.exports import EXPORTS
from atende.reports.filters import NO_TEAM, Filters, parse_filters
from atende.reports.period import Period, parse_period
from atende.reports.summary import summary as compute_summary
from atende.reports.summary import team_rules
from atende.runtime import Runtime
from atende.web.auth import Admin, CurrentUser, Rt, User, client_ip
from atende.web.params import OptId

router = APIRouter(tags=["reports"])

FromQ = Annotated[str | None, Query(alias="from", max_length=10, description="AAAA-MM-DD (incluído)")]
ToQ = Annotated[str | None, Query(max_length=10, description="AAAA-MM-DD (incluído)")]
TzQ = Annotated[str | None, Query(max_length=64, description="fuso IANA; padrão: o da instalação")]
ChannelQ = Annotated[str | None, Query(max_length=20)]
TagQ = Annotated[str | None, Query(max_length=60)]


async def thresholds(rt: Runtime, connector_ids: list[int]) -> dict[int, Decimal | None]:
    """Each connector's low-balance threshold (its config, as the process already holds it)."""
    out: dict[int, Decimal | None] = {}
    for cid in connector_ids:
        loaded = await rt.connector(cid)
        value = getattr(loaded.config, "low_balance_threshold", None) if loaded is not None else None
        out[cid] = Decimal(str(value)) if value is not None else None
    return out


async def dashboard_data(rt: Runtime, user: CurrentUser) -> dict[str, Any]:
    async with rt.read() as conn:
        scope = await report_scope(conn, user)
        from sqlalchemy import select

        from atende.db.tables import connector_balances

        ids = [int(r[0]) for r in await conn.execute(select(connector_balances.c.connector_id))]
        limits = await thresholds(rt, ids)
        return await dash.dashboard(conn, zone=rt.settings.timezone, scope=scope, thresholds=limits)


@router.get("/dashboard")
async def dashboard(rt: Rt, user: User) -> dict[str, Any]:
    """Today: active conversations, the queue, agents, SMS (today and this month) and balances."""
    return await dashboard_data(rt, user)


async def report_args(rt: Runtime, user: CurrentUser, *, first: str | None, last: str | None, tz: str | None,
                      channel: str | None, connector_id: int | None, team_id: int | None, agent_id: int | None,
                      tag: str | None) -> tuple[Period, Filters]:
    """The period and filters of a report request, checked (4xx in Portuguese) before anything runs."""
    period = parse_period(first, last, tz, default_tz=rt.settings.timezone)
    async with rt.read() as conn:
        scope = await report_scope(conn, user)
        require_team(scope, team_id)
        flt = await parse_filters(conn, channel=channel, connector_id=connector_id, team_id=team_id,
                                  agent_id=agent_id, tag=tag, teams=scope)
    return period, flt


@router.get("/reports/summary")
async def summary(rt: Rt, user: User, first: FromQ = None, to: ToQ = None, tz: TzQ = None,
                  channel: ChannelQ = None, connector_id: OptId = None, team_id: OptId = None,
                  agent_id: OptId = None, tag: TagQ = None) -> dict[str, Any]:
    """A period's figures (definitions: docs/reports.md and the reports page)."""
    period, flt = await report_args(rt, user, first=first, last=to, tz=tz, channel=channel,
                                    connector_id=connector_id, team_id=team_id, agent_id=agent_id, tag=tag)
    async with rt.read() as conn:
        return await compute_summary(conn, period, flt)


async def export_response(rt: Runtime, user: CurrentUser, request: Request, kind: str, period: Period,
                          flt: Filters, lang: str) -> StreamingResponse:
    """Audited (`report.export`), then streamed from one read transaction."""
    async with rt.write() as tx:
        await audit.record(tx, "report.export", actor_id=user.id, target_type="report", ip=client_ip(request),
                           detail={"kind": kind, **period.query(), **flt.query()})

    async def body() -> AsyncIterator[bytes]:
        async with rt.read() as conn:
            async for chunk in EXPORTS[kind](conn, period, flt, lang):
                yield chunk.encode()

    name = f"{kind}-{period.first.isoformat()}-{period.last.isoformat()}.csv"
    return StreamingResponse(body(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{name}"',
                                      "Cache-Control": "no-store"})


@router.get("/reports/{kind}.csv")
async def export(kind: Literal["conversations", "messages", "agents"], request: Request, rt: Rt, user: User,
                 first: FromQ = None, to: ToQ = None, tz: TzQ = None, channel: ChannelQ = None,
                 connector_id: OptId = None, team_id: OptId = None, agent_id: OptId = None, tag: TagQ = None,
                 lang: Annotated[Literal["pt", "en"], Query()] = "pt") -> StreamingResponse:
    """CSV with a header row; Portuguese headers, English with `lang=en`."""
    period, flt = await report_args(rt, user, first=first, last=to, tz=tz, channel=channel,
                                    connector_id=connector_id, team_id=team_id, agent_id=agent_id, tag=tag)
    return await export_response(rt, user, request, kind, period, flt, lang)


class SlaTargetIn(BaseModel):
    team_id: int | None = Field(default=None, ge=1, le=2**53, description="vazio: a fila padrão")
    first_response_min: int | None = Field(default=None, description="vazio: sem meta")


@router.get("/reports/sla-targets")
async def list_sla_targets(rt: Rt, user: User) -> dict[str, Any]:
    """First-response targets per team (minutes of business hours), for the teams the viewer sees."""
    async with rt.read() as conn:
        scope = await report_scope(conn, user)
        rules = await team_rules(conn)
    teams = {NO_TEAM: "Sem equipe", **rules.names}
    items = [{"team_id": None if team == NO_TEAM else team, "name": name,
              "first_response_min": (rules.targets[team] // 60) if team in rules.targets else None}
             for team, name in sorted(teams.items()) if scope is None or team in scope]
    return {"items": items}


@router.put("/reports/sla-targets")
async def put_sla_target(body: SlaTargetIn, request: Request, rt: Rt, user: Admin) -> dict[str, Any]:
    """Set a team's first-response target (admins; audited as `report.sla_target`)."""
    async with rt.write() as tx:
        await sla_actions.set_target(tx, body.team_id, body.first_response_min, actor_id=user.id,
                                     ip=client_ip(request))
    return {"team_id": body.team_id, "first_response_min": body.first_response_min}
