"""GET /api/v1/events: Server-Sent Events with Last-Event-ID replay from the events table."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from atende.actions.users import SESSIONS_TOPIC
from atende.auth.tokens import token_hash
from atende.domain.ids import MAX_ID, parse_int
from atende.privacy.previews import mask_payload
from atende.realtime import events
from atende.web.auth import SESSION_COOKIE, Rt, User, optional_user

router = APIRouter(tags=["events"])
KEEPALIVE_S = 15.0
REPLAY_LIMIT = 1000


def format_event(row: dict[str, Any], mask_previews: bool = True) -> str:
    payload = mask_payload(row["payload"], mask_previews)  # notifications show the preview too
    data = json.dumps({"type": row["type"], **payload}, separators=(",", ":"), default=str)
    return f"id: {row['id']}\nevent: {row['type']}\ndata: {data}\n\n"


def _ends(payload: str, user_id: int, session_hash: str | None) -> bool:
    """Does a "sessions" bus message (a deactivation or a logout) end this stream?"""
    try:
        data = json.loads(payload)
    except ValueError:
        return False
    return isinstance(data, dict) and (data.get("user_id") == user_id or
                                       (session_hash is not None and data.get("session_hash") == session_hash))


async def stream(rt: Any, request: Request, after: int, user_id: int = 0,
                 session_hash: str | None = None) -> AsyncIterator[str]:
    wake = asyncio.Event()
    ended = asyncio.Event()

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
            async with rt.read() as conn:
                rows = await events.since(conn, after, REPLAY_LIMIT)
            mask = await rt.app_settings.mask_previews(rt) if rows else True
            for row in rows:
                after = row["id"]
                yield format_event(row, mask)
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
    return StreamingResponse(stream(rt, request, after, user.id, session_hash), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
