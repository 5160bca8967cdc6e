"""Settings → message templates: saved texts with {{variables}}, with a live preview of segments and cost."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from atende.actions import message_templates as template_actions
from atende.actions.errors import ActionError
from atende.actions.outbound import cost_per_segment
from atende.auth import policy
from atende.auth.policy import Viewer
from atende.db.tables import connectors
from atende.domain.ids import parse_id
from atende.domain.variables import STANDARD
from atende.web.auth import CurrentUser
from atende.web.pages.core import Supervisor, full_ui, redirect, render, rt_of
from atende.web.params import RowId

router = APIRouter(include_in_schema=False)


async def connector_choices(request: Request, who: Viewer | None = None) -> list[dict[str, Any]]:
    """Active connectors with what a preview needs: whether they count segments, and the price.
    With `who`: only those they may send on (auth.policy.connector_where), so a form offers no 403."""
    rt = rt_of(request)
    async with rt.read() as conn:
        rows = list(await conn.execute(select(connectors.c.id).where(
            connectors.c.active.is_(True), *([policy.connector_where(who, connectors.c.id)] if who else []))
            .order_by(connectors.c.name)))
    out = []
    for row in rows:
        loaded = await rt.connector(int(row.id))
        if loaded is None:
            continue
        counts = loaded.provider.capabilities.segments
        out.append({"id": loaded.id, "name": loaded.name, "channel": loaded.channel, "segments": counts,
                    "templates": loaded.provider.capabilities.templates,
                    "price": str(cost_per_segment(loaded.config)) if counts else "0"})
    return out


async def _page(request: Request, user: CurrentUser, *, error: str = "", status_code: int = 200,
                form: dict[str, Any] | None = None) -> Response:
    async with rt_of(request).read() as conn:
        items = await template_actions.listing(conn)
    choices = await connector_choices(request)
    names = {c["id"]: c["name"] for c in choices}
    ui = await full_ui(request, user)
    return render(request, "settings/message_templates.html", {
        "items": items, "connectors": choices, "connector_names": names, "error": error, "form": form or {},
        "standard": STANDARD, "page": "settings", "tab": "message_templates"}, ui=ui, status_code=status_code)


@router.get("/settings/message-templates")
async def templates_page(request: Request, user: Supervisor) -> Response:
    return await _page(request, user)


def _connector(value: str) -> int | None:
    return parse_id(value) if value.strip() else None


@router.post("/settings/message-templates")
async def create(request: Request, user: Supervisor, name: Annotated[str, Form(max_length=200)] = "",
                 text: Annotated[str, Form(max_length=5000)] = "",
                 connector_id: Annotated[str, Form(max_length=20)] = "") -> Response:
    try:
        async with rt_of(request).write() as tx:
            await template_actions.create(tx, name=name, text=text, connector_id=_connector(connector_id),
                                          created_by=user.id)
    except ActionError as exc:
        return await _page(request, user, error=exc.detail, status_code=exc.status_code,
                           form={"name": name, "text": text, "connector_id": connector_id})
    return redirect("/settings/message-templates", request)


@router.post("/settings/message-templates/{template_id}")
async def update(request: Request, template_id: RowId, user: Supervisor,
                 name: Annotated[str, Form(max_length=200)] = "", text: Annotated[str, Form(max_length=5000)] = "",
                 connector_id: Annotated[str, Form(max_length=20)] = "") -> Response:
    try:
        async with rt_of(request).write() as tx:
            await template_actions.update_template(tx, template_id, name=name, text=text,
                                                   connector_id=_connector(connector_id))
    except ActionError as exc:
        return await _page(request, user, error=exc.detail, status_code=exc.status_code)
    return redirect("/settings/message-templates", request)


@router.post("/settings/message-templates/{template_id}/delete")
async def delete(request: Request, template_id: RowId, user: Supervisor) -> Response:
    try:
        async with rt_of(request).write() as tx:
            await template_actions.delete_template(tx, template_id)
    except ActionError as exc:
        return await _page(request, user, error=exc.detail, status_code=exc.status_code)
    return redirect("/settings/message-templates", request)
