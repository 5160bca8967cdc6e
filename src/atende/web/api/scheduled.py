"""DELETE /api/v1/messages/{id}: cancel a message that is still scheduled."""

from __future__ import annotations

from fastapi import APIRouter, Response

from atende.actions import scheduled
from atende.web.auth import Rt, Who
from atende.web.params import RowId

router = APIRouter(tags=["conversations"])


@router.delete("/messages/{message_id}", status_code=204)
async def cancel_scheduled(message_id: RowId, rt: Rt, user: Who) -> Response:
    """Whoever may act on the conversation (auth.policy); 409 `not_scheduled` once it went out."""
    async with rt.write() as tx:
        await scheduled.cancel(tx, message_id, by=user)
    return Response(status_code=204)
