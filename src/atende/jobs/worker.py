"""The jobs worker: claims ready jobs with a lease, runs them, retries with backoff and jitter.

A job whose worker died is claimed again when its lease runs out, so nothing queued is lost;
handlers are written to be safe to run twice (design.md, rule 4).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import and_, delete, or_, select, update

from atende.channels.base import ProviderError
from atende.db.tables import jobs
from atende.db.types import utcnow

if TYPE_CHECKING:
    from atende.runtime import Runtime

log = structlog.get_logger(__name__)

BACKOFF_BASE_S = 2.0
BACKOFF_CAP_S = 600.0


@dataclass(frozen=True, slots=True)
class Reschedule:
    """Returned by a periodic handler: run me again at `run_at` (same row, attempts reset)."""

    run_at: datetime


class Retry(Exception):
    def __init__(self, message: str, delay: float | None = None) -> None:
        super().__init__(message)
        self.delay = delay


class PermanentJobError(Exception):
    """The job can never succeed: it goes straight to dead."""


Handler = Callable[["Runtime", Any], Awaitable[Reschedule | None]]
DeadHook = Callable[["Runtime", Any, str], Awaitable[None]]


def backoff(attempts: int, rng: random.Random | None = None) -> float:
    """Exponential backoff with ±50 % jitter, so retries of a burst don't stampede together."""
    rng = rng or random.Random()
    return min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** max(attempts - 1, 0)) * rng.uniform(0.5, 1.5)


class Worker:
    def __init__(self, rt: Runtime, handlers: dict[str, Handler], *, dead_hooks: dict[str, DeadHook] | None = None,
                 concurrency: int | None = None, name: str | None = None) -> None:
        self.rt = rt
        self.handlers = handlers
        self.dead_hooks = dead_hooks or {}
        self.concurrency = concurrency or rt.settings.worker_concurrency
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._wake = asyncio.Event()

    async def claim(self, limit: int) -> list[Any]:
        now = self.rt.clock()
        ready = or_(
            and_(jobs.c.status == "pending", jobs.c.run_at <= now),
            and_(jobs.c.status == "running", jobs.c.lease_until < now),
        )
        pick = select(jobs.c.id).where(ready).order_by(jobs.c.run_at, jobs.c.id).limit(limit)
        if self.rt.engine.dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        async with self.rt.write() as tx:
            rows = await tx.conn.execute(
                update(jobs).where(jobs.c.id.in_(pick.scalar_subquery())).values(
                    status="running", lease_until=now + timedelta(seconds=self.rt.settings.job_lease_s),
                    locked_by=self.name, attempts=jobs.c.attempts + 1, updated_at=now,
                ).returning(jobs)
            )
            return list(rows)

    async def run_once(self, limit: int | None = None) -> int:
        """Claim and run one round of ready jobs; returns how many ran."""
        claimed = await self.claim(limit or self.concurrency)
        if claimed:
            await asyncio.gather(*(self._run(job) for job in claimed))
        return len(claimed)

    async def drain(self, max_rounds: int = 100) -> int:
        """Run until nothing is ready (tests and CLI)."""
        total = 0
        for _ in range(max_rounds):
            ran = await self.run_once()
            if not ran:
                break
            total += ran
        return total

    async def _finish(self, job: Any, **values: Any) -> None:
        mine = and_(jobs.c.id == job.id, jobs.c.locked_by == self.name, jobs.c.attempts == job.attempts)
        async with self.rt.write() as tx:
            if values.get("status") == "done":
                await tx.conn.execute(delete(jobs).where(mine))
            else:
                await tx.conn.execute(update(jobs).where(mine).values(updated_at=utcnow(), **values))
                tx.jobs_enqueued = values.get("status") == "pending"

    async def _run(self, job: Any) -> None:
        handler = self.handlers.get(job.kind)
        if handler is None:
            await self._dead(job, f"no handler for job kind {job.kind!r}")
            return
        if job.attempts > job.max_attempts:
            await self._dead(job, job.last_error or "too many attempts")
            return
        try:
            outcome = await handler(self.rt, job)
        except PermanentJobError as exc:
            await self._dead(job, str(exc))
        except (Retry, ProviderError) as exc:
            if isinstance(exc, ProviderError) and not exc.transient:
                await self._dead(job, exc.message)
                return
            hint = exc.delay if isinstance(exc, Retry) else exc.retry_after
            await self._retry(job, str(exc), hint)
        except Exception as exc:  # a bug or an outage: retry, and keep the reason visible
            log.exception("job failed", job_id=job.id, kind=job.kind)
            await self._retry(job, f"{type(exc).__name__}: {exc}", None)
        else:
            if isinstance(outcome, Reschedule):
                await self._finish(job, status="pending", run_at=outcome.run_at, attempts=0, lease_until=None,
                                   locked_by=None, last_error=None)
            else:
                await self._finish(job, status="done")

    async def _retry(self, job: Any, error: str, hint: float | None) -> None:
        if job.attempts >= job.max_attempts:
            await self._dead(job, error)
            return
        delay = max(backoff(job.attempts), hint or 0.0)
        await self._finish(job, status="pending", run_at=self.rt.clock() + timedelta(seconds=delay),
                           lease_until=None, locked_by=None, last_error=error[:2000])

    async def _dead(self, job: Any, error: str) -> None:
        log.warning("job dead", job_id=job.id, kind=job.kind, error=error)
        hook = self.dead_hooks.get(job.kind)
        if hook is not None:
            await hook(self.rt, job, error)
        # dedup_key is released so the same work can be queued again (a retry by an agent, say).
        await self._finish(job, status="dead", last_error=error[:2000], lease_until=None, dedup_key=None)

    def wake(self) -> None:
        self._wake.set()

    async def _listen(self) -> None:
        async for _ in self.rt.bus.subscribe("jobs"):
            self._wake.set()

    async def run_forever(self, stop: asyncio.Event) -> None:
        listener = asyncio.create_task(self._listen())
        running: set[asyncio.Task[None]] = set()
        try:
            while not stop.is_set():
                free = self.concurrency - len(running)
                try:
                    claimed = await self.claim(free) if free > 0 else []
                except Exception:  # database unavailable for a moment: keep the worker alive
                    log.exception("claiming jobs failed")
                    await asyncio.sleep(self.rt.settings.job_poll_s)
                    continue
                for job in claimed:
                    task = asyncio.create_task(self._run(job))
                    running.add(task)
                    task.add_done_callback(running.discard)
                if claimed and len(claimed) == free:
                    await asyncio.sleep(0)
                    continue
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.rt.settings.job_poll_s)
        finally:
            listener.cancel()
            if running:
                await asyncio.wait(running, timeout=10)
