"""CSAT: the survey settings of a connector or a team, and the ratings of a conversation or a contact
(reads through auth.policy: a rating is seen by whoever may read its conversation)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field
from sqlalchemy import select

from atende.actions import csat
from atende.auth import policy
from atende.auth.policy import Viewer
from atende.db import queries
from atende.db.tables import teams
from atende.web.auth import CurrentUser, Rt, Who, require
from atende.web.params import RowId

router = APIRouter(tags=["csat"])
Staff = Annotated[CurrentUser, require("supervisor")]


class CsatIn(BaseModel):
    enabled: bool
    question: str | None = Field(default=None, max_length=csat.MAX_QUESTION)
    window_hours: int = Field(default=24, ge=1, le=168)


async def _connector_or_404(rt: Rt, connector_id: int) -> None:
    async with rt.read() as conn:
        if await queries.connector_row(conn, connector_id) is None:
            raise HTTPException(404, "conector não encontrado")


@router.get("/connectors/{connector_id}/csat")
async def get_settings(connector_id: RowId, rt: Rt, user: Staff) -> dict[str, Any]:
    await _connector_or_404(rt, connector_id)
    async with rt.read() as conn:
        return await csat.get_settings(conn, connector_id)


@router.put("/connectors/{connector_id}/csat")
async def put_settings(connector_id: RowId, body: CsatIn, rt: Rt, user: Staff, who: Who) -> dict[str, Any]:
    """Admins, and supervisors on the connectors their teams serve (or that no team serves)."""
    await _connector_or_404(rt, connector_id)
    async with rt.read() as conn:
        await policy.require_connector(conn, who, connector_id)  # 403 "este conector atende outra equipe"
    async with rt.write() as tx:
        await csat.save_settings(tx, connector_id, enabled=body.enabled, question=body.question,
                                 window_hours=body.window_hours)
    async with rt.read() as conn:
        return await csat.get_settings(conn, connector_id)


async def _team_or_404(rt: Rt, user: Viewer, team_id: int) -> None:
    """A team's survey: its supervisors and admins (auth.policy.may_manage_team)."""
    async with rt.read() as conn:
        if await conn.scalar(select(teams.c.id).where(teams.c.id == team_id)) is None:
            raise HTTPException(404, "equipe não encontrada")
    if not policy.may_manage_team(user, team_id):
        raise HTTPException(403, "só administradores ou supervisores da equipe")


@router.get("/teams/{team_id}/csat")
async def get_team_settings(team_id: RowId, rt: Rt, user: Who) -> dict[str, Any]:
    """The team's survey; when the team has one (on or off) it decides over its connectors' surveys."""
    await _team_or_404(rt, user, team_id)
    async with rt.read() as conn:
        return await csat.get_settings(conn, team_id=team_id)


@router.put("/teams/{team_id}/csat")
async def put_team_settings(team_id: RowId, body: CsatIn, rt: Rt, user: Who) -> dict[str, Any]:
    await _team_or_404(rt, user, team_id)
    async with rt.write() as tx:
        await csat.save_settings(tx, team_id=team_id, enabled=body.enabled, question=body.question,
                                 window_hours=body.window_hours)
    async with rt.read() as conn:
        return await csat.get_settings(conn, team_id=team_id)


@router.get("/conversations/{conversation_id}/csat")
async def conversation_ratings(conversation_id: RowId, rt: Rt, user: Who) -> dict[str, Any]:
    async with rt.read() as conn:
        conv = await queries.conversation(conn, conversation_id)
        if conv is None:
            raise HTTPException(404, "conversa não encontrada")
        await policy.require_read(conn, user, conv)
        return {"items": await csat.ratings(conn, conversation_id=conversation_id)}


@router.get("/contacts/{contact_id}/csat")
async def contact_ratings(contact_id: RowId, rt: Rt, user: Who) -> dict[str, Any]:
    async with rt.read() as conn:
        contact = await queries.contact(conn, contact_id)
        if contact is None:
            raise HTTPException(404, "contato não encontrado")
        await policy.require_contact(conn, user, contact_id)
        return {"items": (await policy.visible_contact(conn, user, contact))["csat"]}
