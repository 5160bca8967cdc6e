"""Redis stopped: live updates fall back to polling the events table, and speed up again when it returns."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from atende.realtime.hub import Hub
from atende.realtime.redis_bus import RedisBus
from tests.realtime.test_hub import note, started, take
from tests.support.harness import close_harness, make_harness
from tests.support.services import RedisServer, require, start_redis


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = require(start_redis)
    yield server
    server.cleanup()


async def until(check, within: float = 15) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(within):
        while True:
            if check():
                return
            await asyncio.sleep(0.02)  # the bus notices a lost server asynchronously


@pytest.mark.redis
async def test_redis_down_then_back(own_redis: RedisServer, tmp_path: Path) -> None:
    h = await make_harness(f"sqlite+aiosqlite:///{tmp_path / 'atende.db'}")
    bus = RedisBus(own_redis.url, min_backoff=0.05, max_backoff=0.3, health_check_interval=1)
    await bus.start()
    await h.rt.bus.close()
    h.rt.bus = bus
    # A long safety poll: an event that arrives quickly came through the bus, not the poll.
    h.rt._hub = Hub(h.rt, poll_s=30, fallback_poll_s=0.1)
    try:
        s = await started(stream_of(h))
        eid = await note(h, "via redis")
        assert [e["event_id"] for e in await take(s, 1, limit_s=3)] == [eid]

        await asyncio.to_thread(own_redis.stop)
        await until(lambda: not bus.connected)
        t0 = time.monotonic()
        eid = await note(h, "while redis is down")
        assert time.monotonic() - t0 < 1.0  # the write does not wait on a dead bus
        assert [e["event_id"] for e in await take(s, 1, limit_s=3)] == [eid]  # polled

        await asyncio.to_thread(own_redis.start)
        await until(lambda: bus.connected)
        eid = await note(h, "redis is back")
        assert [e["event_id"] for e in await take(s, 1, limit_s=3)] == [eid]
        await s.aclose()
    finally:
        await close_harness(h)


def stream_of(h):  # type: ignore[no-untyped-def]
    from atende.realtime.sse import stream

    return stream(h.rt, None, None)
