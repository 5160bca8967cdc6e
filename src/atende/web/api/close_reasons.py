"""/api/v1/close-reasons: the list supervisors edit, and how many attendances ended with each."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field

from atende.actions import close_reasons as actions
from atende.db import close_reasons as reads
from atende.web.auth import Rt, User, client_ip, require
from atende.web.params import OptId, RowId

router = APIRouter(prefix="/close-reasons", tags=["close reasons"])
Supervisor = require("supervisor")


class ReasonIn(BaseModel):
    name: str = Field(min_length=1, max_length=actions.MAX_NAME)


class ReasonPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=actions.MAX_NAME)
    active: bool | None = None
    position: int | None = Field(default=None, ge=0, le=10_000)


@router.get("")
async def list_reasons(rt: Rt, user: User, all: bool = False) -> dict[str, Any]:
    """Active reasons, in their order (`all=true`: retired ones too)."""
    async with rt.read() as conn:
        return {"items": await reads.reasons(conn, active_only=not all)}


@router.post("", status_code=201, dependencies=[Supervisor])
async def create_reason(body: ReasonIn, request: Request, rt: Rt, user: User) -> dict[str, Any]:
    async with rt.write() as tx:
        reason_id = await actions.create_reason(tx, body.name, actor_id=user.id, ip=client_ip(request))
    return await _one(rt, reason_id)


@router.patch("/{reason_id}", dependencies=[Supervisor])
async def patch_reason(reason_id: RowId, body: ReasonPatch, request: Request, rt: Rt, user: User) -> dict[str, Any]:
    async with rt.write() as tx:
        await actions.update_reason(tx, reason_id, name=body.name, active=body.active, position=body.position,
                                    actor_id=user.id, ip=client_ip(request))
    return await _one(rt, reason_id)


async def _one(rt: Rt, reason_id: int) -> dict[str, Any]:
    async with rt.read() as conn:
        found = [r for r in await reads.reasons(conn) if r["id"] == reason_id]
    if not found:
        raise HTTPException(404, "motivo não encontrado")
    return found[0]


def _day(value: str | None, default: date) -> date:
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise HTTPException(422, f"data inválida: {value!r} (use AAAA-MM-DD)") from None


@router.get("/summary", dependencies=[Supervisor])
async def summary(
    rt: Rt,
    from_: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    to: Annotated[str | None, Query(max_length=10)] = None,
    tz: Annotated[str, Query(max_length=64)] = "America/Sao_Paulo",
    channel: Literal["whatsapp", "sms", "instagram", "messenger", "sandbox"] | None = None,
    agent_id: OptId = None,
) -> dict[str, Any]:
    """Attendances closed per reason between two days (inclusive, in `tz`); default the last 30 days.
    `reason_id: null` counts the ones closed without a reason (timers, or nobody chose one)."""
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise HTTPException(422, f"fuso horário desconhecido: {tz!r}") from None
    today = datetime.now(zone).date()
    last = _day(to, today)
    first = _day(from_, last - timedelta(days=29))
    if first > last:
        raise HTTPException(422, "`from` depois de `to`")
    start = datetime.combine(first, time(), zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(), zone).astimezone(UTC)
    async with rt.read() as conn:
        items = await reads.summary(conn, start, end, channel=channel, agent_id=agent_id or None)
    return {"from": first.isoformat(), "to": last.isoformat(), "tz": tz, "items": items,
            "total": sum(i["closed"] for i in items)}
