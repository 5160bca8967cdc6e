"""The workspace's search: messages, contacts' names and numbers, with jumps into the thread."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import Response
from fastapi.routing import APIRouter

from atende.db.queries import BadCursor
from atende.search import queries as search_queries
from atende.web.auth import viewer_of
from atende.web.pages.core import PageUser, full_ui, make_ui, render, rt_of, wants_fragment

router = APIRouter(include_in_schema=False)
PAGE = 30


@router.get("/search")
async def search_page(request: Request, user: PageUser, q: Annotated[str, Query(max_length=200)] = "",
                      cursor: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    items: list[dict[str, object]] = []
    next_cursor = None
    empty_query = search_queries.Query.parse(q).empty
    if not empty_query:
        visible = search_queries.visibility(await viewer_of(request, user))
        try:
            async with rt_of(request).read() as conn:
                items, next_cursor = await search_queries.search(conn, q, limit=PAGE, cursor=cursor, visible=visible)
        except BadCursor:
            items, next_cursor = [], None
    context = {"q": q, "items": items, "next_cursor": next_cursor, "empty_query": empty_query and bool(q.strip()),
               "page": "search"}
    if cursor and wants_fragment(request):  # "more results": just the next rows
        return render(request, "_search_results.html", context, ui=make_ui(request, user))
    return render(request, "search.html", context, ui=await full_ui(request, user))
