"""Event bus over PostgreSQL LISTEN/NOTIFY, for several processes without Redis.

Topic `t` is the channel `atende_t`. Each process holds one dedicated asyncpg connection
(application_name `atende-bus`): it LISTENs on every topic subscribed so far (the topics in use,
"events" and "jobs", from `start()` on) and sends the NOTIFYs. Notifications are fanned out to the
local subscribers through a `MemoryBus`. A lost connection is noticed (termination callback, or
a failed ping when idle) and re-opened with backoff; notifications sent meanwhile are lost,
which only costs latency (see `bus.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Iterable

import asyncpg
import structlog
from sqlalchemy.engine import make_url

from atende.realtime.bus import MemoryBus

log = structlog.get_logger(__name__)

NOTIFY_PAYLOAD_LIMIT = 7999  # bytes; PostgreSQL rejects longer payloads


def asyncpg_dsn(url: str) -> str:
    """`postgresql+asyncpg://u:p@h/db` (a SQLAlchemy URL) -> `postgresql://u:p@h/db` (for asyncpg)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class PostgresBus:
    def __init__(
        self,
        dsn: str,
        *,
        topics: Iterable[str] = ("events", "jobs"),
        prefix: str = "atende_",
        min_backoff: float = 0.1,
        max_backoff: float = 5.0,
        ping_interval: float = 15.0,
    ) -> None:
        self._dsn = asyncpg_dsn(dsn)
        self._topics = set(topics)
        self._prefix = prefix
        self._min_backoff = min_backoff
        self._max_backoff = max_backoff
        self._ping_interval = ping_interval
        self._local = MemoryBus()
        self._conn: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()  # one query at a time on the connection
        self._lost = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        """False while the connection is lost: the hub polls the events table meanwhile."""
        return self._conn is not None and not self._lost.is_set() and not self._conn.is_closed()

    async def start(self) -> None:
        """Connect and LISTEN; raises if PostgreSQL cannot be reached now."""
        self._conn = await self._connect()
        self._supervisor = asyncio.create_task(self._supervise(), name="atende-pg-bus")

    async def close(self) -> None:
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None:
            supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor
        async with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                try:
                    await conn.close(timeout=5)
                except Exception:
                    conn.terminate()
        await self._local.close()

    async def publish(self, topic: str, payload: str) -> None:
        """Send a wake-up. A failure is logged, not raised: the caller's transaction is committed
        already, and subscribers re-read the database on their next wake-up."""
        if len(payload.encode()) > NOTIFY_PAYLOAD_LIMIT:
            raise ValueError("bus payloads are wake-ups (an id), not data")
        async with self._lock:
            if self._conn is None or self._conn.is_closed():
                log.warning("bus.publish_dropped", bus="postgres", topic=topic, reason="disconnected")
                self._lost.set()
                return
            try:
                await self._conn.execute("SELECT pg_notify($1, $2)", self._prefix + topic, payload)
            except Exception as exc:  # a dying connection raises more than PostgresConnectionError
                log.warning("bus.publish_failed", bus="postgres", topic=topic, error=repr(exc))
                self._lost.set()

    async def subscribe(self, topic: str) -> AsyncIterator[str]:
        if topic not in self._topics:
            self._topics.add(topic)
            async with self._lock:
                if self._conn is not None:  # else the reconnection will LISTEN on it
                    try:
                        await self._conn.add_listener(self._prefix + topic, self._on_notification)
                    except Exception as exc:
                        log.warning("bus.listen_failed", bus="postgres", topic=topic, error=repr(exc))
                        self._lost.set()
        async for payload in self._local.subscribe(topic):
            yield payload

    async def _connect(self) -> asyncpg.Connection:
        conn = await asyncpg.connect(self._dsn, timeout=10, server_settings={"application_name": "atende-bus"})
        try:
            for topic in sorted(self._topics):
                await conn.add_listener(self._prefix + topic, self._on_notification)
        except BaseException:
            conn.terminate()
            raise
        self._lost.clear()
        conn.add_termination_listener(self._on_termination)
        return conn

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()

    def _on_termination(self, conn: asyncpg.Connection) -> None:
        if conn is self._conn:
            self._lost.set()

    async def _on_notification(self, conn: asyncpg.Connection, pid: int, channel: str, payload: str) -> None:
        await self._local.publish(channel.removeprefix(self._prefix), payload)

    async def _supervise(self) -> None:
        """Ping the connection when idle; re-open it, with backoff, when it is lost."""
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._ping_interval):
                    await self._lost.wait()
            if not self._lost.is_set() and await self._ping():
                continue
            log.warning("bus.connection_lost", bus="postgres")
            backoff = self._min_backoff
            while True:
                async with self._lock:
                    await self._drop_connection()
                    try:
                        self._conn = await self._connect()
                    except Exception as exc:  # refused, DNS, auth, server starting up: retry
                        error = repr(exc)
                    else:
                        log.info("bus.reconnected", bus="postgres")
                        break
                log.warning("bus.reconnect_failed", bus="postgres", error=error, retry_in=round(backoff, 2))
                await asyncio.sleep(backoff * random.uniform(0.5, 1.0))
                backoff = min(backoff * 2, self._max_backoff)

    async def _ping(self) -> bool:
        async with self._lock:
            if self._conn is None or self._conn.is_closed():
                return False
            try:
                await self._conn.execute("SELECT 1", timeout=10)
            except Exception as exc:
                log.warning("bus.ping_failed", bus="postgres", error=repr(exc))
                return False
            return True
