"""CSAT: the survey settings of a connector, and the ratings of a conversation or a contact."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from atende.actions import csat
from atende.db import queries
from atende.web.auth import CurrentUser, Rt, User, require
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
async def put_settings(connector_id: RowId, body: CsatIn, rt: Rt, user: Staff) -> dict[str, Any]:
    await _connector_or_404(rt, connector_id)
    async with rt.write() as tx:
        await csat.save_settings(tx, connector_id, enabled=body.enabled, question=body.question,
                                 window_hours=body.window_hours)
    async with rt.read() as conn:
        return await csat.get_settings(conn, connector_id)


@router.get("/conversations/{conversation_id}/csat")
async def conversation_ratings(conversation_id: RowId, rt: Rt, user: User) -> dict[str, Any]:
    async with rt.read() as conn:
        if await queries.conversation(conn, conversation_id) is None:
            raise HTTPException(404, "conversa não encontrada")
        return {"items": await csat.ratings(conn, conversation_id=conversation_id)}


@router.get("/contacts/{contact_id}/csat")
async def contact_ratings(contact_id: RowId, rt: Rt, user: User) -> dict[str, Any]:
    async with rt.read() as conn:
        if await queries.contact(conn, contact_id) is None:
            raise HTTPException(404, "contato não encontrado")
        return {"items": await csat.ratings(conn, contact_id=contact_id)}
