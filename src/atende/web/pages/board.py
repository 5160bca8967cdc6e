"""The Kanban board: Novo / Em atendimento / Concluído, live counts, endless columns, drag and drop."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from atende.auth import policy
from atende.db import queries
from atende.db.tables import connectors
from atende.db.waiting_counts import over_counts
from atende.domain.ids import MAX_ID, parse_int
from atende.web.auth import viewer_of
from atende.web.pages.common import (
    PAGE_SIZE,
    STATUSES,
    ConvFilter,
    FilterQ,
    SearchQ,
    SortQ,
    TagQ,
    TeamQ,
    filter_labels,
    load_conversation,
    move,
    sort_labels,
    status_labels,
    team_chips,
    wait_key,
)
from atende.web.pages.core import PageError, PageUser, full_ui, make_ui, redirect, render, rt_of
from atende.web.pages.i18n import _
from atende.web.pages.reports import today_line
from atende.web.params import RowId

router = APIRouter(include_in_schema=False)



def _view_context(flt: ConvFilter) -> dict[str, Any]:
    return {"flt": flt, "filters": filter_labels(), "statuses": status_labels(), "sort_key": flt.sort_key,
            "wait_key": wait_key, "sorts": sort_labels()}


def column_order(status: str, flt: ConvFilter) -> str:
    """Novo is the queue: oldest waiting first. The other columns: newest activity first. Sorted by
    priority ("Ordenar: Prioridade"), every column puts urgent first."""
    return flt.list_order("waiting" if status == "new" else "activity")


@router.get("/")
async def home(request: Request, user: PageUser) -> Response:
    return redirect("/board")


@router.get("/board")
async def board(request: Request, user: PageUser, f: FilterQ = None, q: SearchQ = None, team: TeamQ = None,
                tag: TagQ = None, s: SortQ = None) -> Response:
    flt = ConvFilter.parse(f, q, team, tag, s)
    who = await viewer_of(request, user)
    ui = await full_ui(request, user)
    columns: dict[str, dict[str, Any]] = {}
    async with rt_of(request).read() as conn:
        counts = await queries.board_counts(conn, **flt.count_args(who))
        for status in STATUSES:
            items, cursor = await queries.list_conversations(conn, status=status, limit=PAGE_SIZE,
                                                             order=column_order(status, flt), **flt.list_args(who))
            columns[status] = {"items": items, "cursor": cursor}
        teams_shown = await team_chips(conn, who)
        tag_list = await queries.tag_list(conn)
        over = await over_counts(conn, now=ui.waits.now, thresholds=ui.waits.defaults, teams=ui.waits.teams,
                                 **flt.count_args(who))
        # A new installation has no connector yet: the board says what to do instead of staying blank.
        no_channels = await conn.scalar(select(connectors.c.id).where(connectors.c.active.is_(True)).limit(1)) is None
    if flt.counts_on_screen:
        # The counters know nothing of the search: count what it found ("25+" when there is more).
        counts = {status: len(col["items"]) for status, col in columns.items()}
    return render(request, "board.html", {**_view_context(flt), "columns": columns, "counts": counts,
                                          "teams": teams_shown, "tags": tag_list, "page": "board",
                                          "today": await today_line(request, user),
                                          "no_channels": no_channels, "over": over}, ui=ui)


@router.get("/board/column/{status}")
async def column_page(request: Request, status: str, user: PageUser, f: FilterQ = None, q: SearchQ = None,
                      team: TeamQ = None, tag: TagQ = None, s: SortQ = None,
                      cursor: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    """The next keyset page of one column (endless scroll)."""
    if status not in STATUSES:
        raise PageError(404, _("Coluna inválida."))
    flt = ConvFilter.parse(f, q, team, tag, s)
    who = await viewer_of(request, user)
    try:
        async with rt_of(request).read() as conn:
            items, next_cursor = await queries.list_conversations(conn, status=status, limit=PAGE_SIZE,
                                                                  cursor=cursor, order=column_order(status, flt),
                                                                  **flt.list_args(who))
    except queries.BadCursor:
        raise PageError(400, _("Cursor inválido.")) from None
    return render(request, "_column_page.html", {**_view_context(flt), "status": status, "items": items,
                                                 "cursor": next_cursor}, ui=make_ui(request, user))


@router.get("/fragments/conversation/{conversation_id}")
async def conversation_fragment(request: Request, conversation_id: RowId, user: PageUser, f: FilterQ = None,
                                q: SearchQ = None, team: TeamQ = None, tag: TagQ = None, s: SortQ = None,
                                view: Annotated[str, Query(max_length=10)] = "card") -> Response:
    """One card (board) or list item (inbox), for live updates; 204 + X-Atende-Hidden when filtered out
    or not the viewer's to see (a card that leaves their sight disappears)."""
    flt = ConvFilter.parse(f, q, team, tag, s)
    who = await viewer_of(request, user)
    async with rt_of(request).read() as conn:
        conv = await queries.conversation(conn, conversation_id)
        visible = conv is not None and policy.can_read(who, conv)
    if conv is None or not visible or not flt.matches(conv, user):
        return Response(status_code=204, headers={"X-Atende-Hidden": "1"})
    template = "_list_item.html" if view == "item" else "_card.html"
    active = parse_int(request.query_params.get("active") or "", default=0, low=0, high=MAX_ID)
    return render(request, template, {**_view_context(flt), "c": conv, "active_id": active},
                  ui=make_ui(request, user))


@router.post("/board/move")
async def move_card(request: Request, user: PageUser, conversation_id: Annotated[int, Form()],
                    to: Annotated[str, Form(max_length=10)],
                    f: Annotated[str | None, Form(max_length=20)] = None,
                    q: Annotated[str | None, Form(max_length=200)] = None,
                    s: Annotated[str | None, Form(max_length=20)] = None) -> Response:
    """Drag and drop between columns: take (→ Em atendimento), close (→ Concluído), reopen/release (→ Novo)."""
    conv = await move(rt_of(request), await viewer_of(request, user), conversation_id, to)
    flt = ConvFilter.parse(f, q, request.query_params.get("team"), request.query_params.get("tag"), s)
    return render(request, "_card.html", {**_view_context(flt), "c": conv}, ui=make_ui(request, user),
                  headers={"HX-Trigger": "atende:counts"})


__all__ = ["load_conversation", "router"]
