"""Scheduled messages in the workspace: the bubble's cancel button (the composer's "send at" is read
by `atende.web.pages.send_at`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from atende.actions import scheduled
from atende.web.pages.chat import bubble
from atende.web.pages.common import ensure_may_handle, load_conversation
from atende.web.pages.core import PageError, PageUser, rt_of
from atende.web.pages.i18n import _
from atende.web.params import RowId

router = APIRouter(include_in_schema=False)


@router.post("/messages/{message_id}/unschedule")
async def unschedule(request: Request, message_id: RowId, user: PageUser) -> Response:
    rt = rt_of(request)
    async with rt.read() as conn:
        from atende.db import queries

        msg = await queries.message(conn, message_id)
    if msg is None:
        raise PageError(404, _("Mensagem não encontrada."))
    ensure_may_handle(user, await load_conversation(rt, msg["conversation_id"]))
    async with rt.write() as tx:
        await scheduled.cancel(tx, message_id, actor_id=user.id)
    return await bubble(request, message_id, user)
