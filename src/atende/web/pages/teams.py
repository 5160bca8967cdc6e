"""Queue view per team, settings of teams and members (capacity, policy, visibility, hours, timers), and
the connector's menu bot editor. Plain forms: no script of their own."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from atende.actions import teams as team_actions
from atende.actions.errors import ActionError, Forbidden
from atende.actions.users import set_capacity
from atende.auth import policy
from atende.db import queries
from atende.db.types import utcnow
from atende.domain.hours import DAYS
from atende.web.auth import viewer_of
from atende.web.pages.common import status_labels
from atende.web.pages.core import PageError, PageUser, Supervisor, full_ui, redirect, render, rt_of
from atende.web.pages.i18n import _
from atende.web.params import RowId

router = APIRouter(include_in_schema=False)


def day_labels() -> dict[str, str]:
    return {"mon": _("Segunda"), "tue": _("Terça"), "wed": _("Quarta"), "thu": _("Quinta"), "fri": _("Sexta"),
            "sat": _("Sábado"), "sun": _("Domingo")}


def policy_labels() -> dict[str, str]:
    return {"least_busy": _("Menor carga"), "round_robin": _("Rodízio"),
            "sticky": _("Preferência pelo agente anterior"), "manual": _("Manual (agentes escolhem na fila)")}


def visibility_labels() -> dict[str, str]:
    return {"own": _("Cada agente vê só as suas (e a fila)"), "team": _("Toda a equipe vê as conversas da equipe")}


# ---- the queue ----------------------------------------------------------------------------------

@router.get("/queue")
async def queue_page(request: Request, user: PageUser) -> Response:
    """The waiting conversations of each queue the viewer serves, oldest first, with their waits."""
    who = await viewer_of(request, user)
    ui = await full_ui(request, user)
    async with rt_of(request).read() as conn:
        queues = await queries.queue(conn, policy.queue_scope(who), now=utcnow(), limit=50)
    return render(request, "queue.html", {"queues": queues, "statuses": status_labels(), "page": "queue"}, ui=ui)


# ---- teams --------------------------------------------------------------------------------------

def _intervals(text: str, day: str) -> list[list[str]]:
    """ "08:00-12:00, 13:00-18:00" → [["08:00", "12:00"], ["13:00", "18:00"]] (checked by domain.hours)."""
    out: list[list[str]] = []
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        start, sep, end = part.partition("-")
        if not sep:
            raise PageError(422, _("%(day)s: use intervalos como 08:00-18:00") % {"day": day_labels()[day]})
        out.append([start.strip(), end.strip()])
    return out


def _hours_from_form(form: FormData) -> dict[str, Any] | None:
    if form.get("hours_on") not in ("1", "on"):
        return None
    weekly = {day: _intervals(str(form.get(f"hours_{day}") or ""), day) for day in DAYS}
    holidays = [h.strip() for h in str(form.get("holidays") or "").replace(",", "\n").splitlines() if h.strip()]
    return {"timezone": str(form.get("timezone") or "America/Sao_Paulo").strip(),
            "weekly": {d: v for d, v in weekly.items() if v}, "holidays": holidays}


def _minutes(form: FormData, field: str) -> int | None:
    raw = str(form.get(field) or "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 6:
        raise PageError(422, _("Use minutos (um número inteiro)."))
    return int(raw) * 60


def _ids(form: FormData, field: str) -> list[int]:
    return [int(v) for v in form.getlist(field) if isinstance(v, str) and v.isascii() and v.isdigit() and len(v) < 19]


def _team_body(form: FormData) -> dict[str, Any]:
    fallback = str(form.get("fallback_agent_id") or "")
    return {
        "name": str(form.get("name") or "").strip(), "policy": str(form.get("policy") or "least_busy"),
        "visibility": str(form.get("visibility") or "own"), "member_ids": _ids(form, "member_ids"),
        "connector_ids": _ids(form, "connector_ids"), "business_hours": _hours_from_form(form),
        "out_of_hours_message": str(form.get("out_of_hours_message") or "").strip() or None,
        "release_after_s": _minutes(form, "release_after_min"),
        "auto_close_after_s": _minutes(form, "auto_close_after_min"),
        "closing_message": str(form.get("closing_message") or "").strip() or None,
        "fallback_agent_id": int(fallback) if fallback.isascii() and fallback.isdigit() and len(fallback) < 19
        else None,
    }


async def _teams_page(request: Request, user: Any, *, error: str = "", status_code: int = 200) -> Response:
    async with rt_of(request).read() as conn:
        teams = await team_actions.team_views(conn)
        agents = {a["id"]: a for a in await queries.agents(conn)}
    ui = await full_ui(request, user)
    return render(request, "settings/teams.html", {
        "items": teams, "agents": agents, "policies": policy_labels(), "visibilities": visibility_labels(),
        "error": error, "page": "settings", "tab": "teams"}, ui=ui, status_code=status_code)


@router.get("/settings/teams")
async def teams_page(request: Request, user: Supervisor) -> Response:
    return await _teams_page(request, user)


@router.post("/settings/teams")
async def create_team(request: Request, user: Supervisor, name: Annotated[str, Form(max_length=100)] = "") -> Response:
    who = await viewer_of(request, user)
    try:
        async with rt_of(request).write() as tx:
            team_id = await team_actions.create_team(tx, {"name": name}, by=who)
    except ActionError as exc:
        return await _teams_page(request, user, error=exc.detail, status_code=exc.status_code)
    return redirect(f"/settings/teams/{team_id}?created=1", request)


async def _team_edit(request: Request, user: Any, team_id: int, *, error: str = "",
                     status_code: int = 200) -> Response:
    who = await viewer_of(request, user)
    async with rt_of(request).read() as conn:
        team = await team_actions.team_view(conn, team_id)
        agents = [a for a in await queries.agents(conn) if a["active"]]
        connector_rows = await queries.connector_names(conn)
    if team is None:
        raise PageError(404, _("Equipe não encontrada."))
    ui = await full_ui(request, user)
    hours = team["business_hours"] or {}
    weekly = {d: ", ".join(f"{s}-{e}" for s, e in (hours.get("weekly") or {}).get(d, [])) for d in DAYS}
    return render(request, "settings/team_edit.html", {
        "team": team, "agents": agents, "connectors": connector_rows, "policies": policy_labels(),
        "visibilities": visibility_labels(), "days": day_labels(), "weekly": weekly,
        "holidays": "\n".join(hours.get("holidays") or []), "timezone": hours.get("timezone", "America/Sao_Paulo"),
        "may_edit": who.is_admin, "may_members": policy.may_manage_team(who, team_id), "error": error,
        "saved": request.query_params.get("saved"), "created": request.query_params.get("created"),
        "page": "settings", "tab": "teams"}, ui=ui, status_code=status_code)


@router.get("/settings/teams/{team_id}")
async def team_page(request: Request, team_id: RowId, user: Supervisor) -> Response:
    return await _team_edit(request, user, team_id)


@router.post("/settings/teams/{team_id}")
async def save_team(request: Request, team_id: RowId, user: Supervisor) -> Response:
    """Admins save everything; supervisors the members (and their capacity) of their own teams."""
    who = await viewer_of(request, user)
    form = await request.form()
    try:
        body = _team_body(form) if who.is_admin else {"member_ids": _ids(form, "member_ids")}
        capacities = {int(k[9:]): str(v).strip() for k, v in form.items()
                      if k.startswith("capacity_") and k[9:].isascii() and k[9:].isdigit() and len(k) < 28}
        async with rt_of(request).write() as tx:
            await team_actions.update_team(tx, team_id, body, by=who)
            for agent_id, raw in capacities.items():
                if not (raw.isascii() and raw.isdigit()) or len(raw) > 4:
                    raise PageError(422, _("Capacidade: um número de 0 (sem limite) a 1000."))
                if not policy.may_manage_team(who, team_id):
                    raise Forbidden(_("Você não pode alterar esta equipe."))
                await set_capacity(tx, agent_id, int(raw), actor_id=who.id)
    except PageError as exc:
        return await _team_edit(request, user, team_id, error=exc.message, status_code=exc.status_code)
    except ActionError as exc:
        return await _team_edit(request, user, team_id, error=exc.detail, status_code=exc.status_code)
    return redirect(f"/settings/teams/{team_id}?saved=1", request)


@router.post("/settings/teams/{team_id}/delete")
async def delete_team(request: Request, team_id: RowId, user: Supervisor) -> Response:
    try:
        async with rt_of(request).write() as tx:
            await team_actions.delete_team(tx, team_id, by=await viewer_of(request, user))
    except ActionError as exc:
        return await _team_edit(request, user, team_id, error=exc.detail, status_code=exc.status_code)
    return redirect("/settings/teams", request)
