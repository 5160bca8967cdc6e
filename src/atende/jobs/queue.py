"""Enqueueing jobs inside an action's transaction (the outbox)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert

from atende.db.prepared import insert_ignore_stmt
from atende.db.tables import jobs
from atende.db.tx import Tx
from atende.db.types import utcnow

_INSERT = insert(jobs)


async def enqueue(
    tx: Tx,
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    run_at: datetime | None = None,
    dedup_key: str | None = None,
    max_attempts: int = 8,
) -> None:
    now = utcnow()
    values: dict[str, Any] = dict(
        kind=kind, payload=payload or {}, status="pending", run_at=run_at or now, attempts=0,
        max_attempts=max_attempts, dedup_key=dedup_key, created_at=now, updated_at=now,
    )
    # With a dedup key: an identical pending job already exists, nothing to add.
    stmt = _INSERT if dedup_key is None else insert_ignore_stmt(jobs, tx.dialect)
    if tx.buffer is not None:  # group commit: inserted with the batch's other jobs before the commit
        tx.buffer.inserts.append((stmt, values))
    else:
        await tx.conn.execute(stmt, values)
    tx.jobs_enqueued = True
