"""/api/v1/campaigns: bulk sends (supervisors and admins; agents get 403)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, StrictInt, StrictStr
from sqlalchemy import select

from atende.actions import campaigns as campaign_actions
from atende.actions.campaign_import import MAX_TEXT, CampaignSpec, create_campaign
from atende.auth import policy
from atende.auth.policy import Viewer
from atende.db import queries
from atende.db.tables import campaign_exclusions, campaigns
from atende.domain.campaign_csv import MAX_ROWS, CsvError, read_csv, rows_from_list
from atende.domain.ids import parse_id
from atende.web.auth import CurrentUser, Rt, Who, require
from atende.web.params import BodyId, RowId

router = APIRouter(tags=["campaigns"])
Staff = Annotated[CurrentUser, require("supervisor")]

MAX_CSV_CHARS = 40_000_000
REASON_LABELS = {"invalid": "inválido", "duplicate": "duplicado", "opted_out": "descadastrado (opt-out)",
                 "blocked": "bloqueado", "missing_vars": "variável sem valor"}


class TemplateIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    language: str = Field(default="pt_BR", min_length=2, max_length=20)
    params: list[Annotated[str, Field(max_length=1000)]] | dict[str, Annotated[str, Field(max_length=1000)]] = \
        Field(default_factory=list)


class RecipientIn(BaseModel):
    phone: StrictStr | StrictInt
    vars: dict[str, StrictStr | StrictInt | float | None] = Field(default_factory=dict)


class WindowIn(BaseModel):
    timezone: str = Field(default="America/Sao_Paulo", max_length=64)
    start: str = Field(default="08:00", max_length=5)
    end: str = Field(default="20:00", max_length=5)
    days: list[Annotated[str, Field(max_length=10)]] | None = Field(default=None, max_length=7)


class CampaignIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    connector_id: BodyId
    text: str | None = Field(default=None, max_length=MAX_TEXT)
    template: TemplateIn | None = None
    recipients: list[RecipientIn] | None = Field(default=None, max_length=MAX_ROWS)
    csv: str | None = Field(default=None, max_length=MAX_CSV_CHARS)
    rate_per_minute: int | None = Field(default=None, ge=1, le=100_000)
    schedule_at: datetime | None = None
    window: WindowIn | None = None


async def campaign_view(rt: Rt, campaign_id: int, who: Viewer) -> dict[str, Any]:
    """The campaign, if it goes out on a connector `who` may use (auth.policy); 404 otherwise."""
    async with rt.read() as conn:
        row = (await conn.execute(select(campaigns).where(
            campaigns.c.id == campaign_id, policy.connector_where(who, campaigns.c.connector_id)))).first()
    if row is None or row.status == "preparing":
        raise HTTPException(404, "campanha não encontrada")
    return campaign_actions.campaign_dict(row)


@router.post("/campaigns", status_code=201)
async def create(body: CampaignIn, rt: Rt, user: Staff, who: Who) -> dict[str, Any]:
    if (body.csv is None) == (body.recipients is None):
        raise HTTPException(422, "informe os destinatários: recipients (lista) ou csv (texto do arquivo), um dos dois")
    if body.csv is not None:
        try:
            _, rows = read_csv(body.csv)
        except CsvError as exc:
            raise HTTPException(422, str(exc)) from None
    else:
        rows = rows_from_list(r.model_dump() for r in body.recipients or [])
    spec = CampaignSpec(
        name=body.name, connector_id=body.connector_id, text=body.text,
        template=body.template.model_dump() if body.template else None, rate_per_minute=body.rate_per_minute,
        window=body.window.model_dump(exclude_none=True) if body.window else None, schedule_at=body.schedule_at)
    campaign_id = await create_campaign(rt, spec, rows, created_by=user.id, by=who)
    return await campaign_view(rt, campaign_id, who)


@router.get("/campaigns")
async def list_campaigns(
    rt: Rt, user: Staff, who: Who, limit: int = Query(default=50, ge=1, le=queries.MAX_LIMIT),
    cursor: str | None = Query(default=None, max_length=200),
) -> dict[str, Any]:
    """Newest first, keyset by id."""
    stmt = select(campaigns).where(campaigns.c.status != "preparing",
                                   policy.connector_where(who, campaigns.c.connector_id))
    if cursor:
        (before,) = _decode(cursor)
        stmt = stmt.where(campaigns.c.id < before)
    async with rt.read() as conn:
        rows = list(await conn.execute(stmt.order_by(campaigns.c.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [campaign_actions.campaign_dict(r) for r in rows],
            "next_cursor": queries.encode_cursor(rows[-1].id) if more and rows else None}


def _decode(cursor: str) -> tuple[int]:
    try:
        (value,) = queries.decode_cursor(cursor, 1)
    except queries.BadCursor:
        raise HTTPException(400, "cursor inválido") from None
    number = parse_id(value)
    if number is None:
        raise HTTPException(400, "cursor inválido")
    return (number,)


@router.get("/campaigns/{campaign_id}")
async def get_campaign(campaign_id: RowId, rt: Rt, user: Staff, who: Who) -> dict[str, Any]:
    return await campaign_view(rt, campaign_id, who)


async def _act(rt: Rt, who: Viewer, campaign_id: int, action: str) -> dict[str, Any]:
    await campaign_view(rt, campaign_id, who)
    now = rt.clock()
    async with rt.write() as tx:
        await campaign_actions.act(tx, campaign_id, action, now=now, by=who)
    return await campaign_view(rt, campaign_id, who)


@router.post("/campaigns/{campaign_id}/start")
async def start(campaign_id: RowId, rt: Rt, user: Staff, who: Who) -> dict[str, Any]:
    return await _act(rt, who, campaign_id, "start")


@router.post("/campaigns/{campaign_id}/pause")
async def pause(campaign_id: RowId, rt: Rt, user: Staff, who: Who) -> dict[str, Any]:
    return await _act(rt, who, campaign_id, "pause")


@router.post("/campaigns/{campaign_id}/resume")
async def resume(campaign_id: RowId, rt: Rt, user: Staff, who: Who) -> dict[str, Any]:
    return await _act(rt, who, campaign_id, "resume")


@router.post("/campaigns/{campaign_id}/cancel")
async def cancel(campaign_id: RowId, rt: Rt, user: Staff, who: Who) -> dict[str, Any]:
    return await _act(rt, who, campaign_id, "cancel")


EXPORT_PAGE = 2000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?[\d\s().-]*$")


def spreadsheet_safe(value: object) -> object:
    """A cell a spreadsheet will not run as a formula (the list's cells come from an uploaded file):
    a leading quote before `=`, `@`, or a `+`/`-` that does not start a plain number."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


async def exclusion_lines(rt: Rt, campaign_id: int) -> AsyncIterator[str]:
    """The exclusions list as CSV lines (`;`, what Excel in Brazil opens), read in keyset pages."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")

    def line(*fields: object) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(fields)
        return buffer.getvalue()

    yield "\ufeff" + line("linha", "telefone", "motivo", "codigo", "detalhe")
    after = 0
    while True:
        async with rt.read() as conn:
            rows = list(await conn.execute(select(campaign_exclusions).where(
                campaign_exclusions.c.campaign_id == campaign_id, campaign_exclusions.c.id > after,
            ).order_by(campaign_exclusions.c.id).limit(EXPORT_PAGE)))
        for row in rows:
            yield line(row.row_no, spreadsheet_safe(row.phone), REASON_LABELS.get(row.reason, row.reason), row.reason,
                       spreadsheet_safe(row.detail))
        if len(rows) < EXPORT_PAGE:
            return
        after = rows[-1].id


@router.get("/campaigns/{campaign_id}/exclusions.csv")
async def exclusions(campaign_id: RowId, rt: Rt, user: Staff, who: Who) -> StreamingResponse:
    await campaign_view(rt, campaign_id, who)
    return StreamingResponse(exclusion_lines(rt, campaign_id), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="campanha-{campaign_id}-exclusoes.csv"'})
