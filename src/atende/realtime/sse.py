"""GET /api/v1/events: Server-Sent Events with Last-Event-ID replay from the events table."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from atende.realtime import events
from atende.web.auth import Rt, User

router = APIRouter(tags=["events"])
KEEPALIVE_S = 15.0
REPLAY_LIMIT = 1000


def format_event(row: dict[str, Any]) -> str:
    data = json.dumps({"type": row["type"], **row["payload"]}, separators=(",", ":"), default=str)
    return f"id: {row['id']}\nevent: {row['type']}\ndata: {data}\n\n"


async def stream(rt: Any, request: Request, after: int) -> AsyncIterator[str]:
    wake = asyncio.Event()

    async def listen() -> None:
        async for _ in rt.bus.subscribe("events"):
            wake.set()

    listener = asyncio.create_task(listen())
    try:
        yield "retry: 2000\n\n"
        while not await request.is_disconnected():
            wake.clear()
            async with rt.read() as conn:
                rows = await events.since(conn, after, REPLAY_LIMIT)
            for row in rows:
                after = row["id"]
                yield format_event(row)
            if len(rows) == REPLAY_LIMIT:
                continue
            try:
                await asyncio.wait_for(wake.wait(), KEEPALIVE_S)
            except TimeoutError:
                yield ": keepalive\n\n"
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener


@router.get("/events")
async def sse(request: Request, rt: Rt, user: User, last_event_id: int | None = Query(default=None, ge=0)) -> Any:
    header = request.headers.get("last-event-id", "")
    after = int(header) if header.isdigit() else last_event_id
    if after is None:
        async with rt.read() as conn:
            after = await events.last_id(conn)
    return StreamingResponse(stream(rt, request, after), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
