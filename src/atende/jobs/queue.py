"""Enqueueing jobs inside an action's transaction (the outbox)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, insert
from sqlalchemy.dialects import postgresql, sqlite

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


async def arm(tx: Tx, kind: str, payload: dict[str, Any], *, run_at: datetime, dedup_key: str) -> None:
    """A timer: make sure job `dedup_key` runs at `run_at` at the latest (earlier is fine: timer handlers
    look at the state when they run and reschedule themselves). A job of that key that is running is put
    back to pending, so a run finishing at this very moment cannot drop the timer armed now."""
    now = utcnow()
    mod = postgresql if tx.dialect == "postgresql" else sqlite
    stmt = mod.insert(jobs).values(
        kind=kind, payload=payload, status="pending", run_at=run_at, attempts=0, max_attempts=8,
        dedup_key=dedup_key, created_at=now, updated_at=now)
    excluded = stmt.excluded
    await tx.conn.execute(stmt.on_conflict_do_update(
        index_elements=["dedup_key"],
        set_={
            "run_at": case((and_(jobs.c.status == "pending", jobs.c.run_at < excluded.run_at), jobs.c.run_at),
                           else_=excluded.run_at),
            "status": "pending", "locked_by": None, "lease_until": None, "attempts": 0, "updated_at": now,
            "payload": excluded.payload,
        },
    ))
    tx.jobs_enqueued = True
