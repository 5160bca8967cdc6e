"""GET /api/v1/events: Server-Sent Events fed by the process's hub, with Last-Event-ID replay.

A stream opened without an id starts at the newest event. With an id (the `Last-Event-ID` header
a reconnecting EventSource sends, or `?last_event_id=`), it first replays what it missed from the
events table, then goes live. What a user may see is decided by the authorization layer's filter.
Streams end when their session does: the hub closes them on the bus topic "sessions", and each
stream re-checks its session now and then in case that message was lost.
"""

from __future__ import annotations

import importlib
import inspect
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from atende.auth.tokens import token_hash
from atende.domain.ids import MAX_ID, parse_int
from atende.realtime.hub import Closed, CutOff, EventFilter, accept_all, format_event, replay
from atende.web.auth import SESSION_COOKIE, CurrentUser, Rt, User, optional_user

router = APIRouter(tags=["events"])
REPLAY_LIMIT = 1000
REPLAY_DEDUP_WINDOW = 1000  # ids below the hub's position that can still arrive late (see hub.py)
SESSION_RECHECK_S = 60.0  # at a keepalive, at most this often: one query per stream per minute

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


async def _session_ended(rt: Any, request: Request | None, checked: list[float]) -> bool:
    """A lost "sessions" bus message must not keep a dead session streaming: re-check now and then."""
    if request is None or time.monotonic() - checked[0] < SESSION_RECHECK_S:
        return False
    checked[0] = time.monotonic()
    request.state.user = None
    return await optional_user(request, rt) is None


async def stream(rt: Any, request: Request | None, after: int | None, *, accept: EventFilter = accept_all,
                 user_id: int | None = None, session_hash: str | None = None) -> AsyncIterator[str]:
    hub = rt.hub
    await hub.start()
    sub = hub.subscribe(accept, user_id=user_id, session_hash=session_hash)
    live_from = hub.position  # the hub delivers what it reads after this
    last = live_from if after is None else after
    checked = [time.monotonic()]
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
                if await _session_ended(rt, request, checked):
                    return
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
async def sse(request: Request, rt: Rt, user: User,
              last_event_id: int | None = Query(default=None, ge=0, le=MAX_ID)) -> Any:
    header = parse_int(request.headers.get("last-event-id", ""), low=0, high=MAX_ID)
    after = header if header is not None else last_event_id
    cookie = request.cookies.get(SESSION_COOKIE) if user.via == "session" else None
    body = stream(rt, request, after, accept=await event_filter_for(user), user_id=user.id,
                  session_hash=token_hash(cookie) if cookie else None)
    return StreamingResponse(body, media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
