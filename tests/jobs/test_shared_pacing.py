"""Send pacing shared through Redis: two worker processes together keep one connector's rate."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from atende.jobs.pacing import LocalPacer
from atende.jobs.shared_pacing import SharedSendLimiter, make_limiter
from tests.support.services import RedisServer, require, start_redis


def connector(cid: int = 1, rate: float = 40.0) -> SimpleNamespace:
    return SimpleNamespace(id=cid, config=SimpleNamespace(rate_per_second=rate, pair_interval_s=0, pair_burst=1))


async def send_all(limiters: list[SharedSendLimiter], total: int, conn: SimpleNamespace) -> list[float]:
    """`total` sends spread over the limiters (as over worker processes); when each was allowed."""
    stamps: list[float] = []

    async def one(i: int) -> None:
        await limiters[i % len(limiters)].acquire(conn, f"+55119876{i:05d}")
        stamps.append(time.monotonic())

    await asyncio.gather(*(one(i) for i in range(total)))
    return sorted(stamps)


@pytest.mark.redis
async def test_two_processes_share_one_rate(redis_url: str) -> None:
    rate, total = 40.0, 120
    shared = [SharedSendLimiter(LocalPacer(), redis_url) for _ in range(2)]
    try:
        t0 = time.monotonic()
        stamps = await send_all(shared, total, connector(rate=rate))
        # A second's burst, then `rate` per second: (120 - 40) / 40 = 2 s at least, for both together.
        assert stamps[-1] - t0 >= (total - rate) / rate * 0.9
        for i in range(len(stamps)):  # no window of one second ever holds more than burst + rate
            in_window = sum(1 for s in stamps[i:] if s - stamps[i] < 1.0)
            assert in_window <= 2 * rate + 2
    finally:
        for limiter in shared:
            await limiter.aclose()
    # Each process alone would have let both halves through at once (the reason for the shared bucket).
    local = [LocalPacer(), LocalPacer()]
    t0 = time.monotonic()
    await send_all(local, 80, connector(rate=rate))  # type: ignore[arg-type]
    assert time.monotonic() - t0 < 0.5


@pytest.mark.redis
async def test_a_rate_limit_seen_by_one_process_pauses_the_other(redis_url: str) -> None:
    first, second = (SharedSendLimiter(LocalPacer(), redis_url) for _ in range(2))
    conn = connector(cid=7)
    try:
        first.penalize(conn, "+5511987654321", "130429", 1.0)
        await asyncio.sleep(0.1)  # the pause is shared in the background
        t0 = time.monotonic()
        await second.acquire(conn, "+5511900000000")
        assert time.monotonic() - t0 >= 0.7
    finally:
        await first.aclose()
        await second.aclose()


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = require(start_redis)
    yield server
    server.cleanup()


@pytest.mark.redis
async def test_sends_go_on_when_redis_is_down(own_redis: RedisServer) -> None:
    limiter = SharedSendLimiter(LocalPacer(), own_redis.url)
    try:
        await limiter.acquire(connector(), "+5511987654321")
        await asyncio.to_thread(own_redis.stop)
        t0 = time.monotonic()
        for i in range(5):  # local pacing only, no exception, no long stall
            await limiter.acquire(connector(), f"+55119876543{i:02d}")
        assert time.monotonic() - t0 < 3
    finally:
        await limiter.aclose()


def test_only_with_redis_configured() -> None:
    local = LocalPacer()
    assert make_limiter(local, None) is local
    assert isinstance(make_limiter(local, "redis://127.0.0.1:1/0"), SharedSendLimiter)


async def test_wired_where_the_limiter_is_created(tmp_path, redis_url: str) -> None:  # type: ignore[no-untyped-def]
    from atende.realtime.bus import MemoryBus
    from atende.runtime import Runtime
    from atende.settings import Settings

    rt = Runtime.create(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'a.db'}", secret_key="k",
                                 redis_url=redis_url, media_dir=tmp_path / "media"), bus=MemoryBus())
    try:
        assert isinstance(rt.pacer, SharedSendLimiter)
    finally:
        await rt.close()
