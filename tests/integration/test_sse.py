"""SSE at /api/v1/events: live events after commit, replay with Last-Event-ID."""

from __future__ import annotations

import asyncio
import json

from starlette.requests import Request

from atende.realtime import events
from atende.realtime.sse import stream
from tests.support.harness import Harness


def _request() -> Request:
    async def receive() -> dict:
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    return Request({"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""}, receive)


async def _take(gen, n: int, limit_s: float = 5.0) -> list[dict]:  # type: ignore[no-untyped-def]
    out: list[dict] = []
    async with asyncio.timeout(limit_s):
        async for chunk in gen:
            for message in chunk.split("\n\n"):  # a chunk carries every event that piled up
                if message.startswith("id:"):
                    lines = dict(line.split(": ", 1) for line in message.strip().split("\n"))
                    if lines["event"] == "dashboard.tick":  # the day's counter line, not what these tests follow
                        continue
                    out.append({**json.loads(lines["data"]), "event_id": int(lines["id"]),
                                "event": lines["event"]})
            if len(out) >= n:
                return out[:n]
    return out


async def test_live_events_and_replay(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    async with h.rt.read() as conn:
        start = await events.last_id(conn)
    live = stream(h.rt, _request(), after=start)
    c = await h.kolmeya_connector()
    first = await _take(live, 1)
    assert first[0]["event"] == "connector.created" and first[0]["event_id"] > start
    r = await h.post("/api/v1/messages", {"connector_id": c["id"], "to": "+5511999999999", "text": "oi"})
    got = await _take(live, 2)
    assert [e["event"] for e in got] == ["conversation.created", "message.created"]
    assert got[1]["event_id"] > got[0]["event_id"] and got[1]["conversation_id"] == r.json()["conversation_id"]
    await live.aclose()

    # A client that reconnects with Last-Event-ID gets exactly what it missed.
    replay = await _take(stream(h.rt, _request(), after=got[0]["event_id"]), 1)
    assert replay[0]["event_id"] == got[1]["event_id"]


async def test_sse_requires_auth_and_honours_last_event_id_header(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    assert (await h.client.get("/api/v1/events")).status_code == 401
    r = await h.client.get("/api/v1/events", headers={**h.auth(), "Last-Event-ID": "abc"},
                           params={"last_event_id": -1})
    assert r.status_code == 422
