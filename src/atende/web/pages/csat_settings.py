"""Settings → satisfaction survey (CSAT) per connector, and per team (a team's survey, on or off, decides
over its connectors' for its conversations: atende.actions.csat_settings.settings_for)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from atende.actions import csat
from atende.actions.errors import ActionError
from atende.auth import policy
from atende.db.tables import connectors, teams
from atende.domain.ids import parse_int
from atende.web.auth import CurrentUser, viewer_of
from atende.web.pages.core import PageError, Supervisor, full_ui, redirect, render, rt_of
from atende.web.pages.i18n import _
from atende.web.params import RowId

router = APIRouter(include_in_schema=False)


async def _page(request: Request, user: CurrentUser, *, error: str = "", status_code: int = 200) -> Response:
    async with rt_of(request).read() as conn:
        who = await viewer_of(request, user)
        rows = list(await conn.execute(select(connectors.c.id, connectors.c.name, connectors.c.channel)
                                       .where(policy.connector_where(who, connectors.c.id))
                                       .order_by(connectors.c.name)))
        items = [{"id": r.id, "name": r.name, "channel": r.channel, **(await csat.get_settings(conn, r.id))}
                 for r in rows]
        team_items = [{"id": r.id, "name": r.name, **(await csat.get_settings(conn, team_id=r.id))}
                      for r in await conn.execute(select(teams.c.id, teams.c.name).order_by(teams.c.name))
                      if policy.may_manage_team(who, int(r.id))]
    ui = await full_ui(request, user)
    return render(request, "settings/csat.html", {
        "items": items, "teams": team_items, "error": error, "saved": request.query_params.get("saved"),
        "saved_team": request.query_params.get("saved_team"), "page": "settings", "tab": "csat",
    }, ui=ui, status_code=status_code)


@dataclass(frozen=True)
class SurveyForm:
    """The survey form's fields (the same for a connector and a team)."""

    enabled: Annotated[str, Form(max_length=5)] = ""
    question: Annotated[str, Form(max_length=1000)] = ""
    window_hours: Annotated[str, Form(max_length=10)] = "24"


async def _save(request: Request, user: CurrentUser, form: SurveyForm, owner: dict[str, int], saved: str) -> Response:
    on, hours = form.enabled in ("1", "on", "true"), parse_int(form.window_hours, default=0) or 0
    try:
        async with rt_of(request).write() as tx:
            await csat.save_settings(tx, enabled=on, question=form.question, window_hours=hours, **owner)
    except ActionError as exc:
        return await _page(request, user, error=exc.detail, status_code=exc.status_code)
    return redirect(f"/settings/csat?{saved}", request)


@router.get("/settings/csat")
async def csat_page(request: Request, user: Supervisor) -> Response:
    return await _page(request, user)


@router.post("/settings/csat/{connector_id}")
async def save(request: Request, connector_id: RowId, user: Supervisor,
               form: Annotated[SurveyForm, Depends()]) -> Response:
    async with rt_of(request).read() as conn:
        if await conn.scalar(select(connectors.c.id).where(connectors.c.id == connector_id)) is None:
            raise PageError(404, _("Conector não encontrado."))
        if not await policy.may_start_on(conn, await viewer_of(request, user), connector_id):
            raise PageError(403, _("Este conector atende outra equipe."))
    return await _save(request, user, form, {"connector_id": connector_id}, f"saved={connector_id}")


@router.post("/settings/csat/team/{team_id}")
async def save_team(request: Request, team_id: RowId, user: Supervisor,
                    form: Annotated[SurveyForm, Depends()]) -> Response:
    """A team's survey: its supervisors and admins, as PUT /api/v1/teams/{id}/csat."""
    async with rt_of(request).read() as conn:
        if await conn.scalar(select(teams.c.id).where(teams.c.id == team_id)) is None:
            raise PageError(404, _("Equipe não encontrada."))
    if not policy.may_manage_team(await viewer_of(request, user), team_id):
        raise PageError(403, _("Só administradores ou supervisores da equipe."))
    return await _save(request, user, form, {"team_id": team_id}, f"saved_team={team_id}")
