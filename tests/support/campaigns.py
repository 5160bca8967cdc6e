"""Campaign test helpers: a clock the test moves, and a runner that plays the worker through time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select

from atende.db.tables import jobs
from atende.jobs.balances import JOB as BALANCE_JOB
from tests.support.harness import Harness

SAO_PAULO = ZoneInfo("America/Sao_Paulo")


class FakeClock:
    """`clock()` is the time; tests move it. Shared by the pacer (rt.clock), the worker and the fake
    Kolmeya (the time it stamps on accepted messages)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def next_local(weekday: int, hour: int, minute: int = 0) -> datetime:
    """The next São Paulo `weekday` (0 = Monday) at hour:minute after the real now, in UTC. Always in
    the future: jobs other code enqueues with the real time must be ready on the fake clock too."""
    local = datetime.now(UTC).astimezone(SAO_PAULO) + timedelta(days=1)
    while local.weekday() != weekday:
        local += timedelta(days=1)
    return local.replace(hour=hour, minute=minute, second=0, microsecond=0).astimezone(UTC)


def travel(h: Harness, start: datetime | None = None) -> FakeClock:
    clock = FakeClock(start or next_local(1, 10))  # a Tuesday, 10:00 in São Paulo
    h.rt.clock = clock
    h.kolmeya.state.clock = clock
    return clock


#: Periodic jobs that only reschedule themselves: the clock jumps over them (they still run once per jump).
PERIODIC = ("sweep", "poll_provider", "retention")


async def run_until(h: Harness, clock: FakeClock, until: datetime, *, max_steps: int = 10_000) -> int:
    """Run every job that is due, jump the clock to the next one, until nothing is due before `until`."""
    steps = 0
    async with h.rt.write() as tx:  # the balance timer calls the fake too; these tests count its calls
        await tx.conn.execute(delete(jobs).where(jobs.c.kind == BALANCE_JOB))
    while steps < max_steps:
        await h.worker.drain()
        async with h.rt.read() as conn:
            nxt = await conn.scalar(select(func.min(jobs.c.run_at)).where(
                jobs.c.status == "pending", jobs.c.kind.not_in(PERIODIC)))
        if nxt is None or nxt > until:
            break
        clock.now = max(clock.now, nxt)
        steps += 1
    clock.now = max(clock.now, until)
    return steps


async def create_campaign(h: Harness, connector_id: int, csv_text: str, *, text: str = "Olá {{nome}}!",
                          who: str = "supervisor", **extra: Any) -> dict[str, Any]:
    r = await h.post("/api/v1/campaigns", {"name": "Cobrança", "connector_id": connector_id, "text": text,
                                           "csv": csv_text, **extra}, who=who)
    assert r.status_code == 201, r.text
    return dict(r.json())


def phones(n: int, start: int = 0) -> list[str]:
    """n distinct valid Brazilian mobiles."""
    return [f"119{(start + i) % 10**8:08d}" for i in range(n)]


def csv_of(numbers: list[str], **columns: list[str]) -> str:
    header = ";".join(["telefone", *columns])
    lines = [";".join([n, *(values[i] for values in columns.values())]) for i, n in enumerate(numbers)]
    return "\n".join([header, *lines]) + "\n"
