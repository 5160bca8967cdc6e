"""Polling providers whose webhooks go missing (Kolmeya): replies and statuses, deduplicated by ingest,
and the periodic jobs that should exist."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from atende.actions.connectors import save_state
from atende.actions.ingest import ingest_batch
from atende.actions.retention import next_run
from atende.channels.base import poller
from atende.db.tables import connectors, messages
from atende.db.types import utcnow
from atende.jobs.balances import JOB as BALANCE_JOB
from atende.jobs.common import connector_info, loaded_connector
from atende.jobs.db_statistics import FIRST_RUN as STATISTICS_FIRST_RUN
from atende.jobs.db_statistics import JOB as STATISTICS_JOB
from atende.jobs.queue import enqueue
from atende.jobs.worker import Reschedule

if TYPE_CHECKING:
    from atende.runtime import Runtime

POLL_STATUS_WINDOW = timedelta(hours=48)


def _interval(config: Any) -> int:
    return int(getattr(config, "poll_interval_s", 0) or 0)


async def poll_provider(rt: Runtime, job: Any) -> Reschedule | None:
    """Reply and status polling (Kolmeya webhooks are known to go missing); deduplicated by ingest."""
    connector = await loaded_connector(rt, int(job.payload["connector_id"]))
    interval = _interval(connector.config)
    source = poller(connector.provider)
    if not connector.active or interval <= 0 or source is None:
        return None  # polling switched off: the job ends; enabling it again re-creates it
    async with rt.read() as conn:
        state = (await conn.scalar(select(connectors.c.state).where(connectors.c.id == connector.id))) or {}
        pending = await conn.execute(
            select(messages.c.provider_request_id).distinct().where(
                messages.c.connector_id == connector.id, messages.c.direction == "out",
                messages.c.status.in_(("sent", "sending")), messages.c.provider_request_id.is_not(None),
                messages.c.created_at > utcnow() - POLL_STATUS_WINDOW,
            ).limit(500))
        request_ids = [r[0] for r in pending]
    last = state.get("last_reply_poll")
    # Ask for the hours since the last successful poll (at least 1, at most Kolmeya's 168).
    hours = 24 if last is None else (utcnow() - datetime.fromisoformat(last)).total_seconds() / 3600 + 1
    batch = await source.poll_replies(max(1, min(168, int(hours) + 1)))
    if request_ids:
        batch.extend(await source.poll_statuses(request_ids))
    async with rt.write() as tx:
        await ingest_batch(tx, connector_info(connector, auto_assign=rt.settings.auto_assign), batch)
        await save_state(tx, connector.id, {**state, "last_reply_poll": utcnow().isoformat()})
    return Reschedule(rt.clock() + timedelta(seconds=interval))


async def ensure_periodic(rt: Runtime) -> None:
    """Create the periodic jobs that should exist (idempotent: dedup keys)."""
    async with rt.read() as conn:
        rows = list(await conn.execute(select(connectors.c.id).where(connectors.c.active.is_(True))))
    from atende.actions.campaigns import ensure_ticks as ensure_campaign_ticks

    async with rt.write() as tx:
        await enqueue(tx, "sweep", {}, dedup_key="sweep")
        if rt.settings.balance_poll_s > 0:
            await enqueue(tx, BALANCE_JOB, {}, dedup_key="balances")
        await ensure_campaign_ticks(tx)
        await enqueue(tx, "retention", {}, dedup_key="retention", run_at=next_run(utcnow(), rt.settings.timezone))
        if tx.dialect == "sqlite":
            await enqueue(tx, STATISTICS_JOB, {}, dedup_key="db_statistics", run_at=rt.clock() + STATISTICS_FIRST_RUN)
        for row in rows:
            loaded = await rt.connector(row.id)
            if loaded is not None and poller(loaded.provider) is not None and _interval(loaded.config) > 0:
                await enqueue(tx, "poll_provider", {"connector_id": row.id}, dedup_key=f"poll:{row.id}")
