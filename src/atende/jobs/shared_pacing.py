"""Send pacing shared by every worker process through Redis (when ATENDE_REDIS_URL is set).

The per-process limiter (pair pacing, pauses, `rate_per_second` per connector) stays in front; this
adds one bucket per connector held in Redis, so N worker processes together still send at most
`rate_per_second` (WhatsApp: 80/s per number; Kolmeya: its per-token limit), and a rate-limit answer
seen by one process (`penalize`) pauses the connector for all of them.

The bucket is GCRA (one key per connector: its theoretical arrival time, in Redis server time, so the
processes' clocks do not matter), reserved atomically by a Lua script. If Redis is unreachable the
processes fall back to pacing alone for `RETRY_REDIS_S`, then try again: sends never stop because
Redis did.

Interface (what the jobs call): `async acquire(connector, address)`, `delay_for(connector, address)`,
`penalize(connector, address, code, retry_after)`, `async aclose()`.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import redis.asyncio as redis
import structlog
from redis.exceptions import RedisError

from atende.jobs.pacing import SendPacer

log = structlog.get_logger(__name__)

RETRY_REDIS_S = 5.0
PREFIX = "atende:pace:"
PAUSE_CODES = ("130429", "4", "80007", "rate_limited")  # the whole number (WhatsApp) / token (Kolmeya) throttled

# KEYS: bucket, pause. ARGV: interval (µs per send), burst (sends). Returns {wait µs, reserved 0|1}.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused > now then return {paused - now, 0} end
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + interval
local wait = new_tat - burst * interval - now
if wait < 0 then wait = 0 end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1000)
return {wait, 1}
"""

# KEYS: pause. ARGV: seconds (µs). Extends the pause, never shortens it.
_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local untl = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if untl > current then
  redis.call('SET', KEYS[1], string.format('%.0f', untl), 'PX', math.ceil(tonumber(ARGV[1]) / 1000) + 1000)
end
return 1
"""


def rate_of(connector: Any) -> float:
    return float(getattr(getattr(connector, "config", None), "rate_per_second", 0) or 0)


class SharedSendLimiter:
    def __init__(self, local: SendPacer, url: str, *, client: redis.Redis | None = None) -> None:
        self.local = local
        self._client = client or redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        self._reserve = self._client.register_script(_RESERVE)
        self._pause = self._client.register_script(_PAUSE)
        self._redis_down_until = 0.0
        self._tasks: set[asyncio.Task[Any]] = set()

    def _redis_usable(self) -> bool:
        return time.monotonic() >= self._redis_down_until

    def _redis_failed(self, exc: BaseException) -> None:
        if self._redis_usable():
            log.warning("pacing.redis_unavailable", error=repr(exc), retry_in=RETRY_REDIS_S)
        self._redis_down_until = time.monotonic() + RETRY_REDIS_S

    async def acquire(self, connector: Any, address: str) -> None:
        await self.local.acquire(connector, address)
        rate = rate_of(connector)
        if rate <= 0:
            return
        keys = [f"{PREFIX}{int(connector.id)}", f"{PREFIX}{int(connector.id)}:pause"]
        interval_us = max(1, round(1_000_000 / rate))
        burst = max(1, int(rate))  # a second's worth, like the local bucket
        while self._redis_usable():
            try:
                wait_us, reserved = await self._reserve(keys=keys, args=[interval_us, burst])
            except (RedisError, OSError) as exc:
                self._redis_failed(exc)
                return
            if int(wait_us) > 0:
                await asyncio.sleep(int(wait_us) / 1_000_000)
            if int(reserved):
                return

    def delay_for(self, connector: Any, address: str) -> float:
        return self.local.delay_for(connector, address)

    def penalize(self, connector: Any, address: str, code: str | None, retry_after: float | None) -> None:
        self.local.penalize(connector, address, code, retry_after)
        if code in PAUSE_CODES and self._redis_usable():
            seconds = max(retry_after or 0.0, 1.0)
            task = asyncio.get_running_loop().create_task(self._share_pause(int(connector.id), seconds))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _share_pause(self, connector_id: int, seconds: float) -> None:
        try:
            await self._pause(keys=[f"{PREFIX}{connector_id}:pause"], args=[round(seconds * 1_000_000)])
        except (RedisError, OSError) as exc:
            self._redis_failed(exc)

    async def aclose(self) -> None:
        await self.local.aclose()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._client.aclose()


def make_limiter(local: SendPacer, redis_url: str | None) -> SendPacer:
    """The limiter for this process: shared through Redis when it is configured."""
    return SharedSendLimiter(local, redis_url) if redis_url else local
