"""Contact panel (inside the chat) and contact page: identities, name, opt-out, one timeline."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from atende.actions import contacts as contact_actions
from atende.actions import optout
from atende.actions.errors import ActionError
from atende.auth import policy
from atende.db import queries
from atende.web.auth import CurrentUser, viewer_of
from atende.web.pages.common import status_labels
from atende.web.pages.core import PageError, PageUser, full_ui, make_ui, render, rt_of
from atende.web.pages.i18n import _
from atende.web.params import OptId, RowId

router = APIRouter(include_in_schema=False)
TIMELINE_PAGE = 100


def _names(items: list[dict[str, Any]], names: dict[int, str]) -> None:
    for m in items:
        m["author_name"] = names.get(int(m["author_id"])) if m["author_id"] else None


async def _contact(request: Request, user: CurrentUser, contact_id: RowId, *, timeline: bool = False) -> dict[str, Any]:
    """The contact, if the viewer may read it (and its whole timeline, with `timeline`); 404/403 otherwise."""
    who = await viewer_of(request, user)
    async with rt_of(request).read() as conn:
        contact = await queries.contact(conn, contact_id)
        try:
            if contact is not None:
                await (policy.require_timeline if timeline else policy.require_contact)(conn, who, contact_id)
                contact = await policy.visible_contact(conn, who, contact)
        except ActionError as exc:
            raise PageError(exc.status_code, exc.detail) from None
    if contact is None:
        raise PageError(404, _("Contato não encontrado."))
    return contact


async def _panel(request: Request, user: CurrentUser, contact_id: RowId, conversation_id: int | None,
                 *, saved: str = "") -> Response:
    contact = await _contact(request, user, contact_id)
    who = await viewer_of(request, user)
    async with rt_of(request).read() as conn:
        timeline = await policy.may_read_timeline(conn, who, contact_id)
    return render(request, "_contact_panel.html",
                  {"contact": contact, "conversation_id": conversation_id, "statuses": status_labels(),
                   "saved": saved, "may_timeline": timeline, "may_opt_in": who.is_staff}, ui=make_ui(request, user))


@router.get("/contacts/{contact_id}")
async def contact_page(request: Request, contact_id: RowId, user: PageUser) -> Response:
    contact = await _contact(request, user, contact_id, timeline=True)
    ui = await full_ui(request, user)
    async with rt_of(request).read() as conn:
        items, cursor = await queries.timeline(conn, contact_id, limit=TIMELINE_PAGE)
        names = await queries.user_names(conn)
    reader = policy.may_read_deleted(await viewer_of(request, user))
    items = [queries.visible_message(m, may_read_deleted=reader) for m in items]
    _names(items, names)
    return render(request, "contact.html", {"contact": contact, "items": items, "cursor": cursor, "names": names,
                                            "statuses": status_labels(), "page": "contact"}, ui=ui)


@router.get("/contacts/{contact_id}/timeline")
async def timeline_page(request: Request, contact_id: RowId, user: PageUser,
                        cursor: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    await _contact(request, user, contact_id, timeline=True)
    try:
        async with rt_of(request).read() as conn:
            items, next_cursor = await queries.timeline(conn, contact_id, limit=TIMELINE_PAGE, cursor=cursor)
            names = await queries.user_names(conn)
    except queries.BadCursor:
        raise PageError(400, _("Cursor inválido.")) from None
    reader = policy.may_read_deleted(await viewer_of(request, user))
    items = [queries.visible_message(m, may_read_deleted=reader) for m in items]
    _names(items, names)
    return render(request, "_timeline_items.html", {"contact": {"id": contact_id}, "items": items,
                                                    "cursor": next_cursor, "names": names},
                  ui=make_ui(request, user))


@router.get("/contacts/{contact_id}/panel")
async def panel(request: Request, contact_id: RowId, user: PageUser, conversation: OptId = None) -> Response:
    return await _panel(request, user, contact_id, conversation)


@router.post("/contacts/{contact_id}/name")
async def rename(request: Request, contact_id: RowId, user: PageUser, name: Annotated[str, Form(max_length=200)],
                 conversation: Annotated[int | None, Form()] = None) -> Response:
    if not name.strip():
        raise PageError(422, _("O nome não pode ficar vazio."))
    await _contact(request, user, contact_id)
    async with rt_of(request).write() as tx:
        await contact_actions.rename(tx, contact_id, name.strip(), by=await viewer_of(request, user))
    return await _panel(request, user, contact_id, conversation, saved="name")


@router.post("/contacts/{contact_id}/optout")
async def set_optout(request: Request, contact_id: RowId, user: PageUser,
                     opted_out: Annotated[str, Form(max_length=5)] = "0",
                     conversation: Annotated[int | None, Form()] = None) -> Response:
    await _contact(request, user, contact_id)
    async with rt_of(request).write() as tx:
        await optout.set_opt_out(tx, contact_id, opted_out in ("1", "true", "on"), by=await viewer_of(request, user))
    return await _panel(request, user, contact_id, conversation, saved="optout")
