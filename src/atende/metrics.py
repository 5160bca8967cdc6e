"""Prometheus metrics: counters on the hot paths, queue gauges read at scrape time."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from atende.db.tables import jobs

REGISTRY = CollectorRegistry(auto_describe=True)

WEBHOOKS = Counter("atende_webhooks_total", "Webhook requests by provider and outcome",
                   ["provider", "outcome"], registry=REGISTRY)
INGESTED = Counter("atende_messages_ingested_total", "Messages stored from providers", ["provider"],
                   registry=REGISTRY)
SENDS = Counter("atende_sends_total", "Outbound send attempts by provider and outcome", ["provider", "outcome"],
                registry=REGISTRY)
GROUP_COMMIT = Histogram("atende_group_commit_size", "Units of work per group commit",
                         buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500), registry=REGISTRY)
JOBS = Gauge("atende_jobs", "Jobs by status", ["status"], registry=REGISTRY)


async def render(conn: AsyncConnection) -> bytes:
    rows = await conn.execute(select(jobs.c.status, func.count()).group_by(jobs.c.status))
    counts: dict[str, int] = {status: int(n) for status, n in rows}
    for status in ("pending", "running", "dead"):
        JOBS.labels(status).set(counts.get(status, 0))
    return generate_latest(REGISTRY)
