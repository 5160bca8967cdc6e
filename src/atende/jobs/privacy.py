"""LGPD jobs: the daily retention run and the purge of erased or expired media files."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import structlog

from atende.jobs.worker import Reschedule

if TYPE_CHECKING:
    from atende.runtime import Runtime

log = structlog.get_logger(__name__)


async def media_purge(rt: Runtime, job: Any) -> None:
    """Files of erased or expired media, deleted once their rows are gone (idempotent)."""
    from atende.actions.erasure import purge_files

    await purge_files(rt, [str(k) for k in job.payload.get("keys") or []])


async def retention(rt: Runtime, job: Any) -> Reschedule:
    """Daily: the retention policy applied in batches (actions/retention.py)."""
    from atende.actions import retention as retention_actions

    report = await retention_actions.run(rt)
    log.info("retention applied", **report.counts())  # counts only: never what was removed
    # The runtime's clock (the worker's): tests that travel in time see it come back the next day.
    return Reschedule(retention_actions.next_run(rt.clock(), rt.settings.timezone))
