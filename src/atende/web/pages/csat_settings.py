"""Settings → satisfaction survey (CSAT) per connector."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from atende.actions import csat
from atende.actions.errors import ActionError
from atende.db.tables import connectors
from atende.domain.ids import parse_int
from atende.web.auth import CurrentUser
from atende.web.pages.core import PageError, Supervisor, full_ui, redirect, render, rt_of
from atende.web.pages.i18n import _
from atende.web.params import RowId

router = APIRouter(include_in_schema=False)


async def _page(request: Request, user: CurrentUser, *, error: str = "", status_code: int = 200) -> Response:
    async with rt_of(request).read() as conn:
        rows = list(await conn.execute(select(connectors.c.id, connectors.c.name, connectors.c.channel)
                                       .order_by(connectors.c.name)))
        items = [{"id": r.id, "name": r.name, "channel": r.channel, **(await csat.get_settings(conn, r.id))}
                 for r in rows]
    ui = await full_ui(request, user)
    return render(request, "settings/csat.html", {"items": items, "error": error, "saved": request.query_params.get(
        "saved"), "page": "settings", "tab": "csat"}, ui=ui, status_code=status_code)


@router.get("/settings/csat")
async def csat_page(request: Request, user: Supervisor) -> Response:
    return await _page(request, user)


@router.post("/settings/csat/{connector_id}")
async def save(request: Request, connector_id: RowId, user: Supervisor,
               enabled: Annotated[str, Form(max_length=5)] = "",
               question: Annotated[str, Form(max_length=1000)] = "",
               window_hours: Annotated[str, Form(max_length=10)] = "24") -> Response:
    rt = rt_of(request)
    async with rt.read() as conn:
        if await conn.scalar(select(connectors.c.id).where(connectors.c.id == connector_id)) is None:
            raise PageError(404, _("Conector não encontrado."))
    hours = parse_int(window_hours, default=0) or 0
    try:
        async with rt.write() as tx:
            await csat.save_settings(tx, connector_id, enabled=enabled in ("1", "on", "true"), question=question,
                                     window_hours=hours)
    except ActionError as exc:
        return await _page(request, user, error=exc.detail, status_code=exc.status_code)
    return redirect(f"/settings/csat?saved={connector_id}", request)
