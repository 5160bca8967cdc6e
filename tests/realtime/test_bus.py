"""The three EventBus adapters behave alike: memory, Redis (real server), PostgreSQL (real server)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import asyncpg
import pytest
import redis.asyncio as aioredis

from atende.realtime.bus import EventBus, MemoryBus
from atende.realtime.factory import make_bus
from atende.realtime.pg_bus import PostgresBus, asyncpg_dsn
from atende.realtime.redis_bus import RedisBus
from tests.support.services import RedisServer, require, start_redis

PROBE = "probe:"


class Collector:
    """Consumes `bus.subscribe(topic)` in a task and records every payload."""

    def __init__(self, bus: EventBus, topic: str) -> None:
        self.topic = topic
        self.received: list[str] = []
        self._changed = asyncio.Condition()
        self.task = asyncio.create_task(self._collect(bus.subscribe(topic)))

    async def _collect(self, stream: AsyncIterator[str]) -> None:
        async for payload in stream:
            async with self._changed:
                self.received.append(payload)
                self._changed.notify_all()

    @property
    def payloads(self) -> list[str]:
        """What was received, without the probes."""
        return [p for p in self.received if not p.startswith(PROBE)]

    async def wait_for(self, predicate: Callable[[Collector], bool], within: float = 10) -> None:
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: predicate(self))

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


_probes = itertools.count()


async def connected(publisher: EventBus, *collectors: Collector, within: float = 15) -> None:
    """Publish probes until every collector receives one: from then on nothing published is lost.

    (Subscriptions are set up asynchronously: at the first iteration, and across the network.)"""
    patience = 0.01
    async with asyncio.timeout(within):
        while True:
            probe = f"{PROBE}{next(_probes)}"
            for topic in {c.topic for c in collectors}:
                await publisher.publish(topic, probe)
            try:
                for collector in collectors:
                    await collector.wait_for(lambda c, probe=probe: probe in c.received, within=patience)
                return
            except TimeoutError:
                patience = min(patience * 2, 0.25)


ADAPTERS = [
    pytest.param("memory"),
    pytest.param("redis", marks=pytest.mark.redis),
    pytest.param("postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=ADAPTERS)
def new_bus(request: pytest.FixtureRequest) -> Callable[[], EventBus]:
    """Makes (unstarted) buses of one adapter; two of them stand for two processes."""
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        return lambda: RedisBus(url)
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        return lambda: PostgresBus(url)
    shared = MemoryBus()  # one process only: every "instance" is the same bus
    return lambda: shared


@pytest.fixture
async def bus(new_bus: Callable[[], EventBus]) -> AsyncIterator[EventBus]:
    instance = new_bus()
    await instance.start()
    yield instance
    await instance.close()


@pytest.fixture
async def collectors() -> AsyncIterator[Callable[[EventBus, str], Collector]]:
    made: list[Collector] = []

    def collect(bus: EventBus, topic: str) -> Collector:
        made.append(Collector(bus, topic))
        return made[-1]

    yield collect
    for collector in made:
        await collector.stop()


async def test_subscriber_receives_what_is_published_after_it_subscribed(bus, collectors):
    events = collectors(bus, "events")
    await connected(bus, events)
    for event_id in ("41", "42", "43"):
        await bus.publish("events", event_id)
    await events.wait_for(lambda c: len(c.payloads) == 3)
    assert events.payloads == ["41", "42", "43"]


async def test_two_subscribers_both_receive(bus, collectors):
    first, second = collectors(bus, "events"), collectors(bus, "events")
    await connected(bus, first, second)
    await bus.publish("events", "7")
    for collector in (first, second):
        await collector.wait_for(lambda c: c.payloads == ["7"])


async def test_topics_are_isolated(bus, collectors):
    events, jobs = collectors(bus, "events"), collectors(bus, "jobs")
    await connected(bus, events, jobs)
    await bus.publish("events", "9")
    await bus.publish("jobs", "")
    await events.wait_for(lambda c: c.payloads == ["9"])
    await jobs.wait_for(lambda c: c.payloads == [""])
    await bus.publish("events", "10")
    await events.wait_for(lambda c: c.payloads == ["9", "10"])
    assert jobs.payloads == [""]


async def test_other_topics_work_too(bus, collectors):
    other = collectors(bus, "presence")
    await connected(bus, other)
    await bus.publish("presence", "agent:3")
    await other.wait_for(lambda c: c.payloads == ["agent:3"])


async def test_a_second_instance_reaches_the_first(new_bus, bus, collectors):
    """Two processes: one publishes, the other's subscriber wakes up."""
    other = new_bus()
    await other.start()
    try:
        events = collectors(bus, "events")
        await connected(other, events)
        await other.publish("events", "100")
        await events.wait_for(lambda c: c.payloads == ["100"])
    finally:
        if other is not bus:
            await other.close()


def _bus_tasks() -> set[asyncio.Task[object]]:
    return {t for t in asyncio.all_tasks() if t.get_name().startswith("atende-")}


async def test_close_ends_cleanly(new_bus, collectors):
    bus = new_bus()
    await bus.start()
    events = collectors(bus, "events")
    await connected(bus, events)
    await asyncio.wait_for(bus.close(), 10)
    assert not _bus_tasks()
    await asyncio.wait_for(events.stop(), 5)


# ---- Redis specifics ---------------------------------------------------------------------------


@pytest.mark.redis
async def test_redis_channel_names_and_a_publish_from_another_connection(redis_url, collectors):
    bus = RedisBus(redis_url)
    await bus.start()
    raw = aioredis.Redis.from_url(redis_url)
    try:
        events = collectors(bus, "events")
        await connected(bus, events)
        assert await raw.publish("atende:events", "55") == 1  # one process subscribed
        await events.wait_for(lambda c: c.payloads == ["55"])
    finally:
        await raw.aclose()
        await bus.close()


@pytest.mark.redis
async def test_redis_close_releases_the_connections(redis_url, collectors):
    raw = aioredis.Redis.from_url(redis_url)
    try:
        before = len(await raw.client_list())
        bus = RedisBus(redis_url)
        await bus.start()
        await bus.publish("events", "1")
        assert len(await raw.client_list()) > before

        async def released() -> bool:
            return len(await raw.client_list()) == before

        await bus.close()
        await eventually(released)
    finally:
        await raw.aclose()


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A Redis server of this test's own, to restart."""
    server = require(start_redis)
    yield server
    server.cleanup()


@pytest.mark.redis
async def test_redis_bus_survives_a_server_restart(own_redis, collectors):
    bus = RedisBus(own_redis.url, min_backoff=0.05, max_backoff=0.5)
    await bus.start()
    try:
        events = collectors(bus, "events")
        await connected(bus, events)
        await asyncio.to_thread(own_redis.stop)
        await bus.publish("events", "lost")  # logged, not raised: the caller has committed
        await asyncio.sleep(1.5)  # longer than the client's own retries: the bus reconnects
        await asyncio.to_thread(own_redis.start)
        await connected(bus, events, within=20)
        await bus.publish("events", "after")
        await events.wait_for(lambda c: "after" in c.payloads)
        assert "lost" not in events.payloads
    finally:
        await bus.close()


# ---- PostgreSQL specifics ----------------------------------------------------------------------


@pytest.mark.postgres
async def test_postgres_channel_names_and_a_notify_from_another_connection(postgres_url, collectors):
    bus = PostgresBus(postgres_url)
    await bus.start()
    raw = await asyncpg.connect(asyncpg_dsn(postgres_url))
    try:
        events = collectors(bus, "events")
        await connected(bus, events)
        await raw.execute("SELECT pg_notify('atende_events', '77')")
        async with raw.transaction():  # NOTIFY in a transaction is delivered at commit
            await raw.execute("NOTIFY atende_events, '78'")
        await events.wait_for(lambda c: c.payloads == ["77", "78"])
    finally:
        await raw.close()
        await bus.close()


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 10) -> None:
    """Wait until `check()` holds: servers notice closed connections asynchronously."""
    async with asyncio.timeout(within):
        while True:
            if await check():
                return
            await asyncio.sleep(0.02)  # polling a server: there is no local event to await


BUS_BACKENDS = """
    SELECT pid FROM pg_stat_activity WHERE application_name = 'atende-bus' AND datname = current_database()
"""


async def _bus_backends(conn: asyncpg.Connection) -> list[int]:
    return [row["pid"] for row in await conn.fetch(BUS_BACKENDS)]


async def _one_other_backend(conn: asyncpg.Connection, old_pid: int) -> bool:
    pids = await _bus_backends(conn)
    return len(pids) == 1 and pids[0] != old_pid


async def _no_backend(conn: asyncpg.Connection) -> bool:
    return await _bus_backends(conn) == []


@pytest.mark.postgres
async def test_postgres_bus_reconnects_when_its_connection_is_killed(postgres_url, collectors):
    bus = PostgresBus(postgres_url, min_backoff=0.05, max_backoff=0.5)
    await bus.start()
    raw = await asyncpg.connect(asyncpg_dsn(postgres_url))
    try:
        events = collectors(bus, "events")
        await connected(bus, events)
        [pid] = await _bus_backends(raw)
        assert await raw.fetchval("SELECT pg_terminate_backend($1)", pid)
        await connected(bus, events, within=20)
        await eventually(lambda: _one_other_backend(raw, pid))
        await raw.execute("SELECT pg_notify('atende_events', '88')")
        await events.wait_for(lambda c: c.payloads == ["88"])
        await bus.close()
        await eventually(lambda: _no_backend(raw))
    finally:
        await bus.close()
        await raw.close()


@pytest.mark.postgres
async def test_postgres_bus_rejects_data_as_payload(postgres_url):
    bus = PostgresBus(postgres_url)
    await bus.start()
    try:
        with pytest.raises(ValueError):
            await bus.publish("events", "x" * 8000)
    finally:
        await bus.close()


# ---- factory -----------------------------------------------------------------------------------


def test_factory_picks_the_adapter():
    pg = "postgresql+asyncpg://u:secret@db.example:5433/atende"
    assert isinstance(make_bus("sqlite+aiosqlite:///var/atende.db", None), MemoryBus)
    assert isinstance(make_bus(pg, None), PostgresBus)
    assert isinstance(make_bus(pg, "redis://cache:6379/0"), RedisBus)
    assert isinstance(make_bus("sqlite+aiosqlite:///var/atende.db", "redis://cache:6379/0"), RedisBus)
    assert isinstance(make_bus(pg, ""), PostgresBus)


def test_asyncpg_dsn_drops_the_driver_and_keeps_the_password():
    dsn = asyncpg_dsn("postgresql+asyncpg://u:s%40cret@db.example:5433/atende")
    assert dsn == "postgresql://u:s%40cret@db.example:5433/atende"
