"""Pages: the supervisors' dashboard (/dashboard, live), the reports (/reports) and the board's
"Hoje: N conversas ativas" line (/board/today, live)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from atende.actions import sla_targets as sla_actions
from atende.actions.errors import ActionError
from atende.db.tables import connectors, metadata, users
from atende.domain.ids import parse_id
from atende.reports import dashboard as dash
from atende.reports.access import line_scope, report_scope, require_team
from atende.reports.charts import chart_data, page_charts
from atende.reports.filters import parse_filters
from atende.reports.period import parse_period
from atende.reports.summary import as_dict, compute
from atende.web.api.reports import dashboard_data
from atende.web.auth import CurrentUser, client_ip
from atende.web.pages.core import CHANNELS, Admin, PageError, PageUser, full_ui, make_ui, redirect, render, rt_of
from atende.web.pages.i18n import _
from atende.web.params import OptId

router = APIRouter(include_in_schema=False)

ZONES = ("America/Sao_Paulo", "America/Manaus", "America/Cuiaba", "America/Rio_Branco", "America/Noronha",
         "UTC", "Europe/Lisbon")


def _denied(exc: ActionError) -> PageError:
    return PageError(exc.status_code, exc.detail)


async def today_line(request: Request, user: CurrentUser) -> dict[str, Any]:
    rt = rt_of(request)
    async with rt.read() as conn:
        scope = await line_scope(conn, user)
        active = await dash.active_today(conn, rt.settings.timezone, scope)
    active.pop("_per_connector")
    active.pop("_per_team")
    return active


@router.get("/board/today")
async def board_today(request: Request, user: PageUser) -> Response:
    """The line under the board's title, refreshed live by today.js."""
    return render(request, "_today_line.html", {"today": await today_line(request, user)},
                  ui=make_ui(request, user))


# ---- dashboard -----------------------------------------------------------------------------------

async def _dashboard(request: Request, user: CurrentUser) -> dict[str, Any]:
    try:
        return await dashboard_data(rt_of(request), user)
    except ActionError as exc:
        raise _denied(exc) from None


@router.get("/dashboard")
async def dashboard_page(request: Request, user: PageUser) -> Response:
    data = await _dashboard(request, user)
    ui = await full_ui(request, user)
    return render(request, "dashboard.html", {"d": data, "page": "dashboard"}, ui=ui)


@router.get("/dashboard/live")
async def dashboard_live(request: Request, user: PageUser) -> Response:
    """The dashboard's body, fetched again by dashboard.js when events arrive."""
    data = await _dashboard(request, user)
    return render(request, "_dashboard_body.html", {"d": data}, ui=make_ui(request, user))


# ---- reports -------------------------------------------------------------------------------------

async def _choices(conn: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "connectors": list(await conn.execute(select(connectors.c.id, connectors.c.name, connectors.c.channel)
                                              .order_by(connectors.c.name))),
        "agents": list(await conn.execute(select(users.c.id, users.c.name).where(
            users.c.role.in_(("agent", "supervisor"))).order_by(users.c.name))),
        "teams": [], "tags": [],
    }
    teams, tags = metadata.tables.get("teams"), metadata.tables.get("tags")
    if teams is not None:
        out["teams"] = list(await conn.execute(select(teams.c.id, teams.c.name).order_by(teams.c.name)))
    if tags is not None:
        out["tags"] = list(await conn.execute(select(tags.c.id, tags.c.name).order_by(tags.c.name)))
    return out


@router.get("/reports")
async def reports_page(
    request: Request, user: PageUser,
    first: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    to: Annotated[str | None, Query(max_length=10)] = None,
    tz: Annotated[str | None, Query(max_length=64)] = None,
    channel: Annotated[str | None, Query(max_length=20)] = None,
    connector_id: OptId = None, team_id: OptId = None, agent_id: OptId = None,
    tag: Annotated[str | None, Query(max_length=60)] = None,
) -> Response:
    rt = rt_of(request)
    ui = await full_ui(request, user)
    form = {"from": first or "", "to": to or "", "tz": tz or rt.settings.timezone, "channel": channel or "",
            "connector_id": connector_id or "", "team_id": team_id or "", "agent_id": agent_id or "",
            "tag": tag or ""}
    context: dict[str, Any] = {"page": "reports", "form": form, "zones": ZONES, "error": ""}
    async with rt.read() as conn:
        try:
            scope = await report_scope(conn, user)
        except ActionError as exc:
            raise _denied(exc) from None
        context["choices"] = await _choices(conn)
        context["sla_targets"] = await sla_actions.targets(conn)
        try:
            period = parse_period(first or None, to or None, tz or None, default_tz=rt.settings.timezone)
            require_team(scope, team_id)
            flt = await parse_filters(conn, channel=channel, connector_id=connector_id, team_id=team_id,
                                      agent_id=agent_id, tag=tag, teams=scope)
        except ActionError as exc:
            context["error"] = exc.detail
            return render(request, "reports.html", context, ui=ui, status_code=exc.status_code)
        form.update({"from": period.first.isoformat(), "to": period.last.isoformat(), "tz": period.tz.key})
        computed = await compute(conn, period, flt)
        result = await as_dict(conn, period, flt, computed)
        data = await chart_data(conn, period, flt, computed.total.first_response.values)
    query = {**period.query(), **flt.query()}
    context.update({
        "s": result, "period": period, "query": query,
        "dates": [_long_day(d, ui.lang) for d in (period.first, period.last)],
        "charts": page_charts(data, gettext=_, day_label=lambda d: _day(d, ui.lang),
                              money=ui.fmt.money, channel_label=lambda c: CHANNELS.get(c, {}).get("label", c)),
        "chart_data": data,
        "export": {kind: ui.url(f"/api/v1/reports/{kind}.csv", **query) for kind in
                   ("conversations", "messages", "agents")},
        "export_en": {kind: ui.url(f"/api/v1/reports/{kind}.csv", **query, lang="en") for kind in
                      ("conversations", "messages", "agents")},
    })
    return render(request, "reports.html", context, ui=ui)


@router.post("/reports/sla-targets")
async def save_sla_target(request: Request, user: Admin, team_id: Annotated[str, Form(max_length=20)] = "",
                          minutes: Annotated[str, Form(max_length=10)] = "") -> Response:
    """The reports page's target form (admins): empty minutes remove the target."""
    team = None if team_id.strip() in ("", "0") else parse_id(team_id.strip())
    if team_id.strip() not in ("", "0") and team is None:
        raise PageError(422, _("Equipe inválida."))
    value = minutes.strip()
    if value and not (value.isascii() and value.isdigit()):
        raise PageError(422, _("A meta é um número inteiro de minutos."))
    try:
        async with rt_of(request).write() as tx:
            await sla_actions.set_target(tx, team, int(value) if value else None, actor_id=user.id,
                                         ip=client_ip(request))
    except ActionError as exc:
        raise _denied(exc) from None
    return redirect("/reports#r-teams", request)


def _long_day(d: date, lang: str) -> str:
    return d.strftime("%d/%m/%Y") if lang == "pt_BR" else d.isoformat()


def _day(d: date, lang: str) -> str:
    return d.strftime("%d/%m") if lang == "pt_BR" else d.strftime("%m/%d")

