"""Settings → Auditoria (admin): who did what, when and from where, with filters and keyset pages."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from atende.db import queries
from atende.db.audit_queries import audit_page
from atende.db.tables import users
from atende.domain.ids import MAX_ID
from atende.web.api.audit import _moment
from atende.web.pages.core import Admin, PageError, full_ui, render, rt_of
from atende.web.pages.i18n import _

router = APIRouter(include_in_schema=False)
ACTIONS = ("login.", "logout", "user.", "token.", "connector.", "conversation.", "contact.")


@router.get("/settings/audit")
async def audit_settings(
    request: Request, user: Admin,
    actor: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    action: Annotated[str | None, Query(max_length=60, pattern=r"^[a-z_.]*$")] = None,
    from_: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    to: Annotated[str | None, Query(max_length=40)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    rt = rt_of(request)
    try:
        since, until = _moment(from_, end=False), _moment(to, end=True)
        async with rt.read() as conn:
            items, next_cursor = await audit_page(conn, actor_id=actor, action=action or None, since=since,
                                                  until=until, limit=50, cursor=cursor)
            people = {r.id: r.name for r in await conn.execute(select(users.c.id, users.c.name))}
    except queries.BadCursor:
        raise PageError(400, _("Página inválida.")) from None
    except HTTPException:  # from _moment: a date the admin typed wrong
        raise PageError(422, _("Data inválida: use AAAA-MM-DD.")) from None
    filters: dict[str, Any] = {"actor": actor or "", "action": action or "", "from": from_ or "", "to": to or ""}
    ui = await full_ui(request, user)
    return render(request, "settings/audit.html", {
        "items": items, "people": people, "filters": filters, "actions": ACTIONS,
        "next_url": ui.url("/settings/audit", **filters, cursor=next_cursor) if next_cursor else None,
        "page": "settings", "tab": "audit"}, ui=ui)
