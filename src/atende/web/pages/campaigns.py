"""Campaign pages (supervisors and admins): the list, a new campaign from a CSV upload (with the
estimate and the exclusions list once it is stored as a draft), and each campaign's page with its
controls and live progress (the campaign.progress events)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from starlette.datastructures import UploadFile

from atende.actions import campaigns as campaign_actions
from atende.actions import message_templates as template_actions
from atende.actions.campaign_import import CampaignSpec, create_campaign
from atende.actions.errors import ActionError
from atende.auth import policy
from atende.db import queries
from atende.db.tables import campaigns, connectors, templates
from atende.domain.campaign_csv import CsvError, read_csv
from atende.domain.ids import parse_id, parse_int
from atende.domain.sending_window import DAY_NAMES
from atende.domain.variables import STANDARD
from atende.web.auth import CurrentUser, viewer_of
from atende.web.pages.core import PageError, Supervisor, full_ui, make_ui, redirect, render, rt_of
from atende.web.pages.i18n import _
from atende.web.pages.message_templates import connector_choices
from atende.web.pages.send_at import local_send_at
from atende.web.params import RowId

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 25
MAX_UPLOAD = 40 * 1024 * 1024


def status_labels() -> dict[str, str]:
    return {"preparing": _("Preparando"), "draft": _("Rascunho"), "scheduled": _("Agendada"),
            "running": _("Enviando"), "paused": _("Pausada"), "done": _("Concluída"), "cancelled": _("Cancelada")}


def reason_labels() -> dict[str, str]:
    return {"opted_out": _("Descadastrados (opt-out)"), "duplicate": _("Duplicados"), "invalid": _("Inválidos"),
            "blocked": _("Bloqueados")}


def day_labels() -> dict[str, str]:
    return dict(zip(DAY_NAMES, (_("Seg"), _("Ter"), _("Qua"), _("Qui"), _("Sex"), _("Sáb"), _("Dom")), strict=True))


@router.get("/campaigns")
async def list_page(request: Request, user: Supervisor,
                    before: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None) -> Response:
    who = await viewer_of(request, user)
    stmt = select(campaigns).where(campaigns.c.status != "preparing",
                                   policy.connector_where(who, campaigns.c.connector_id))
    if before:
        stmt = stmt.where(campaigns.c.id < before)
    async with rt_of(request).read() as conn:
        rows = list(await conn.execute(stmt.order_by(campaigns.c.id.desc()).limit(PAGE_SIZE + 1)))
        names = {r.id: r.name for r in await conn.execute(select(connectors.c.id, connectors.c.name))}
    more = len(rows) > PAGE_SIZE
    items = [campaign_actions.campaign_dict(r) for r in rows[:PAGE_SIZE]]
    ui = await full_ui(request, user)
    return render(request, "campaigns/list.html", {
        "items": items, "next_before": items[-1]["id"] if more and items else None, "connector_names": names,
        "statuses": status_labels(), "page": "campaigns"}, ui=ui)


async def _form(request: Request, user: CurrentUser, *, error: str = "", form: dict[str, Any] | None = None,
                status_code: int = 200) -> Response:
    choices = await connector_choices(request, await viewer_of(request, user))
    async with rt_of(request).read() as conn:
        for choice in choices:
            if choice["templates"]:
                rows = await conn.execute(select(templates).where(templates.c.connector_id == choice["id"],
                                                                  templates.c.status == "APPROVED"))
                choice["approved"] = [{"name": r.name, "language": r.language, "components": r.components or []}
                                      for r in rows]
        saved = await template_actions.listing(conn)
    ui = await full_ui(request, user)
    return render(request, "campaigns/new.html", {
        "connectors": choices, "error": error, "form": form or {}, "standard": STANDARD, "days": day_labels(),
        "saved_templates": saved, "page": "campaigns"}, ui=ui, status_code=status_code)


@router.get("/campaigns/new")
async def new_page(request: Request, user: Supervisor) -> Response:
    return await _form(request, user)


def decode_upload(data: bytes) -> str:
    """A CSV as saved by a spreadsheet: UTF-8 (with or without BOM), else Windows-1252 (Excel in Brazil)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


@router.post("/campaigns/new")
async def create(request: Request, user: Supervisor) -> Response:
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    keep = {k: v for k, v in values.items() if k != "csrf_token"}
    upload = form.get("file")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise PageError(422, _("Escolha o arquivo CSV com os destinatários."))
        data = await upload.read(MAX_UPLOAD + 1)
        if len(data) > MAX_UPLOAD:
            raise PageError(413, _("Arquivo grande demais (máximo 40 MB)."))
        try:
            _header, rows = read_csv(decode_upload(data))
        except CsvError as exc:
            raise PageError(422, str(exc)) from None
        spec = _spec(values, form.getlist("days"), form.getlist("params"), user)
        campaign_id = await create_campaign(rt_of(request), spec, rows, created_by=user.id,
                                            by=await viewer_of(request, user))
    except PageError as exc:
        return await _form(request, user, error=exc.message, form=keep, status_code=exc.status_code)
    except ActionError as exc:
        return await _form(request, user, error=exc.detail, form=keep, status_code=exc.status_code)
    return redirect(f"/campaigns/{campaign_id}", request)


def _spec(values: dict[str, str], days: list[Any], params: list[Any], user: CurrentUser) -> CampaignSpec:
    connector_id = parse_id(values.get("connector_id", ""))
    if connector_id is None:
        raise PageError(422, _("Escolha o conector."))
    template = None
    if values.get("template"):
        name, _sep, language = values["template"].partition("|")
        template = {"name": name, "language": language or "pt_BR", "params": [str(p) for p in params]}
    window = None
    if values.get("use_window"):
        window = {"timezone": user.timezone, "start": values.get("window_start") or "08:00",
                  "end": values.get("window_end") or "20:00", "days": [str(d) for d in days]}
    rate = parse_int(values.get("rate_per_minute", ""), default=None, low=1, high=100_000)
    if values.get("rate_per_minute") and rate is None:
        raise PageError(422, _("Velocidade: de 1 a 100000 mensagens por minuto."))
    return CampaignSpec(
        name=values.get("name", ""), connector_id=connector_id, text=None if template else values.get("text", ""),
        template=template, rate_per_minute=rate, window=window,
        schedule_at=local_send_at(values.get("schedule_at", ""), user.timezone))


async def _campaign(request: Request, campaign_id: int, user: CurrentUser) -> dict[str, Any]:
    """The campaign, if it goes out on a connector `user` may use (auth.policy); 404 otherwise."""
    who = await viewer_of(request, user)
    async with rt_of(request).read() as conn:
        row = (await conn.execute(select(campaigns).where(
            campaigns.c.id == campaign_id, policy.connector_where(who, campaigns.c.connector_id)))).first()
        connector = await queries.connector_row(conn, row.connector_id) if row else None
    if row is None or row.status == "preparing":
        raise PageError(404, _("Campanha não encontrada."))
    return {**campaign_actions.campaign_dict(row), "connector_name": connector.name if connector else "?"}


def _context(c: dict[str, Any]) -> dict[str, Any]:
    stats, recipients = c["stats"], max(1, c["stats"]["recipients"])
    done = stats["sent"] + stats["failed"] + stats["limited"] + stats["skipped"]
    return {"c": c, "statuses": status_labels(), "reasons": reason_labels(), "days": day_labels(),
            "progress": min(100, round(100 * done / recipients)), "page": "campaigns"}


@router.get("/campaigns/{campaign_id}")
async def campaign_page(request: Request, campaign_id: RowId, user: Supervisor) -> Response:
    c = await _campaign(request, campaign_id, user)
    ui = await full_ui(request, user)
    return render(request, "campaigns/detail.html", _context(c), ui=ui)


@router.get("/campaigns/{campaign_id}/live")
async def live_card(request: Request, campaign_id: RowId, user: Supervisor) -> Response:
    """The status, counters and controls (the page swaps it in on campaign events)."""
    c = await _campaign(request, campaign_id, user)
    return render(request, "campaigns/_live.html", _context(c), ui=make_ui(request, user))


@router.post("/campaigns/{campaign_id}/{action}")
async def act(request: Request, campaign_id: RowId, action: str, user: Supervisor) -> Response:
    if action not in campaign_actions.ACTIONS:
        raise PageError(404, _("Ação desconhecida."))
    await _campaign(request, campaign_id, user)
    rt = rt_of(request)
    try:
        async with rt.write() as tx:
            await campaign_actions.act(tx, campaign_id, action, now=rt.clock(), by=await viewer_of(request, user))
    except ActionError as exc:
        raise PageError(exc.status_code, exc.detail) from None
    return redirect(f"/campaigns/{campaign_id}", request)
