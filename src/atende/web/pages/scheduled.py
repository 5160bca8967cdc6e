"""Scheduled messages in the workspace: the bubble's cancel button (the composer's "send at" is read
by `atende.web.pages.send_at`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from atende.actions import scheduled
from atende.web.auth import viewer_of
from atende.web.pages.chat import bubble
from atende.web.pages.core import PageUser, rt_of
from atende.web.params import RowId

router = APIRouter(include_in_schema=False)


@router.post("/messages/{message_id}/unschedule")
async def unschedule(request: Request, message_id: RowId, user: PageUser) -> Response:
    async with rt_of(request).write() as tx:  # the action asks auth.policy, as retry does
        await scheduled.cancel(tx, message_id, by=await viewer_of(request, user))
    return await bubble(request, message_id, user)
