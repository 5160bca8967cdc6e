"""GET /api/v1/contacts: search and filter contacts (keyset pages, newest first)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query

from atende.auth import policy
from atende.db import queries
from atende.db.contact_list import ContactFilter, list_contacts
from atende.web.auth import Rt, Who

router = APIRouter(prefix="/contacts", tags=["contacts"])


@router.get("")
async def contacts_list(
    rt: Rt, user: Who,
    q: str | None = Query(default=None, max_length=200, description="name, phone (4+ digits) or any identity"),
    channel: Literal["whatsapp", "sms", "instagram", "messenger", "sandbox"] | None = None,
    opted_out: bool | None = Query(default=None, description="SMS opt-out"),
    odoo: bool | None = Query(default=None, description="linked to an Odoo partner"),
    limit: int = Query(default=50, ge=1, le=queries.MAX_LIMIT),
    cursor: str | None = Query(default=None, max_length=200),
) -> dict[str, Any]:
    """Contacts the caller may see (one of their conversations is in the caller's scope), newest first."""
    flt = ContactFilter(q=(q or "").strip(), channel=channel, opted_out=opted_out, has_partner=odoo)
    try:
        async with rt.read() as conn:
            # Only contacts with a conversation the caller may see (auth.policy).
            items, next_cursor = await list_contacts(conn, flt, limit=limit, cursor=cursor,
                                                     visible=policy.visible_conversations(user))
    except queries.BadCursor as exc:
        raise HTTPException(400, str(exc)) from None
    return {"items": items, "next_cursor": next_cursor}
