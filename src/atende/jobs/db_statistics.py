"""The query planner's statistics on SQLite: refreshed a few minutes after start, then daily.

SQLite plans without statistics until ANALYZE runs, and then misses plans that need them (the board's
waiting counts skip-scan the queue index by team only when sqlite_stat1 says the teams are few).
Only `conversations` is analyzed, and whole: sampled statistics (`analysis_limit`) misjudged its
indexes and chose a plan 100x slower, while a full pass takes about 1 s at 1,000,000 conversations.
PostgreSQL's autovacuum keeps its own statistics: nothing to do there.
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
TABLES = ("conversations",)  # the board's plans depend on these statistics


async def db_statistics(rt: Runtime, job: Any) -> Reschedule | None:
    if not rt.settings.is_sqlite:
        return None
    async with rt.write() as tx:
        await tx.conn.exec_driver_sql("PRAGMA analysis_limit=0")  # whole: see the module's docstring
        for table in TABLES:
            await tx.conn.exec_driver_sql(f"ANALYZE {table}")
    log.info("database statistics refreshed")
    return Reschedule(rt.clock() + EVERY)


HANDLERS: dict[str, Handler] = {JOB: db_statistics}
