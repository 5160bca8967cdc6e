"""/api/v1/contacts"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field

from atende.actions import contacts as contact_actions
from atende.actions import optout
from atende.db import queries
from atende.web.auth import Rt, User, client_ip, require
from atende.web.params import RowId

router = APIRouter(prefix="/contacts", tags=["contacts"])


class MergeIn(BaseModel):
    contact_id: RowId  # the other contact: it moves into this one and disappears


class ContactPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    sms_opted_out: bool | None = None


async def _contact_or_404(rt: Rt, contact_id: RowId) -> dict[str, Any]:
    async with rt.read() as conn:
        contact = await queries.contact(conn, contact_id)
    if contact is None:
        raise HTTPException(404, "contato não encontrado")
    return contact


@router.get("/{contact_id}")
async def get_contact(contact_id: RowId, rt: Rt, user: User) -> dict[str, Any]:
    return await _contact_or_404(rt, contact_id)


@router.patch("/{contact_id}")
async def patch_contact(contact_id: RowId, body: ContactPatch, rt: Rt, user: User) -> dict[str, Any]:
    await _contact_or_404(rt, contact_id)
    async with rt.write() as tx:
        if body.name is not None:
            await contact_actions.rename(tx, contact_id, body.name)
        if body.sms_opted_out is not None:
            await optout.set_opt_out(tx, contact_id, body.sms_opted_out)
    return await _contact_or_404(rt, contact_id)


@router.get("/{contact_id}/timeline")
async def timeline(
    contact_id: RowId, rt: Rt, user: User, limit: int = Query(default=200, ge=1, le=1000),
    cursor: str | None = Query(default=None, max_length=200),
) -> dict[str, Any]:
    await _contact_or_404(rt, contact_id)
    try:
        async with rt.read() as conn:
            items, next_cursor = await queries.timeline(conn, contact_id, limit=limit, cursor=cursor)
    except queries.BadCursor as exc:
        raise HTTPException(400, str(exc)) from None
    reader = user.may_read_deleted()
    return {"items": [queries.visible_message(m, may_read_deleted=reader) for m in items], "next_cursor": next_cursor}


@router.post("/{contact_id}/merge", dependencies=[require("supervisor")])
async def merge_contact(contact_id: RowId, body: MergeIn, request: Request, rt: Rt, user: User) -> dict[str, Any]:
    """The same person under two contacts (one per channel, say): one contact, one timeline."""
    await _contact_or_404(rt, contact_id)
    await _contact_or_404(rt, body.contact_id)
    async with rt.write() as tx:
        await contact_actions.merge(tx, contact_id, body.contact_id, actor_id=user.id, ip=client_ip(request))
    return await _contact_or_404(rt, contact_id)
