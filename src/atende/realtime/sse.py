"""GET /api/v1/events: Server-Sent Events with Last-Event-ID replay from the events table.

Each stream shows only what its viewer may see: `auth.policy.event_filter(viewer)` is a pure predicate
applied in memory to every event, replayed or live (no query per event). A team change rebuilds the
viewer, once per stream. An open stream is the agent's live connection: it keeps an online agent from
turning "away" (routing.auto_away). A deactivation or a logout ends it (the "sessions" bus topic).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from atende.actions.users import SESSIONS_TOPIC
from atende.auth.policy import Viewer, event_filter, viewer_by_id
from atende.auth.tokens import token_hash
from atende.domain.ids import MAX_ID, parse_int
from atende.realtime import events
from atende.web.auth import SESSION_COOKIE, Rt, User, optional_user, viewer_of

router = APIRouter(tags=["events"])
KEEPALIVE_S = 15.0
REPLAY_LIMIT = 1000
SEEN_EVERY_S = 60.0
# Events after which a stream asks again who its viewer is (team membership and visibility).
VIEWER_EVENTS = frozenset({"team.created", "team.updated", "team.deleted"})


def format_event(row: dict[str, Any]) -> str:
    data = json.dumps({"type": row["type"], **row["payload"]}, separators=(",", ":"), default=str)
    return f"id: {row['id']}\nevent: {row['type']}\ndata: {data}\n\n"


def _concerns_viewer(row: dict[str, Any], user_id: int) -> bool:
    """A team change, or a change of this user (their role): who they are must be asked again."""
    return row["type"] in VIEWER_EVENTS or (row["type"] == "user.updated" and row["payload"].get("id") == user_id)


def _ends(payload: str, user_id: int, session_hash: str | None) -> bool:
    """Does a "sessions" bus message (a deactivation or a logout) end this stream?"""
    try:
        data = json.loads(payload)
    except ValueError:
        return False
    return isinstance(data, dict) and (data.get("user_id") == user_id or
                                       (session_hash is not None and data.get("session_hash") == session_hash))


async def _touch(rt: Any, user_id: int) -> None:
    from atende.actions.users import touch_seen

    try:
        async with rt.write() as tx:
            await touch_seen(tx, user_id)
    except Exception:  # a busy database costs the agent nothing but a late "seen"
        return


async def stream(rt: Any, request: Request, after: int, user_id: int = 0,
                 session_hash: str | None = None, viewer: Viewer | None = None) -> AsyncIterator[str]:
    wake = asyncio.Event()
    ended = asyncio.Event()
    user_id = viewer.id if viewer is not None else user_id
    visible = event_filter(viewer) if viewer is not None else (lambda _row: True)
    seen_at = 0.0

    async def listen() -> None:
        async for _ in rt.bus.subscribe("events"):
            wake.set()

    async def watch_sessions() -> None:
        async for payload in rt.bus.subscribe(SESSIONS_TOPIC):
            if _ends(payload, user_id, session_hash):
                ended.set()
                wake.set()

    listener = asyncio.create_task(listen())
    watcher = asyncio.create_task(watch_sessions())
    try:
        yield "retry: 2000\n\n"
        while not await request.is_disconnected():
            if ended.is_set():
                return
            wake.clear()
            if viewer is not None and time.monotonic() - seen_at > SEEN_EVERY_S:
                seen_at = time.monotonic()
                await _touch(rt, viewer.id)
            async with rt.read() as conn:
                rows = await events.since(conn, after, REPLAY_LIMIT)
                if viewer is not None and any(_concerns_viewer(r, viewer.id) for r in rows):
                    fresh = await viewer_by_id(conn, viewer.id, ip=viewer.ip)
                    if fresh is None:
                        return  # the user is gone: the stream ends
                    viewer = fresh
                    visible = event_filter(viewer)
            for row in rows:
                after = row["id"]
                if visible(row):
                    yield format_event(row)
            if len(rows) == REPLAY_LIMIT:
                continue
            try:
                await asyncio.wait_for(wake.wait(), KEEPALIVE_S)
            except TimeoutError:
                # A lost bus message must not keep a dead session streaming: re-check now and then.
                request.state.user = None
                if await optional_user(request, rt) is None:
                    return
                yield ": keepalive\n\n"
    finally:
        for task in (listener, watcher):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@router.get("/events")
async def sse(request: Request, rt: Rt, user: User,
              last_event_id: int | None = Query(default=None, ge=0, le=MAX_ID)) -> Any:
    header = parse_int(request.headers.get("last-event-id", ""), low=0, high=MAX_ID)
    after = header if header is not None else last_event_id
    if after is None:
        async with rt.read() as conn:
            after = await events.last_id(conn)
    cookie = request.cookies.get(SESSION_COOKIE) if user.via == "session" else None
    session_hash = token_hash(cookie) if cookie else None
    viewer = await viewer_of(request, user)
    return StreamingResponse(stream(rt, request, after, user.id, session_hash, viewer),
                             media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
