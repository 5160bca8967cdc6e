"""Send pacing: a conversation's messages leave in order; to one customer a short burst
(`pair_burst`) goes at once, then one per pair interval; rate-limit answers back off.

The limiter itself is tested with a fake clock; the order, bursts and pair gap through the worker
(which runs jobs concurrently) on SQLite and PostgreSQL.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from atende.db.tables import jobs
from atende.jobs.pacing import LocalPacer
from tests.support.harness import Harness
from tests.support.whatsapp import WA, inbound, make_due, message, reply, settle


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _connector(cid: int = 1, rate: float = 80, pair: float = 6.0, burst: int = 1) -> Any:
    return SimpleNamespace(id=cid, config=SimpleNamespace(rate_per_second=rate, pair_interval_s=pair,
                                                          pair_burst=burst))


async def test_limiter_token_bucket_per_number() -> None:
    clock = FakeClock()
    limiter = LocalPacer(clock=clock, sleep=clock.sleep)
    c = _connector(rate=10, pair=0)
    start = clock.now
    for i in range(30):  # 30 different customers: only the number's throughput applies
        await limiter.acquire(c, f"+55119000000{i:02d}")
    # A one-second burst (10), then 10 per second: 20 more take 2 seconds.
    assert 1.9 <= clock.now - start <= 2.1
    other = _connector(cid=2, rate=10, pair=0)
    before = clock.now
    await limiter.acquire(other, "+5511900000000")  # another number has its own bucket
    assert clock.now == before


async def test_limiter_pair_interval_per_recipient_without_burst() -> None:
    clock = FakeClock()
    limiter = LocalPacer(clock=clock, sleep=clock.sleep)
    c = _connector(rate=80, pair=6.0, burst=1)
    await limiter.acquire(c, "+5511987654321")
    assert limiter.delay_for(c, "+5511987654321") == 6.0
    assert limiter.delay_for(c, "+5521987654321") == 0.0  # another customer is not held back
    t0 = clock.now
    await limiter.acquire(c, "+5511987654321")
    assert clock.now - t0 >= 6.0


async def test_limiter_pair_burst_goes_at_once_then_the_next_waits() -> None:
    clock = FakeClock()
    limiter = LocalPacer(clock=clock, sleep=clock.sleep)
    c = _connector(rate=80, pair=6.0, burst=3)
    maria = "+5511987654321"
    start = clock.now
    for _ in range(3):
        assert limiter.delay_for(c, maria) == 0.0
        await limiter.acquire(c, maria)
    assert clock.now - start < 0.1  # three back-to-back messages: no pair wait
    assert limiter.delay_for(c, maria) == pytest.approx(6.0, abs=0.1)
    assert limiter.delay_for(c, "+5521987654321") == 0.0  # other customers have their own bucket
    await limiter.acquire(c, maria)  # the 4th borrows nothing more: it waits one interval
    assert clock.now - start == pytest.approx(6.0, abs=0.1)
    await limiter.acquire(c, maria)
    assert clock.now - start == pytest.approx(12.0, abs=0.1)
    clock.now += 60  # idle: the bucket refills, but never beyond the burst
    t0 = clock.now
    for _ in range(3):
        await limiter.acquire(c, maria)
    assert clock.now - t0 < 0.1
    await limiter.acquire(c, maria)
    assert clock.now - t0 == pytest.approx(6.0, abs=0.1)


async def test_limiter_131056_empties_the_pair_bucket() -> None:
    clock = FakeClock()
    limiter = LocalPacer(clock=clock, sleep=clock.sleep)
    c = _connector(rate=80, pair=6.0, burst=3)
    maria = "+5511987654321"
    await limiter.acquire(c, maria)  # two tokens left…
    limiter.penalize(c, maria, "131056", 2.0)  # …but Meta says the pair is over its rate
    assert limiter.delay_for(c, maria) == pytest.approx(6.0)
    t0 = clock.now
    await limiter.acquire(c, maria)
    await limiter.acquire(c, maria)
    # After the pause one goes, then one per interval: no burst right after a 131056.
    assert clock.now - t0 == pytest.approx(12.0, abs=0.1)


async def test_limiter_backs_off_after_rate_limit_codes() -> None:
    clock = FakeClock()
    limiter = LocalPacer(clock=clock, sleep=clock.sleep)
    c = _connector(rate=80, pair=0)
    limiter.penalize(c, "+5511987654321", "131056", None)  # pair rate: that customer only
    assert limiter.delay_for(c, "+5511987654321") >= 1.0
    assert limiter.delay_for(c, "+5521987654321") == 0.0
    limiter.penalize(c, "+5521987654321", "130429", 3.0)  # throughput: the whole number
    assert limiter.delay_for(c, "+5531987654321") == 3.0
    t0 = clock.now
    await limiter.acquire(c, "+5531987654321")
    assert clock.now - t0 >= 3.0


async def test_without_burst_messages_to_one_customer_leave_in_order_and_apart(harness: Harness) -> None:
    wa = await harness.whatsapp_connector(pair_interval_s=0.4, pair_burst=1)
    harness.graph.pair_interval_s = 0.3  # the fake answers 131056 to anything faster
    msg = await inbound(harness, wa, WA, "Oi")
    other = await inbound(harness, wa, "5521998765432", "Olá")
    queued = [await reply(harness, msg["conversation_id"], f"parte {i}") for i in range(1, 5)]
    elsewhere = await reply(harness, other["conversation_id"], "para outra pessoa")
    assert len({q["id"] for q in queued}) == 4

    async def all_sent() -> bool:
        return all([(await message(harness, q["id"]))["status"] == "sent" for q in queued])

    await settle(harness, until=all_sent, within_s=20)
    to_maria = [m for m in harness.graph.sent if m.wa_id == WA]
    assert [m.body["text"]["body"] for m in to_maria] == ["parte 1", "parte 2", "parte 3", "parte 4"]
    sent_at = [datetime.fromisoformat((await message(harness, q["id"]))["sent_at"].replace("Z", "+00:00"))
               for q in queued]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(sent_at)]
    assert all(g >= 0.3 for g in gaps), gaps
    # The other customer was not held back behind Maria's queue.
    other_sent = (await message(harness, elsewhere["id"]))["sent_at"]
    assert other_sent is not None and other_sent < (await message(harness, queued[-1]["id"]))["sent_at"]
    async with harness.rt.read() as conn:
        attempts = [r.attempts for r in await conn.execute(select(jobs.c.attempts).where(
            jobs.c.kind == "send_message"))]
    assert attempts == []  # all done; waiting never burned a retry


async def test_rate_limit_answer_is_retried_without_reordering(harness: Harness) -> None:
    wa = await harness.whatsapp_connector()
    msg = await inbound(harness, wa, WA, "Oi")
    harness.graph.fail_next(130429, http_status=429)  # throughput limit on the first send
    first = await reply(harness, msg["conversation_id"], "primeira")
    second = await reply(harness, msg["conversation_id"], "segunda")
    await harness.drain()
    assert harness.graph.sent == []  # the first was refused, the second waits for it
    assert (await message(harness, first["id"]))["status"] == "sending"
    assert (await message(harness, second["id"]))["status"] == "queued"
    await make_due(harness, "send_message")

    async def both_sent() -> bool:
        return all([(await message(harness, m["id"]))["status"] == "sent" for m in (first, second)])

    await settle(harness, until=both_sent, within_s=20)
    assert [m.body["text"]["body"] for m in harness.graph.sent] == ["primeira", "segunda"]


async def test_pair_rate_limit_131056_backs_off_that_customer(harness: Harness) -> None:
    wa = await harness.whatsapp_connector()
    msg = await inbound(harness, wa, WA, "Oi")
    harness.graph.fail_next(131056)
    queued = await reply(harness, msg["conversation_id"], "tudo certo?")
    await harness.drain()
    assert harness.graph.sent == []
    limiter = harness.rt.pacer
    loaded = await harness.rt.connector(wa["id"])
    assert limiter.delay_for(loaded, "+" + WA) > 0  # that customer is paused…
    assert limiter.delay_for(loaded, "+5521998765432") == 0  # …nobody else
    async with harness.rt.read() as conn:
        job = (await conn.execute(select(jobs.c.last_error, jobs.c.run_at).where(
            jobs.c.kind == "send_message"))).one()
    assert "seguidas" in job.last_error
    await make_due(harness, "send_message")
    limiter._pair_paused.clear()

    async def sent() -> bool:
        return bool((await message(harness, queued["id"]))["status"] == "sent")

    await settle(harness, until=sent, within_s=10)
    assert len(harness.graph.sent) == 1


def _stamp(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def test_a_burst_of_three_goes_at_once_and_the_fourth_waits(harness: Harness) -> None:
    wa = await harness.whatsapp_connector(pair_interval_s=3.0, pair_burst=3)
    msg = await inbound(harness, wa, WA, "Oi")
    queued = [await reply(harness, msg["conversation_id"], f"parte {i}") for i in range(1, 5)]

    async def all_sent() -> bool:
        return all([(await message(harness, q["id"]))["status"] == "sent" for q in queued])

    await settle(harness, until=all_sent, within_s=20)
    assert [m.body["text"]["body"] for m in harness.graph.sent] == ["parte 1", "parte 2", "parte 3", "parte 4"]
    sent_at = [_stamp((await message(harness, q["id"]))["sent_at"]) for q in queued]
    assert sent_at == sorted(sent_at)
    # The burst: back to back (typically ~0.1 s for all three), not one pair interval apart.
    assert (sent_at[2] - sent_at[0]).total_seconds() < 1.0, sent_at
    # The 4th waited for a token: one interval after the burst began.
    assert (sent_at[3] - sent_at[0]).total_seconds() >= 2.9, sent_at
    assert (sent_at[3] - sent_at[2]).total_seconds() >= 1.5, sent_at
    async with harness.rt.read() as conn:
        left = list(await conn.execute(select(jobs.c.id).where(jobs.c.kind == "send_message")))
    assert left == []  # no 131056, no retry: waiting never burned an attempt


async def test_after_131056_the_burst_is_gone_and_order_is_kept(harness: Harness) -> None:
    wa = await harness.whatsapp_connector(pair_interval_s=1.0, pair_burst=3)
    msg = await inbound(harness, wa, WA, "Oi")
    harness.graph.fail_next(131056)  # Meta: this pair is over its rate (e.g. sends from another tool)
    queued = [await reply(harness, msg["conversation_id"], f"parte {i}") for i in range(1, 4)]
    await harness.drain()
    assert harness.graph.sent == []  # the first was refused; the others wait behind it
    statuses = [(await message(harness, q["id"]))["status"] for q in queued]
    assert statuses == ["sending", "queued", "queued"]
    await make_due(harness, "send_message")

    async def all_sent() -> bool:
        return all([(await message(harness, q["id"]))["status"] == "sent" for q in queued])

    await settle(harness, until=all_sent, within_s=20)
    assert [m.body["text"]["body"] for m in harness.graph.sent] == ["parte 1", "parte 2", "parte 3"]
    # Measured where Meta sees them (arrival at the fake), not by sent_at, which is stamped after the
    # answer and so carries the loop's jitter on a loaded machine. A burst would show gaps near 0.
    arrived = [m.arrived for m in harness.graph.sent]
    gaps = [b - a for a, b in itertools.pairwise(arrived)]
    assert all(g >= 0.8 for g in gaps), gaps  # one per interval after the back-off, no burst
