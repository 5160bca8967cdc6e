"""The event bus: a wake-up signal between processes, never the data itself.

Actions append events to the `events` table inside their transaction; after commit they
publish the newest id on a topic. Subscribers (SSE streams, job workers) then read the table
from where they were, so a lost or coalesced notification costs latency, never data.
Topics in use: "events" (payload: newest event id) and "jobs" (payload: "" = new work).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol


class EventBus(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def publish(self, topic: str, payload: str) -> None: ...

    def subscribe(self, topic: str) -> AsyncIterator[str]:
        """Yield payloads published on `topic` after the call, until the iterator is closed."""
        ...


class MemoryBus:
    """In-process bus for the embedded mode: one process runs web, worker and timers."""

    def __init__(self, queue_size: int = 1000) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[str]]] = {}
        self._queue_size = queue_size
        self.connected = True  # in-process: never lost

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._subscribers.clear()

    async def publish(self, topic: str, payload: str) -> None:
        for queue in list(self._subscribers.get(topic, ())):
            if queue.full():
                # A slow subscriber only needs the newest wake-up: it re-reads the table anyway.
                queue.get_nowait()
            queue.put_nowait(payload)

    async def subscribe(self, topic: str) -> AsyncIterator[str]:
        async with self._registered(topic) as queue:
            while True:
                yield await queue.get()

    @asynccontextmanager
    async def _registered(self, topic: str) -> AsyncIterator[asyncio.Queue[str]]:
        queue: asyncio.Queue[str] = asyncio.Queue(self._queue_size)
        self._subscribers.setdefault(topic, set()).add(queue)
        try:
            yield queue
        finally:
            self._subscribers.get(topic, set()).discard(queue)
