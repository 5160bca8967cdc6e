"""Event bus over Redis pub/sub, for several `web` and `worker` processes.

Topic `t` is the Redis channel `atende:t`. Each process holds one pub/sub connection,
pattern-subscribed to `atende:*` from `start()` on, and fans the messages out to its local
subscribers through a `MemoryBus`. If Redis goes away the reader reconnects with backoff;
notifications sent meanwhile are lost, which only costs latency (see `bus.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator

import redis.asyncio as redis
import structlog
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import RedisError

from atende.realtime.bus import MemoryBus

log = structlog.get_logger(__name__)

# What a lost, unreachable or misbehaving server raises (TimeoutError is an OSError).
CONNECTION_ERRORS = (RedisError, OSError)


class RedisBus:
    def __init__(
        self,
        url: str,
        *,
        prefix: str = "atende:",
        min_backoff: float = 0.1,
        max_backoff: float = 5.0,
        health_check_interval: float = 15.0,
    ) -> None:
        self._url = url
        self._prefix = prefix
        self._min_backoff = min_backoff
        self._max_backoff = max_backoff
        self._health_check_interval = health_check_interval
        self._local = MemoryBus()
        self._client: redis.Redis | None = None
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        # False from a lost connection until the reader is subscribed again: the hub polls the
        # events table meanwhile, and publishes are skipped instead of waiting on retries.
        self.connected = False

    async def start(self) -> None:
        """Connect and subscribe; raises if Redis cannot be reached now."""
        self._client = redis.Redis.from_url(
            self._url,
            decode_responses=True,
            socket_connect_timeout=2,
            # Few quick retries: a publish runs in the caller's request, after its commit.
            retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), retries=2),
            socket_keepalive=True,
            health_check_interval=self._health_check_interval,
        )
        self._pubsub = await self._subscribe()
        self.connected = True
        self._reader = asyncio.create_task(self._read_forever(), name="atende-redis-bus-reader")

    async def close(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        await self._drop_pubsub()
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
        await self._local.close()

    async def publish(self, topic: str, payload: str) -> None:
        """Send a wake-up. A failure is logged, not raised: the caller's transaction is committed
        already, and subscribers re-read the database on their next wake-up."""
        if self._client is None:
            raise RuntimeError("RedisBus.publish() before start()")
        if not self.connected:  # known down: don't hold the caller's request on connect retries
            log.debug("bus.publish_skipped", bus="redis", topic=topic)
            return
        try:
            await self._client.publish(self._prefix + topic, payload)
        except CONNECTION_ERRORS as exc:  # the client has already retried with backoff
            log.warning("bus.publish_failed", bus="redis", topic=topic, error=repr(exc))

    async def subscribe(self, topic: str) -> AsyncIterator[str]:
        async for payload in self._local.subscribe(topic):
            yield payload

    async def _subscribe(self) -> PubSub:
        """A pub/sub connection whose pattern subscription the server has confirmed."""
        assert self._client is not None
        pubsub = self._client.pubsub()
        try:
            await pubsub.psubscribe(self._prefix + "*")
            # Only once the server confirms does it route publishes (from any client) to us.
            async with asyncio.timeout(10):
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None and message["type"] == "psubscribe":
                        return pubsub
        except BaseException:
            await pubsub.aclose()
            raise

    async def _drop_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(*CONNECTION_ERRORS):
                await pubsub.aclose()

    async def _read_forever(self) -> None:
        backoff = self._min_backoff
        while True:
            try:
                if self._pubsub is None:
                    self._pubsub = await self._subscribe()
                    self.connected = True
                    log.info("bus.reconnected", bus="redis")
                    backoff = self._min_backoff
                # A timeout lets the health check (PING) run on an idle connection.
                message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
            except CONNECTION_ERRORS as exc:
                self.connected = False
                log.warning("bus.connection_lost", bus="redis", error=repr(exc), retry_in=round(backoff, 2))
                await self._drop_pubsub()
                await asyncio.sleep(backoff * random.uniform(0.5, 1.0))
                backoff = min(backoff * 2, self._max_backoff)
                continue
            if message is not None and message["type"] == "pmessage":
                topic = message["channel"].removeprefix(self._prefix)
                await self._local.publish(topic, message["data"])
