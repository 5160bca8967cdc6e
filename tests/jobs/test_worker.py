"""The jobs worker: leases, retries with backoff, dead jobs, periodic rescheduling."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, update

from atende.channels.base import ProviderError
from atende.db.tables import jobs
from atende.db.types import utcnow
from atende.jobs.queue import enqueue
from atende.jobs.worker import BACKOFF_CAP_S, Reschedule, Worker, backoff
from tests.support.harness import Harness


@given(st.integers(min_value=1, max_value=50), st.integers())
def test_backoff_grows_with_jitter_and_is_capped(attempts: int, seed: int) -> None:
    delay = backoff(attempts, random.Random(seed))
    base = min(BACKOFF_CAP_S, 2.0 * 2 ** (attempts - 1))
    assert 0.5 * base <= delay <= 1.5 * base


async def _job(h: Harness, kind: str) -> Any:
    async with h.rt.read() as conn:
        return (await conn.execute(select(jobs).where(jobs.c.kind == kind))).first()


async def test_transient_failure_retries_then_dies_visibly(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    calls = 0

    async def flaky(rt: Any, job: Any) -> None:
        nonlocal calls
        calls += 1
        raise ProviderError("gateway timeout", transient=True)

    worker = Worker(h.rt, {"flaky": flaky}, name="w1")
    async with h.rt.write() as tx:
        await enqueue(tx, "flaky", {}, max_attempts=3)
    for _ in range(3):
        assert await worker.run_once() == 1
        job = await _job(h, "flaky")
        if job.status == "pending":
            assert job.run_at > utcnow() and job.last_error == "gateway timeout"
            async with h.rt.write() as tx:  # skip the backoff wait
                await tx.conn.execute(update(jobs).values(run_at=utcnow()))
    job = await _job(h, "flaky")
    assert calls == 3 and job.status == "dead" and job.dedup_key is None
    dead = (await h.get("/api/v1/jobs", who="supervisor")).json()["items"]
    assert dead[0]["kind"] == "flaky" and dead[0]["last_error"] == "gateway timeout"


async def test_permanent_failure_dies_at_once(sqlite_harness: Harness) -> None:
    h = sqlite_harness

    async def bad(rt: Any, job: Any) -> None:
        raise ProviderError("token inválido", transient=False)

    async with h.rt.write() as tx:
        await enqueue(tx, "bad", {})
    await Worker(h.rt, {"bad": bad}).run_once()
    assert (await _job(h, "bad")).status == "dead"


async def test_expired_lease_is_claimed_by_another_worker(harness: Harness) -> None:
    h = harness
    ran: list[str] = []

    async def work(rt: Any, job: Any) -> None:
        ran.append(job.locked_by)

    async with h.rt.write() as tx:
        await enqueue(tx, "work", {})
    crashed = Worker(h.rt, {"work": work}, name="crashed")
    claimed = await crashed.claim(10)  # claims, then "dies" without running it
    assert len(claimed) == 1
    survivor = Worker(h.rt, {"work": work}, name="survivor")
    assert await survivor.run_once() == 0  # lease still valid
    async with h.rt.write() as tx:
        await tx.conn.execute(update(jobs).values(lease_until=utcnow() - timedelta(seconds=1)))
    assert await survivor.run_once() == 1
    assert ran == ["survivor"] and await _job(h, "work") is None  # done jobs are deleted


async def test_dedup_key_and_periodic_reschedule(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    runs = 0

    async def tick(rt: Any, job: Any) -> Reschedule:
        nonlocal runs
        runs += 1
        return Reschedule(utcnow() + timedelta(seconds=60))

    async with h.rt.write() as tx:
        await enqueue(tx, "tick", {}, dedup_key="tick")
        await enqueue(tx, "tick", {}, dedup_key="tick")
    async with h.rt.read() as conn:
        assert len(list(await conn.execute(select(jobs).where(jobs.c.kind == "tick")))) == 1
    worker = Worker(h.rt, {"tick": tick})
    assert await worker.drain() == 1 and runs == 1
    job = await _job(h, "tick")
    assert job.status == "pending" and job.attempts == 0 and job.run_at > utcnow() + timedelta(seconds=50)
