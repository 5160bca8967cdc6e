"""/api/v1/contacts"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from atende.actions import contacts as contact_actions
from atende.actions import optout
from atende.auth import policy
from atende.auth.policy import Viewer
from atende.db import queries
from atende.web.auth import Rt, Who
from atende.web.params import RowId

router = APIRouter(prefix="/contacts", tags=["contacts"])


class MergeIn(BaseModel):
    contact_id: RowId  # the other contact: it moves into this one and disappears


class ContactPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    sms_opted_out: bool | None = None
    whatsapp_opted_out: bool | None = None


async def _contact_or_404(rt: Rt, contact_id: RowId, viewer: Viewer | None = None) -> dict[str, Any]:
    async with rt.read() as conn:
        contact = await queries.contact(conn, contact_id)
        if contact is None:
            raise HTTPException(404, "contato não encontrado")
        if viewer is not None:
            await policy.require_contact(conn, viewer, contact_id)
            contact = await policy.visible_contact(conn, viewer, contact)
    return contact


@router.get("/{contact_id}")
async def get_contact(contact_id: RowId, rt: Rt, user: Who) -> dict[str, Any]:
    """A contact, for whoever may read one of its conversations."""
    return await _contact_or_404(rt, contact_id, user)


@router.patch("/{contact_id}")
async def patch_contact(contact_id: RowId, body: ContactPatch, rt: Rt, user: Who) -> dict[str, Any]:
    """Name and opt-outs, by whoever works the contact; lifting an opt-out is for supervisors and admins."""
    await _contact_or_404(rt, contact_id, user)
    async with rt.write() as tx:
        if body.name is not None:
            await contact_actions.rename(tx, contact_id, body.name, by=user)
        if body.sms_opted_out is not None:
            await optout.set_opt_out(tx, contact_id, body.sms_opted_out, by=user)
        if body.whatsapp_opted_out is not None:
            await optout.set_opt_out(tx, contact_id, body.whatsapp_opted_out, by=user, channel="whatsapp")
    return await _contact_or_404(rt, contact_id, user)


@router.get("/{contact_id}/timeline")
async def timeline(
    contact_id: RowId, rt: Rt, user: Who, limit: int = Query(default=200, ge=1, le=1000),
    cursor: str | None = Query(default=None, max_length=200),
) -> dict[str, Any]:
    """Every message of the contact, on every channel: for agents while they serve the contact."""
    await _contact_or_404(rt, contact_id)
    async with rt.read() as conn:
        await policy.require_timeline(conn, user, contact_id)
    try:
        async with rt.read() as conn:
            items, next_cursor = await queries.timeline(conn, contact_id, limit=limit, cursor=cursor)
    except queries.BadCursor as exc:
        raise HTTPException(400, str(exc)) from None
    reader = policy.may_read_deleted(user)
    return {"items": [queries.visible_message(m, may_read_deleted=reader) for m in items], "next_cursor": next_cursor}


@router.post("/{contact_id}/merge")
async def merge_contact(contact_id: RowId, body: MergeIn, rt: Rt, user: Who) -> dict[str, Any]:
    """The same person under two contacts (one per channel, say): one contact, one timeline. Supervisors
    and admins, of two contacts they may read (auth.policy)."""
    async with rt.write() as tx:
        await contact_actions.merge(tx, contact_id, body.contact_id, by=user)
    return await _contact_or_404(rt, contact_id, user)
