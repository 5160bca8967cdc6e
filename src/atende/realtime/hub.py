"""One reader of the events table per process, fanned out in memory to every SSE stream.

Before this, every open stream queried the events table on every commit (cost: streams x commits).
Now the hub reads each new batch once, formats each event once, and hands it to the streams whose
filter accepts it; a stream never touches the database except to replay what it missed
(Last-Event-ID), which still reads the table.

- Wake-ups come from the bus ("events"). The hub also polls: every `poll_s` as a safety net, and
  every `fallback_poll_s` while the bus says it is disconnected (Redis down), so live updates keep
  flowing, a little later, and speed up again when the bus reconnects.
- PostgreSQL hands out ids before commit, so id 10 may become visible after id 11. The hub keeps
  the ids it skipped for `gap_ttl_s` and delivers them if they show up.
- Reads are spaced by at least `coalesce_per_stream_s` x the number of open streams (at most
  `max_coalesce_s`): each read wakes every stream for one write, so with a thousand streams a read
  per commit would spend the whole core on writes. Spaced, one write carries every event of the
  interval; with a handful of streams the spacing is microseconds, so nothing waits.
- A stream buffers at most `max_queue` events. A client too slow to take them is cut off: the stream
  ends with a `stream.cut` event naming the last id it delivered, and the browser's EventSource
  reconnects with Last-Event-ID, which replays the rest from the table.
- The bus channel "sessions" closes streams: `{"user_id": N}` every stream of that user,
  `{"session_hash": H}` the streams opened with that session cookie (published on deactivation and
  logout).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from atende.db.app_settings import SettingsCache
from atende.privacy.previews import mask_payload
from atende.realtime import events
from atende.realtime.bus import EventBus


class HubHost(Protocol):
    """What the hub needs of the runtime: read transactions, the bus and the UI settings (preview
    masking) (kept narrow, so the runtime can own a hub without an import cycle)."""

    bus: EventBus
    app_settings: SettingsCache

    def read(self) -> AbstractAsyncContextManager[AsyncConnection]: ...

log = structlog.get_logger(__name__)

EventFilter = Callable[[dict[str, Any]], bool]
READ_BATCH = 500
MAX_GAPS = 1000  # ids remembered as "maybe committed later"; more means a big rollback, not a race


def accept_all(_event: dict[str, Any]) -> bool:
    return True


def format_event(row: dict[str, Any], mask_previews: bool = True) -> str:
    """One event as an SSE message (`id`, `event`, `data`); previews masked (LGPD: notifications
    show them) unless the installation switched masking off."""
    payload = mask_payload(row["payload"] or {}, mask_previews)
    data = json.dumps({"type": row["type"], **payload}, separators=(",", ":"), default=str)
    return f"id: {row['id']}\nevent: {row['type']}\ndata: {data}\n\n"


class Closed(Exception):
    """The stream was closed: its session ended, or the hub is shutting down."""


class CutOff(Exception):
    """The client fell more than `max_queue` events behind; it must resume from the table."""


@dataclass(eq=False, slots=True)
class Subscription:
    """One SSE stream's place in the hub: a filter and a bounded queue of formatted events."""

    accept: EventFilter
    user_id: int | None
    session_hash: str | None
    max_queue: int
    queue: deque[tuple[int, str]] = field(default_factory=deque)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    ended: type[Exception] | None = None

    def offer(self, batch: list[tuple[int, dict[str, Any], str]]) -> bool:
        """Queue the events of a batch the filter accepts (one wake-up for all of them); False when the
        stream has to be cut off."""
        accepted = 0
        for event_id, row, text in batch:
            try:
                if not self.accept(row):
                    continue
            except Exception:  # a broken filter must not stop the fan-out to everyone else
                log.exception("hub.filter_failed", event_id=event_id)
                continue
            if len(self.queue) >= self.max_queue:
                return False
            self.queue.append((event_id, text))
            accepted += 1
        if accepted:
            self.ready.set()
        return True

    def end(self, reason: type[Exception]) -> None:
        self.ended = reason
        self.queue.clear()
        self.ready.set()

    async def take(self) -> list[tuple[int, str]]:
        """Everything queued (one write to the client however many events piled up); an empty list
        when the hub's keepalive tick woke it with nothing to send."""
        if not self.queue and self.ended is None:
            self.ready.clear()
            await self.ready.wait()
        if self.ended is not None:
            raise self.ended()
        items = list(self.queue)
        self.queue.clear()
        return items


class Hub:
    def __init__(self, rt: HubHost, *, poll_s: float = 2.0, fallback_poll_s: float = 0.5,
                 max_queue: int = 1000, gap_ttl_s: float = 10.0, keepalive_s: float = 15.0,
                 coalesce_per_stream_s: float = 50e-6, max_coalesce_s: float = 0.05) -> None:
        self.rt = rt
        self.coalesce_per_stream_s = coalesce_per_stream_s
        self.max_coalesce_s = max_coalesce_s
        self.keepalive_s = keepalive_s
        self.poll_s = poll_s
        self.fallback_poll_s = fallback_poll_s
        self.max_queue = max_queue
        self.gap_ttl_s = gap_ttl_s
        self.position = 0  # newest event id read so far
        self.subscriptions: set[Subscription] = set()
        self.reads = 0  # batches read from the table (tests and metrics)
        self.cut_offs = 0
        self._gaps: dict[int, float] = {}  # id skipped -> when first noticed
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._started: asyncio.Future[None] | None = None

    # ---- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        """Read the newest id and start the reader; idempotent (the first stream starts it)."""
        if self._started is None:
            self._started = asyncio.get_running_loop().create_future()
            try:
                async with self.rt.read() as conn:
                    self.position = await events.last_id(conn)
            except BaseException as exc:
                self._started.set_exception(exc)
                self._started.exception()  # retrieved: a later start() raises it again below
                self._started = None
                raise
            self._tasks = [
                asyncio.create_task(self._listen("events", self._on_wake), name="atende-hub-wake"),
                asyncio.create_task(self._listen("sessions", self._on_session), name="atende-hub-sessions"),
                asyncio.create_task(self._read_forever(), name="atende-hub-reader"),
                asyncio.create_task(self._keepalive_forever(), name="atende-hub-keepalive"),
            ]
            await asyncio.sleep(0)  # let the listeners register with the bus before streams rely on them
            self._started.set_result(None)
        await self._started

    async def close(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for sub in list(self.subscriptions):
            sub.end(Closed)
        self.subscriptions.clear()
        self._started = None

    # ---- streams ---------------------------------------------------------------------------------
    def subscribe(self, accept: EventFilter = accept_all, *, user_id: int | None = None,
                  session_hash: str | None = None) -> Subscription:
        """Register a stream: it receives every event read after this call that `accept` lets through."""
        sub = Subscription(accept, user_id, session_hash, self.max_queue)
        self.subscriptions.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self.subscriptions.discard(sub)

    def close_streams(self, *, user_id: int | None = None, session_hash: str | None = None) -> int:
        """End the streams of a user or of a session; returns how many."""
        closing = [s for s in self.subscriptions
                   if (user_id is not None and s.user_id == user_id)
                   or (session_hash is not None and s.session_hash == session_hash)]
        for sub in closing:
            self.subscriptions.discard(sub)
            sub.end(Closed)
        return len(closing)

    def wake(self) -> None:
        self._wake.set()

    async def _keepalive_forever(self) -> None:
        """Wake every stream now and then so it writes a keepalive (one timer for all streams,
        not one per stream per event)."""
        while True:
            await asyncio.sleep(self.keepalive_s)
            for sub in self.subscriptions:
                sub.ready.set()

    # ---- the reader ------------------------------------------------------------------------------
    def _bus_connected(self) -> bool:
        return bool(getattr(self.rt.bus, "connected", True))

    async def _listen(self, topic: str, handle: Callable[[str], None]) -> None:
        while True:  # a bus whose subscribe() ends or fails is re-subscribed; polling covers the gap
            try:
                async for payload in self.rt.bus.subscribe(topic):
                    handle(payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("hub.subscribe_failed", topic=topic, error=repr(exc))
            await asyncio.sleep(self.fallback_poll_s)

    def _on_wake(self, payload: str) -> None:
        if not payload.isdigit() or int(payload) > self.position or self._gaps:
            self._wake.set()

    def _on_session(self, payload: str) -> None:
        try:
            data = json.loads(payload)
            user_id = data.get("user_id")
            session_hash = data.get("session_hash")
        except (ValueError, AttributeError):
            log.warning("hub.bad_session_message")
            return
        closed = self.close_streams(user_id=user_id if isinstance(user_id, int) else None,
                                    session_hash=session_hash if isinstance(session_hash, str) else None)
        if closed:
            log.info("hub.streams_closed", count=closed, user_id=user_id)

    async def _read_forever(self) -> None:
        last_read = time.monotonic()
        while True:
            # Short slices, so that a bus lost in the middle of a long wait switches to polling now.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.fallback_poll_s):
                    await self._wake.wait()
            due = self.fallback_poll_s if not self._bus_connected() else self.poll_s
            if not self._wake.is_set() and time.monotonic() - last_read < due:
                continue
            spacing = min(self.max_coalesce_s, self.coalesce_per_stream_s * len(self.subscriptions))
            wait = last_read + spacing - time.monotonic()
            if wait > 0:  # many streams: let the events of the interval share one write per stream
                await asyncio.sleep(wait)
            self._wake.clear()
            last_read = time.monotonic()
            try:
                await self.read_new()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # database down: streams stay open, the next poll retries
                log.warning("hub.read_failed", error=repr(exc))
                await asyncio.sleep(self.fallback_poll_s)

    async def read_new(self) -> int:
        """Read what was committed since the last read and fan it out; returns how many events."""
        delivered = 0
        await self.rt.app_settings.mask_previews(self.rt)  # refreshes the cached setting _fan_out reads
        while True:
            async with self.rt.read() as conn:
                rows = await events.since(conn, self.position, READ_BATCH)
                late = await self._late_rows(conn) if self._gaps else []
            self.reads += 1
            if late:
                self._fan_out(late)
                delivered += len(late)
            if not rows:
                return delivered
            self._note_gaps(rows)
            self.position = int(rows[-1]["id"])
            self._fan_out(rows)
            delivered += len(rows)
            if len(rows) < READ_BATCH:
                return delivered

    def _note_gaps(self, rows: list[dict[str, Any]]) -> None:
        now = time.monotonic()
        expected = self.position + 1
        for row in rows:
            event_id = int(row["id"])
            if event_id > expected and len(self._gaps) < MAX_GAPS:
                for missing in range(expected, min(event_id, expected + MAX_GAPS - len(self._gaps))):
                    self._gaps[missing] = now
            expected = event_id + 1

    async def _late_rows(self, conn: Any) -> list[dict[str, Any]]:
        horizon = time.monotonic() - self.gap_ttl_s
        for event_id in [i for i, seen in self._gaps.items() if seen < horizon]:
            del self._gaps[event_id]  # rolled back, most likely: it will never appear
        if not self._gaps:
            return []
        rows = await events.by_ids(conn, list(self._gaps))
        for row in rows:
            self._gaps.pop(int(row["id"]), None)
        return rows

    def _fan_out(self, rows: list[dict[str, Any]]) -> None:
        if not self.subscriptions:
            return
        mask = self.rt.app_settings.peek_mask_previews()
        batch = [(int(row["id"]), row, format_event(row, mask)) for row in rows]  # formatted once for everyone
        for sub in list(self.subscriptions):
            if not sub.offer(batch):
                self.subscriptions.discard(sub)
                sub.end(CutOff)
                self.cut_offs += 1


async def replay(rt: HubHost, after: int, accept: EventFilter, limit: int) -> AsyncIterator[dict[str, Any]]:
    """The events after `after` that `accept` lets through, from the table, oldest first."""
    while True:
        async with rt.read() as conn:
            rows = await events.since(conn, after, limit)
        for row in rows:
            after = int(row["id"])
            if accept(row):
                yield row
        if len(rows) < limit:
            return
