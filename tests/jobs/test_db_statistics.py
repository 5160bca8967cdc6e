"""SQLite's planner statistics: the periodic job fills sqlite_stat1 for conversations (whole), so plans that need them
(the board's waiting counts skip-scan the queue index) are chosen; on PostgreSQL it does nothing."""

from __future__ import annotations

from sqlalchemy import text

from atende.jobs.db_statistics import JOB, db_statistics
from atende.jobs.polling import ensure_periodic
from tests.support.harness import Harness


async def test_the_job_analyzes_sqlite_and_reschedules_itself(harness: Harness) -> None:
    h = harness
    c = await h.kolmeya_connector()
    sent = await h.post("/api/v1/messages", {"connector_id": c["id"], "to": "+5548991910401", "text": "Olá"})
    assert sent.status_code == 202, sent.text
    await h.drain()
    async with h.rt.read() as conn:
        dialect = conn.dialect.name
    await ensure_periodic(h.rt)
    async with h.rt.read() as conn:
        queued = await conn.scalar(text("SELECT count(*) FROM jobs WHERE kind = :k"), {"k": JOB})
    outcome = await db_statistics(h.rt, None)
    if dialect != "sqlite":
        assert queued == 0 and outcome is None  # autovacuum keeps PostgreSQL's statistics
        return
    assert queued == 1
    assert outcome is not None and outcome.run_at > h.rt.clock()
    async with h.rt.read() as conn:
        tables = {r[0] for r in await conn.execute(text("SELECT tbl FROM sqlite_stat1"))}
    assert tables == {"conversations"}
