"""What the chat header shows and sets beside the lifecycle: priority, and the close reasons offered."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncConnection

from atende.actions import priority as priority_actions
from atende.db import close_reasons as reason_reads
from atende.domain.priority import PRIORITIES
from atende.web.auth import viewer_of
from atende.web.pages.common import load_conversation
from atende.web.pages.core import PageError, PageUser, rt_of
from atende.web.pages.i18n import _
from atende.web.params import RowId

router = APIRouter(include_in_schema=False)


def priority_labels() -> dict[str, str]:
    return {"low": _("Baixa"), "normal": _("Normal"), "high": _("Alta"), "urgent": _("Urgente")}


async def header_extras(conn: AsyncConnection, conv: dict[str, Any]) -> dict[str, Any]:
    """The close reasons offered (active ones), the reason a closed conversation ended with, priorities."""
    return {
        "close_reasons": await reason_reads.reasons(conn, active_only=True),
        "closed_reason": await reason_reads.current_reason(conn, conv["id"]) if conv["status"] == "done" else None,
        "priorities": priority_labels(),
    }


@router.post("/conversations/{conversation_id}/priority")
async def set_priority(request: Request, conversation_id: RowId, user: PageUser,
                       priority: Annotated[str, Form(max_length=10)]) -> Response:
    rt = rt_of(request)
    who = await viewer_of(request, user)
    await load_conversation(rt, conversation_id, who)
    if priority not in PRIORITIES:
        raise PageError(422, _("Prioridade inválida."))
    async with rt.write() as tx:
        await priority_actions.set_priority(tx, conversation_id, priority, by=who)  # the policy decides
    # The header refreshes itself on the live event (chat.js), like after another agent's change.
    return Response(status_code=204, headers={"HX-Trigger": "atende:header-refresh"})
