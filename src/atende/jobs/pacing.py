"""Send pacing: how fast sends may go, per phone number / account and per recipient.

Meta allows a number about `rate_per_second` messages per second and one recipient about one message
every `pair_interval_s`, with short bursts of `pair_burst` borrowing from the future
(shared/providers/whatsapp-meta.md §3.4). Connectors say so in their config; those without these
settings are not paced. `SendPacer` is the service the send job uses: `acquire(connector, address)`
waits until a send fits and reserves it, `delay_for` tells how long without reserving, `penalize`
slows down after a rate-limit answer. `LocalPacer` paces the sends of this process; the send job
also rebuilds each recipient's bucket from the database (`pair_wait`), which holds across processes.
A shared backend (Redis) can implement the same three methods.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel


class PacedConnector(Protocol):
    """What pacing needs of a connector: its id and config (`rate_per_second`, `pair_interval_s`,
    `pair_burst`)."""

    id: int
    config: BaseModel


@dataclass(frozen=True, slots=True)
class Pacing:
    rate: float  # sends per second for the number (0: no limit)
    interval: float  # seconds per send to one recipient (0: no pair limit)
    burst: int  # sends to one recipient at once before the interval applies

    @property
    def active(self) -> bool:
        return self.rate > 0 or self.interval > 0


def pacing_of(config: BaseModel) -> Pacing | None:
    """The connector's pacing settings; None for connectors whose provider paces nothing."""
    if not hasattr(config, "rate_per_second") and not hasattr(config, "pair_interval_s"):
        return None
    return Pacing(rate=float(getattr(config, "rate_per_second", 0) or 0),
                  interval=float(getattr(config, "pair_interval_s", 0) or 0),
                  burst=max(1, int(getattr(config, "pair_burst", 1) or 1)))


class SendPacer(Protocol):
    async def acquire(self, connector: PacedConnector, address: str) -> None:
        """Wait until a send to `address` respects the connector's pacing, and reserve it."""
        ...

    def delay_for(self, connector: PacedConnector, address: str) -> float:
        """Seconds before a send to `address` may start, reserving nothing."""
        ...

    def penalize(self, connector: PacedConnector, address: str, code: str | None, retry_after: float | None) -> None:
        """Slow down after a rate-limit answer (the whole number, or one recipient)."""
        ...

    async def aclose(self) -> None:
        """Release what the pacer holds (a Redis connection); called once when the runtime closes."""
        ...


_EPSILON = 1e-9


def pair_tokens(stamps: Iterable[float], now: float, interval: float, burst: int) -> float:
    """Tokens left at `now` in a recipient's bucket (capacity `burst`, one token back every
    `interval` seconds) after sends at `stamps` (seconds, any order), starting full. Sends made
    faster than the bucket allows (another process, a clock step) leave it in debt (< 0)."""
    capacity = float(max(1, burst))
    tokens, at = capacity, None
    for stamp in sorted(stamps):
        if at is not None:
            tokens = min(capacity, tokens + max(0.0, stamp - at) / interval)
        tokens -= 1.0
        at = stamp
    if at is not None:
        tokens = min(capacity, tokens + max(0.0, now - at) / interval)
    return tokens


def pair_wait(stamps: Iterable[float], now: float, interval: float, burst: int) -> float:
    """Seconds before one more send to a recipient fits Meta's pair limit (≈ one per `interval`,
    short bursts of `burst` borrowing from the future; whatsapp-meta.md §3.4). 0 when it may go."""
    if interval <= 0:
        return 0.0
    tokens = pair_tokens(stamps, now, interval, burst)
    return 0.0 if tokens >= 1.0 - _EPSILON else (1.0 - tokens) * interval


@dataclass(slots=True)
class _Bucket:
    rate: float
    capacity: float
    tokens: float
    at: float

    def reserve(self, now: float) -> float:
        """Take one token (possibly borrowing); seconds to wait before using it."""
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        self.tokens -= 1.0
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


@dataclass(slots=True)
class _PairBucket:
    """One recipient's pair-rate bucket: `tokens` at time `at`, refilled one per interval."""

    tokens: float
    at: float

    def level(self, now: float, interval: float, burst: int) -> float:
        return min(float(burst), self.tokens + max(0.0, now - self.at) / interval)

    def wait(self, now: float, interval: float, burst: int) -> float:
        level = self.level(now, interval, burst)
        return 0.0 if level >= 1.0 - _EPSILON else (1.0 - level) * interval

    def take(self, now: float, interval: float, burst: int) -> None:
        self.tokens = self.level(now, interval, burst) - 1.0
        self.at = now


class LocalPacer:
    """Per-process pacing of sends: a token bucket per connector (phone number, `rate_per_second`)
    and one per recipient (`pair_burst` sends at once, then one per `pair_interval_s`), plus pauses
    after rate-limit errors.

    With several worker processes each one paces its own sends; the per-recipient bucket is also
    checked against the database by the send job (`atende.jobs.sending`), which holds for all.
    """

    PRUNE_AT = 10_000

    def __init__(self, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        self._clock = clock
        self._sleep = sleep
        self._buckets: dict[int, _Bucket] = {}
        self._pairs: dict[tuple[int, str], _PairBucket] = {}
        self._paused: dict[int, float] = {}
        self._pair_paused: dict[tuple[int, str], float] = {}
        self._locks: dict[tuple[int, str], asyncio.Lock] = {}
        self._pruned_at = float("-inf")

    @staticmethod
    def _settings(connector: PacedConnector) -> tuple[float, float, int]:
        pacing = pacing_of(connector.config)
        return (pacing.rate, pacing.interval, pacing.burst) if pacing else (0.0, 0.0, 1)

    def delay_for(self, connector: PacedConnector, address: str) -> float:
        """Seconds before a send to `address` may start, without reserving anything."""
        now = self._clock()
        _, interval, burst = self._settings(connector)
        key = (int(connector.id), address)
        ready = max(self._paused.get(key[0], 0.0), self._pair_paused.get(key, 0.0))
        pair = self._pairs.get(key)
        pair_wait_s = pair.wait(now, interval, burst) if pair is not None and interval > 0 else 0.0
        return max(0.0, ready - now, pair_wait_s)

    async def acquire(self, connector: PacedConnector, address: str) -> None:
        """Wait until a send to `address` on `connector` respects the pacing, and reserve it."""
        rate, interval, burst = self._settings(connector)
        key = (int(connector.id), address)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            while True:
                wait = self.delay_for(connector, address)
                if wait <= 0:
                    break
                await self._sleep(wait)
            if rate > 0:
                bucket = self._buckets.get(key[0])
                now = self._clock()
                if bucket is None or bucket.rate != rate:
                    bucket = self._buckets[key[0]] = _Bucket(rate=rate, capacity=max(1.0, rate), tokens=max(1.0, rate),
                                                             at=now)
                wait = bucket.reserve(now)
                if wait > 0:
                    await self._sleep(wait)
            if interval > 0:
                now = self._clock()
                pair = self._pairs.get(key)
                if pair is None:
                    pair = self._pairs[key] = _PairBucket(tokens=float(burst), at=now)
                pair.take(now, interval, burst)
            else:
                self._pairs.pop(key, None)
        if len(self._locks) > self.PRUNE_AT:
            self._prune()

    def penalize(self, connector: PacedConnector, address: str, code: str | None, retry_after: float | None) -> None:
        """Slow down after a rate-limit answer: the whole number (130429, 4, 80007) or one pair (131056).

        131056 also empties that recipient's bucket: after the pause, one send per interval, no burst."""
        now = self._clock()
        key = (int(connector.id), address)
        if code == "131056":
            _, interval, _ = self._settings(connector)
            self._pair_paused[key] = now + max(retry_after or 0.0, interval, 1.0)
            if interval > 0:
                self._pairs[key] = _PairBucket(tokens=0.0, at=now)
        elif code in ("130429", "4", "80007"):
            self._paused[key[0]] = max(self._paused.get(key[0], 0.0), now + max(retry_after or 0.0, 1.0))

    async def aclose(self) -> None:
        return None

    def _prune(self) -> None:
        now = self._clock()
        if now - self._pruned_at < 60:
            return
        self._pruned_at = now
        for key, pair in list(self._pairs.items()):
            if now - pair.at > 3600:
                del self._pairs[key]
        for key, until in list(self._pair_paused.items()):
            if until < now:
                del self._pair_paused[key]
        for key, lock in list(self._locks.items()):
            if not lock.locked() and key not in self._pairs and key not in self._pair_paused:
                del self._locks[key]
