"""`atende demo`'s parts: idempotent setup and a simulator that drives the real webhook path."""

from __future__ import annotations

import asyncio
import contextlib
import random

from sqlalchemy import func, select

from atende.db.tables import messages, users
from atende.demo import prepare, simulate
from tests.support.harness import Harness


async def _stop(task: asyncio.Task[None]) -> None:
    # Await the cancellation while the runtime is alive: a simulator cut mid-request must hand its
    # database connection back now, not in the event loop's final sweep after the engine is gone.
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_demo_prepares_once_and_customers_write(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    tokens = await prepare(h.rt)
    assert await prepare(h.rt) == tokens and sorted(tokens) == ["instagram", "sms", "whatsapp"]
    async with h.rt.read() as conn:
        assert await conn.scalar(select(func.count()).select_from(users).where(users.c.email.like("%@atende.local")))
    task = asyncio.create_task(simulate(h.client, tokens, h.rt, rate=200, rng=random.Random(1)))
    try:
        for _ in range(100):
            await asyncio.sleep(0.02)
            async with h.rt.read() as conn:
                n = await conn.scalar(select(func.count()).select_from(messages))
            if n and n >= 12:
                break
    finally:
        await _stop(task)
    convs = (await h.get("/api/v1/conversations")).json()["items"]
    assert convs and {c["channel"] for c in convs} <= {"sms", "whatsapp", "instagram"}
    instagram = [c for c in convs if c["channel"] == "instagram"]
    assert instagram and all(c["contact"]["address"].startswith("17841") for c in instagram)  # IGSIDs, not phones
    # An agent answers; the simulated phone reports it delivered.
    r = await h.post(f"/api/v1/conversations/{convs[0]['id']}/messages", {"text": "Olá! Já verifico."}, who="ana")
    assert r.status_code == 202
    await h.drain()
    task = asyncio.create_task(simulate(h.client, tokens, h.rt, rate=200, rng=random.Random(2)))
    try:
        for _ in range(100):
            await asyncio.sleep(0.02)
            m = (await h.get(f"/api/v1/conversations/{convs[0]['id']}/messages", params={"latest": "true"})).json()
            mine = [x for x in m["items"] if x["id"] == r.json()["id"]]
            if mine and mine[0]["status"] in ("delivered", "read"):
                break
    finally:
        await _stop(task)
    assert mine[0]["status"] in ("delivered", "read")
