"""Settings → Motivos de encerramento (supervisors): add, rename, reorder, retire and bring back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from atende.actions import close_reasons as actions
from atende.actions.errors import ActionError
from atende.db import close_reasons as reads
from atende.web.auth import CurrentUser, client_ip
from atende.web.error_language import translate_detail
from atende.web.pages.core import Supervisor, full_ui, redirect, render, rt_of
from atende.web.params import RowId

router = APIRouter(include_in_schema=False)


async def _page(request: Request, user: CurrentUser, *, error: str = "", status_code: int = 200) -> Response:
    async with rt_of(request).read() as conn:
        items = await reads.reasons(conn)
    ui = await full_ui(request, user)
    return render(request, "settings/close_reasons.html", {"items": items, "error": error, "page": "settings",
                                                            "tab": "close_reasons"}, ui=ui, status_code=status_code)


@router.get("/settings/close-reasons")
async def close_reasons_page(request: Request, user: Supervisor) -> Response:
    return await _page(request, user)


@router.post("/settings/close-reasons")
async def create(request: Request, user: Supervisor, name: Annotated[str, Form(max_length=200)] = "") -> Response:
    try:
        async with rt_of(request).write() as tx:
            await actions.create_reason(tx, name, actor_id=user.id, ip=client_ip(request))
    except ActionError as exc:
        return await _page(request, user, error=translate_detail(exc.template, user.language, exc.params),
                           status_code=exc.status_code)
    return redirect("/settings/close-reasons", request)


@router.post("/settings/close-reasons/{reason_id}")
async def update(request: Request, reason_id: RowId, user: Supervisor,
                 name: Annotated[str | None, Form(max_length=200)] = None,
                 active: Annotated[str | None, Form(max_length=5)] = None,
                 position: Annotated[int | None, Form(ge=0, le=10_000)] = None) -> Response:
    try:
        async with rt_of(request).write() as tx:
            await actions.update_reason(tx, reason_id, name=name, position=position,
                                        active=None if active is None else active in ("1", "true", "on"),
                                        actor_id=user.id, ip=client_ip(request))
    except ActionError as exc:
        return await _page(request, user, error=translate_detail(exc.template, user.language, exc.params),
                           status_code=exc.status_code)
    return redirect("/settings/close-reasons", request)
