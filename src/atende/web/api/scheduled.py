"""DELETE /api/v1/messages/{id}: cancel a message that is still scheduled."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response

from atende.actions import scheduled
from atende.db import queries
from atende.web.auth import Rt, User
from atende.web.params import RowId

router = APIRouter(tags=["conversations"])


@router.delete("/messages/{message_id}", status_code=204)
async def cancel_scheduled(message_id: RowId, rt: Rt, user: User) -> Response:
    async with rt.read() as conn:
        msg = await queries.message(conn, message_id)
        conv = await queries.conversation(conn, msg["conversation_id"]) if msg else None
    if msg is None or conv is None:
        raise HTTPException(404, "mensagem não encontrada")
    if not user.may_handle(conv["assignee"]["id"] if conv["assignee"] else None):
        raise HTTPException(403, "conversa atribuída a outro agente")
    async with rt.write() as tx:
        await scheduled.cancel(tx, message_id, actor_id=user.id)
    return Response(status_code=204)
