"""The query planner's statistics on SQLite: refreshed a few minutes after start, then daily.

SQLite plans without statistics until ANALYZE runs, and then misses plans that need them (the board's
waiting counts skip-scan the queue index by team only when sqlite_stat1 says the teams are few).
`analysis_limit` makes ANALYZE sample each index (milliseconds, even at millions of rows) instead of
reading it whole. PostgreSQL's autovacuum keeps its own statistics: nothing to do there.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import structlog

from atende.jobs.worker import Reschedule

if TYPE_CHECKING:
    from atende.jobs.worker import Handler
    from atende.runtime import Runtime

log = structlog.get_logger(__name__)
JOB = "db_statistics"
FIRST_RUN = timedelta(minutes=5)
EVERY = timedelta(days=1)
ANALYSIS_LIMIT = 1000  # rows sampled per index


async def db_statistics(rt: Runtime, job: Any) -> Reschedule | None:
    async with rt.write() as tx:
        if tx.dialect != "sqlite":
            return None
        await tx.conn.exec_driver_sql(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
        await tx.conn.exec_driver_sql("ANALYZE")
    log.info("database statistics refreshed")
    return Reschedule(rt.clock() + EVERY)


HANDLERS: dict[str, Handler] = {JOB: db_statistics}
