"""Failure tests (bounded, in-process or loopback): the provider slow or down; PostgreSQL restarted under load."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, update

from atende.db.tables import jobs, messages
from atende.db.types import utcnow
from tests.support.faults import Faulty
from tests.support.harness import Harness

PHONE = "+5511987654321"


async def queue_texts(h: Harness, connector_id: int, texts: list[str]) -> list[int]:
    first = await h.post("/api/v1/messages", {"connector_id": connector_id, "to": PHONE, "text": texts[0]})
    assert first.status_code == 202, first.text
    ids = [first.json()["id"]]
    conv = first.json()["conversation_id"]
    for text in texts[1:]:
        r = await h.post(f"/api/v1/conversations/{conv}/messages", {"text": text})
        assert r.status_code == 202, r.text
        ids.append(r.json()["id"])
    return ids


async def statuses(h: Harness, ids: list[int]) -> list[str]:
    async with h.rt.read() as conn:
        rows = dict((await conn.execute(select(messages.c.id, messages.c.status).where(messages.c.id.in_(ids)))).all())
    return [rows[i] for i in ids]


async def time_passes(h: Harness) -> None:
    """Make every waiting job due now (instead of sleeping through the backoff)."""
    async with h.rt.write() as tx:
        await tx.conn.execute(update(jobs).where(jobs.c.status == "pending").values(run_at=utcnow()))


@pytest.mark.parametrize("mode", ["error", "refuse"])
async def test_provider_down_then_back_sends_wait_and_go_out_in_order(harness: Harness, mode: str) -> None:
    h = harness
    fault = Faulty(h.kolmeya.app, mode=mode)
    h.router.add("kolmeya.test", fault)
    c = await h.kolmeya_connector()
    texts = [f"parte {i} de 6" for i in range(6)]
    ids = await queue_texts(h, c["id"], texts)
    for _ in range(3):  # the provider is down: attempts fail, nothing is lost, nothing is sent
        await h.drain()
        await time_passes(h)
    assert fault.calls >= 1
    assert set(await statuses(h, ids)) <= {"queued", "sending"}
    assert h.kolmeya.state.sent == []
    fault.mode = "ok"
    for _ in range(10):
        await h.drain()
        if set(await statuses(h, ids)) == {"sent"}:
            break
        await time_passes(h)
    assert await statuses(h, ids) == ["sent"] * 6
    assert [m.text for m in h.kolmeya.state.sent] == texts  # in the order the agent wrote them


async def test_slow_provider_sends_in_order(harness: Harness) -> None:
    h = harness
    fault = Faulty(h.kolmeya.app, delay_s=0.2)
    h.router.add("kolmeya.test", fault)
    c = await h.kolmeya_connector()
    texts = [f"lenta {i}" for i in range(5)]
    ids = await queue_texts(h, c["id"], texts)
    async with asyncio.timeout(60):
        while set(await statuses(h, ids)) != {"sent"}:
            await h.drain()
            await time_passes(h)
    assert [m.text for m in h.kolmeya.state.sent] == texts
