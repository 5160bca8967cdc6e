"""The live-update hub: one events reader per process, fanned out in memory to the SSE streams."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event

from atende.auth.policy import Viewer
from atende.auth.tokens import token_hash
from atende.realtime import events
from atende.realtime.hub import Hub
from atende.realtime.sse import event_filter_for, stream
from tests.support.harness import Harness


def parse(chunk: str) -> dict[str, Any] | None:
    if not chunk.startswith("id:"):
        return None
    lines = dict(line.split(": ", 1) for line in chunk.strip().split("\n"))
    return {**json.loads(lines["data"]), "event_id": int(lines["id"]), "event": lines["event"]}


async def take(gen: AsyncIterator[str], n: int, limit_s: float = 5.0) -> list[dict[str, Any]]:
    """The next `n` events (a chunk may carry several: a stream writes what piled up at once)."""
    out: list[dict[str, Any]] = []
    async with asyncio.timeout(limit_s):
        async for chunk in gen:
            for message in chunk.split("\n\n"):
                parsed = parse(message)
                if parsed is not None:
                    out.append(parsed)
            if len(out) >= n:
                assert len(out) == n, out
                return out
    return out


async def drain_to_end(gen: AsyncIterator[str], limit_s: float = 5.0) -> list[str]:
    """Every chunk until the stream ends by itself (fails if it does not within `limit_s`)."""
    async with asyncio.timeout(limit_s):
        return [chunk async for chunk in gen]


async def started(gen: AsyncIterator[str]) -> AsyncIterator[str]:
    """Run the generator up to its first chunk, so its subscription exists before the test writes."""
    first = await anext(gen)
    assert first.startswith("retry:")
    return gen


async def note(h: Harness, text: str, conversation_id: int | None = None) -> int:
    """Append one event in its own transaction (as an action would) and return its id."""
    async with h.rt.write() as tx:
        return await events.append(tx, "test.note", {"text": text, "conversation_id": conversation_id},
                                   conversation_id)


@pytest.fixture
def count_event_reads(harness: Harness) -> list[str]:
    """The SELECTs that read the events table, as the engine runs them."""
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM events" in statement:
            seen.append(statement)

    event.listen(harness.rt.engine.sync_engine, "before_cursor_execute", before)
    yield seen
    event.remove(harness.rt.engine.sync_engine, "before_cursor_execute", before)


async def test_one_reader_serves_every_stream(harness: Harness, count_event_reads: list[str]) -> None:
    """50 open streams and 5 commits: every stream gets every event, and the events table is read
    a handful of times (by the hub), not 50 x 5 times."""
    h = harness
    streams = [await started(stream(h.rt, None, None)) for _ in range(50)]
    count_event_reads.clear()
    ids = [await note(h, f"n{i}") for i in range(5)]
    got = await asyncio.gather(*(take(s, 5) for s in streams))
    for received in got:
        assert [e["event_id"] for e in received] == ids
        assert [e["text"] for e in received] == [f"n{i}" for i in range(5)]
    assert len(count_event_reads) <= 10, len(count_event_reads)
    for s in streams:
        await s.aclose()
    assert not h.rt.hub.subscriptions


async def test_with_many_streams_reads_are_spaced_and_one_write_carries_them(
        harness: Harness, count_event_reads: list[str]) -> None:
    """Each read wakes every stream for a write: with many streams the hub spaces its reads (here 200
    streams x 1 ms, capped at 150 ms), so ten quick commits reach a stream in a few writes, not ten."""
    h = harness
    h.rt._hub = Hub(h.rt, coalesce_per_stream_s=0.001, max_coalesce_s=0.15)
    watched = await started(stream(h.rt, None, None))
    others = [h.rt.hub.subscribe(lambda _e: False) for _ in range(199)]  # open streams that show nothing
    count_event_reads.clear()
    ids = [await note(h, f"n{i}") for i in range(10)]
    writes: list[int] = []
    received: list[int] = []
    async with asyncio.timeout(5):
        async for chunk in watched:
            got = [p["event_id"] for m in chunk.split("\n\n") if (p := parse(m)) is not None]
            writes.append(len(got))
            received += got
            if len(received) >= len(ids):
                break
    assert received == ids  # nothing lost or reordered by the spacing
    assert len(writes) <= 3, writes
    assert len(count_event_reads) <= 4, len(count_event_reads)
    for sub in others:
        h.rt.hub.unsubscribe(sub)
    await watched.aclose()


async def test_a_stream_without_id_starts_at_the_newest_event(harness: Harness) -> None:
    h = harness
    await note(h, "old")
    s = await started(stream(h.rt, None, None))
    new = await note(h, "new")
    [got] = await take(s, 1)
    assert got["event_id"] == new and got["text"] == "new"
    await s.aclose()


async def test_last_event_id_replays_from_the_table_then_goes_live(harness: Harness) -> None:
    h = harness
    first = await note(h, "a")
    missed = [await note(h, "b"), await note(h, "c")]
    await h.rt.hub.start()
    await h.rt.hub.read_new()  # the hub is past them: only the table has them now
    s = await started(stream(h.rt, None, first))
    live = await note(h, "d")
    got = await take(s, 3)
    assert [e["event_id"] for e in got] == [*missed, live]  # no duplicate, no gap
    await s.aclose()


async def test_each_stream_sees_only_what_its_filter_accepts(harness: Harness) -> None:
    h = harness
    mine = await started(stream(h.rt, None, None, accept=lambda e: e["conversation_id"] == 7))
    everything = await started(stream(h.rt, None, None))
    other = await note(h, "not yours", 8)
    yours = await note(h, "yours", 7)
    assert [e["event_id"] for e in await take(everything, 2)] == [other, yours]
    assert [e["event_id"] for e in await take(mine, 1)] == [yours]
    # Replay honours the filter too.
    replayed = await take(stream(h.rt, None, other - 1, accept=lambda e: e["conversation_id"] == 8), 1)
    assert [e["event_id"] for e in replayed] == [other]
    await mine.aclose()
    await everything.aclose()


async def test_a_broken_filter_does_not_stop_the_others(harness: Harness) -> None:
    h = harness

    def broken(_e: dict[str, Any]) -> bool:
        raise RuntimeError("bug")

    bad = await started(stream(h.rt, None, None, accept=broken))
    good = await started(stream(h.rt, None, None))
    eid = await note(h, "x")
    assert [e["event_id"] for e in await take(good, 1)] == [eid]
    await bad.aclose()
    await good.aclose()


def test_the_filter_comes_from_the_authorization_layer() -> None:
    """One seam: a stream's filter is auth.policy.event_filter(viewer)."""
    agent = Viewer(3, "agent", frozenset({1}))
    accept = event_filter_for(agent)
    mine = {"type": "message.created", "conversation_id": 7,
            "payload": {"conversation_id": 7, "team_id": None, "assignee_id": 3, "conversation_status": "open"}}
    other = {"type": "message.created", "conversation_id": 8,
             "payload": {"conversation_id": 8, "team_id": 2, "assignee_id": 4, "conversation_status": "open"}}
    assert accept(mine) and not accept(other)
    assert event_filter_for(Viewer(9, "admin"))(other)


async def test_a_slow_client_is_cut_off_with_a_resumable_id(harness: Harness) -> None:
    h = harness
    h.rt.hub.max_queue = 5
    slow = await started(stream(h.rt, None, None))
    fast = await started(stream(h.rt, None, None))
    first = await note(h, "0")
    [got] = await take(slow, 1)
    assert got["event_id"] == first
    assert [e["event_id"] for e in await take(fast, 1)] == [first]
    ids = [first]
    for i in range(1, 12):  # the slow one takes nothing meanwhile; the fast one keeps up
        ids.append(await note(h, str(i)))
        assert [e["event_id"] for e in await take(fast, 1)] == [ids[-1]]
    chunks = await drain_to_end(slow)  # it ends by itself: no unbounded buffer
    assert len(chunks) == 1 and "event: stream.cut" in chunks[0]
    cut = parse(chunks[0])
    assert cut is not None and cut["resume_after"] == first and cut["event_id"] == first
    assert h.rt.hub.cut_offs == 1 and len(h.rt.hub.subscriptions) == 1
    # Resuming from that id replays everything it missed, from the table.
    resumed = await take(stream(h.rt, None, cut["resume_after"]), len(ids) - 1)
    assert [e["event_id"] for e in resumed] == ids[1:]
    await fast.aclose()


async def test_sessions_channel_closes_a_users_streams(harness: Harness) -> None:
    h = harness
    ana = [await started(stream(h.rt, None, None, user_id=5, session_hash=token_hash("cookie-1"))),
           await started(stream(h.rt, None, None, user_id=5, session_hash=token_hash("cookie-2")))]
    bruno = await started(stream(h.rt, None, None, user_id=6, session_hash=token_hash("cookie-3")))
    await h.rt.bus.publish("sessions", json.dumps({"session_hash": token_hash("cookie-2")}))
    assert await drain_to_end(ana[1]) == []  # logout closed that session's stream only
    await h.rt.bus.publish("sessions", json.dumps({"user_id": 5}))
    assert await drain_to_end(ana[0]) == []
    eid = await note(h, "still here")
    assert [e["event_id"] for e in await take(bruno, 1)] == [eid]
    await h.rt.bus.publish("sessions", "not json")  # ignored, logged
    await h.rt.bus.publish("sessions", json.dumps({"user_id": 6}))
    assert await drain_to_end(bruno) == []


async def test_keepalives_while_idle(harness: Harness) -> None:
    harness.rt.hub.keepalive_s = 0.05
    s = await started(stream(harness.rt, None, None))
    async with asyncio.timeout(5):
        assert await anext(s) == ": keepalive\n\n"
    await s.aclose()


class SilentBus:
    """A bus that is down: publishes vanish and no wake-up ever arrives."""

    connected = False

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def publish(self, topic: str, payload: str) -> None:
        return None

    async def subscribe(self, topic: str) -> AsyncIterator[str]:
        await asyncio.Event().wait()
        yield ""  # pragma: no cover


async def test_without_a_bus_the_hub_polls_the_table(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    h = harness
    monkeypatch.setattr(h.rt, "bus", SilentBus())
    h.rt._hub = Hub(h.rt, poll_s=60, fallback_poll_s=0.05)
    s = await started(stream(h.rt, None, None))
    eid = await note(h, "polled")
    assert [e["event_id"] for e in await take(s, 1, limit_s=3)] == [eid]
    await s.aclose()


@pytest.mark.postgres
async def test_ids_committed_out_of_order_are_still_delivered(postgres_url: str) -> None:
    """PostgreSQL hands out id 10 before id 11 but may commit it after: the hub must not skip it."""
    from tests.support.harness import close_harness, make_harness

    h = await make_harness(postgres_url)
    try:
        s = await started(stream(h.rt, None, None))
        slow_started, release = asyncio.Event(), asyncio.Event()

        async def slow() -> int:
            async with h.rt.write() as tx:
                eid = await events.append(tx, "test.note", {"text": "slow"})
                slow_started.set()
                await release.wait()
            return eid

        slow_task = asyncio.create_task(slow())
        await slow_started.wait()
        fast = await note(h, "fast")
        [got] = await take(s, 1)
        assert got["event_id"] == fast
        release.set()
        slow_id = await slow_task
        assert slow_id < fast
        [late] = await take(s, 1)
        assert late["event_id"] == slow_id and late["text"] == "slow"
        await s.aclose()
    finally:
        await close_harness(h)
