"""The group committer's write buffer: events, jobs and counters of a batch written before its commit.

Several units share one transaction; what they append must land exactly as if each had been written
at once: events in append order with the newest id announced after the commit, duplicate jobs
ignored, counters summed, and a failing unit failing alone with nothing of it stored.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from atende.actions import ingest
from atende.db.tables import connectors, events, jobs
from atende.db.tx import Tx
from atende.jobs.queue import enqueue
from atende.realtime import events as event_log
from tests.support.harness import Harness


def unit(n: int, connector_id: int, *, fail: bool = False) -> Any:
    async def work(tx: Tx) -> int:
        assert tx.buffer is not None  # the group-commit path buffers
        await event_log.append(tx, "test.unit", {"n": n, "part": 1})
        await enqueue(tx, "noop", {"n": n}, dedup_key="shared")  # one pending job for every unit
        await enqueue(tx, "noop", {"n": n})
        await event_log.append(tx, "test.unit", {"n": n, "part": 2})
        tx.buffer.count(ingest._COUNT_RECEIVED, connector_id, n)
        if fail:
            raise ValueError("this unit is bad")
        return n
    return work


async def test_a_batch_writes_what_its_units_appended(harness: Harness) -> None:
    rt = harness.rt
    connector_id = int((await harness.kolmeya_connector())["id"])
    async with rt.read() as conn:
        before = await event_log.last_id(conn)
        received = await conn.scalar(select(connectors.c.received_count).where(connectors.c.id == connector_id))
    announced: list[str] = []

    async def listen() -> None:
        async for payload in rt.bus.subscribe("events"):
            announced.append(payload)

    listener = asyncio.create_task(listen())
    await asyncio.sleep(0.05)
    results = await asyncio.gather(*(rt.committer.run(unit(n, connector_id)) for n in range(1, 6)),
                                   rt.committer.run(unit(99, connector_id, fail=True)), return_exceptions=True)
    await asyncio.sleep(0.1)
    listener.cancel()
    assert results[:5] == [1, 2, 3, 4, 5]
    assert isinstance(results[5], ValueError)
    async with rt.read() as conn:
        rows = list(await conn.execute(select(events.c.id, events.c.payload).where(
            events.c.id > before, events.c.type == "test.unit").order_by(events.c.id)))
        job_rows = list(await conn.execute(select(jobs.c.payload, jobs.c.dedup_key).where(jobs.c.kind == "noop")))
        after = await conn.scalar(select(connectors.c.received_count).where(connectors.c.id == connector_id))
    # Each unit's two events, in the order they were appended, and nothing of the failed unit.
    assert [(r.payload["n"], r.payload["part"]) for r in rows] == [(n, p) for n in range(1, 6) for p in (1, 2)]
    assert str(rows[-1].id) in announced
    assert sorted(r.payload["n"] for r in job_rows if r.dedup_key is None) == [1, 2, 3, 4, 5]
    assert len([r for r in job_rows if r.dedup_key == "shared"]) == 1
    assert after - received == 15
