"""GET /api/v1/events: Server-Sent Events fed by the process's hub, with Last-Event-ID replay.

A stream opened without an id starts at the newest event. With an id (the `Last-Event-ID` header
a reconnecting EventSource sends, or `?last_event_id=`), it first replays what it missed from the
events table, then goes live. What a user may see is decided by the authorization layer's filter.
"""

from __future__ import annotations

import importlib
import inspect
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from atende.auth.tokens import token_hash
from atende.realtime.hub import Closed, CutOff, EventFilter, accept_all, format_event, replay
from atende.web.auth import SESSION_COOKIE, CurrentUser, Rt, User

router = APIRouter(tags=["events"])
REPLAY_LIMIT = 1000
REPLAY_DEDUP_WINDOW = 1000  # ids below the hub's position that can still arrive late (see hub.py)

__all__ = ["format_event", "router", "stream"]


async def event_filter_for(user: CurrentUser) -> EventFilter:
    """The one seam to the authorization layer: `auth.policy.event_filter(user)` when it exists
    (sync or async), else every event (before the teams/visibility rules landed)."""
    try:
        policy = importlib.import_module("atende.auth.policy")
    except ImportError:
        return accept_all
    make = getattr(policy, "event_filter", None)
    if make is None:
        return accept_all
    accept = make(user)
    if inspect.isawaitable(accept):
        accept = await accept
    return accept


async def stream(rt: Any, request: Request | None, after: int | None, *, accept: EventFilter = accept_all,
                 user_id: int | None = None, session_hash: str | None = None) -> AsyncIterator[str]:
    hub = rt.hub
    await hub.start()
    sub = hub.subscribe(accept, user_id=user_id, session_hash=session_hash)
    live_from = hub.position  # the hub delivers what it reads after this
    last = live_from if after is None else after
    try:
        yield "retry: 2000\n\n"
        replayed: set[int] = set()
        if after is not None and after < live_from:
            async for row in replay(rt, after, accept, REPLAY_LIMIT):
                event_id = int(row["id"])
                if event_id > live_from - REPLAY_DEDUP_WINDOW:
                    replayed.add(event_id)
                last = max(last, event_id)
                yield format_event(row)
        skip_upto = after if after is not None and after > live_from else 0
        while True:
            try:
                items = await sub.take()
            except CutOff:
                data = json.dumps({"type": "stream.cut", "resume_after": last})
                yield f"id: {last}\nevent: stream.cut\ndata: {data}\n\n"
                return
            except Closed:
                return
            if not items:
                yield ": keepalive\n\n"
                continue
            chunk = []
            for event_id, text in items:
                if event_id in replayed or event_id <= skip_upto:
                    continue
                last = max(last, event_id)
                chunk.append(text)
            if chunk:
                yield "".join(chunk)
    finally:
        hub.unsubscribe(sub)


@router.get("/events")
async def sse(request: Request, rt: Rt, user: User, last_event_id: int | None = Query(default=None, ge=0)) -> Any:
    header = request.headers.get("last-event-id", "")
    after = int(header) if header.isdigit() else last_event_id
    cookie = request.cookies.get(SESSION_COOKIE) if user.via == "session" else None
    body = stream(rt, request, after, accept=await event_filter_for(user), user_id=user.id,
                  session_hash=token_hash(cookie) if cookie else None)
    return StreamingResponse(body, media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
