"""Scheduled messages in the workspace: the composer's "send at" (the agent's local time) and the
bubble's cancel button."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Request
from fastapi.responses import Response

from atende.actions import scheduled
from atende.web.pages.common import ensure_may_handle, load_conversation
from atende.web.pages.core import PageError, PageUser, rt_of
from atende.web.pages.i18n import _
from atende.web.params import RowId

router = APIRouter(include_in_schema=False)


def local_send_at(value: str, timezone: str) -> datetime | None:
    """The composer's `datetime-local` value ("2025-12-01T09:30"), read in the agent's time zone."""
    text = value.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise PageError(422, _("Data e hora do agendamento inválidas.")) from None
    if moment.tzinfo is None:
        try:
            moment = moment.replace(tzinfo=ZoneInfo(timezone))
        except (ZoneInfoNotFoundError, ValueError):
            moment = moment.replace(tzinfo=ZoneInfo("America/Sao_Paulo"))
    return moment


@router.post("/messages/{message_id}/unschedule")
async def unschedule(request: Request, message_id: RowId, user: PageUser) -> Response:
    from atende.web.pages.chat import bubble  # chat's routes import this module's helper

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
