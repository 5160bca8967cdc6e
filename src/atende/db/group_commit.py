"""Group commit: concurrent webhook ingests share one transaction and one fsync.

Each caller hands in a unit of work and waits; the committer runs every waiting unit in one
write transaction and answers them all after the commit, so a 2xx still means "durable". The units'
events and jobs are inserted together at the end of the batch (write_buffer), before that commit.
If the shared transaction fails, each unit is re-run alone so one bad payload fails alone.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from atende.db.raw_sqlite import RawRunner
from atende.db.sync_bridge import SyncConnection, create_sqlite_sync_engine, run_sync
from atende.db.tx import Tx, WriteBuffer
from atende.db.write_buffer import flush
from atende.metrics import GROUP_COMMIT
from atende.realtime.bus import EventBus

log = structlog.get_logger(__name__)
T = TypeVar("T")
Work = Callable[[Tx], Coroutine[Any, Any, Any]]


@dataclass(slots=True)
class _Item:
    work: Work
    future: asyncio.Future[Any]


class GroupCommitter:
    """`transaction` opens one write transaction (the runtime's `write`); on SQLite the batch runs
    on a writer thread instead, and this class announces the commit on `bus` itself."""

    def __init__(self, engine: AsyncEngine, bus: EventBus, database_url: str, *,
                 transaction: Callable[[], AbstractAsyncContextManager[Tx]], identity_key: bytes,
                 max_batch: int = 500, max_wait_ms: float = 2.0, settings: Any = None, raw_sql: bool = True) -> None:
        self.bus = bus
        self.identity_key = identity_key  # the keyed hashes of erased identities (ingest checks opt-outs)
        self.settings = settings  # what actions fall back to (team timers' defaults, see db/tx.py)
        self._transaction = transaction
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        self.items = 0
        # SQLite: one writer thread with a synchronous connection (see sync_bridge).
        self._sync_engine = None
        self._raw: RawRunner | None = None
        self._executor: ThreadPoolExecutor | None = None
        if engine.dialect.name == "sqlite":
            self._sync_engine = create_sqlite_sync_engine(database_url)
            self._raw = RawRunner(self._sync_engine.dialect) if raw_sql else None
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="atende-commit")

    async def run(self, work: Callable[[Tx], Coroutine[Any, Any, T]]) -> T:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop())
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Item(work, future))
        return await future

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        if self._sync_engine is not None:
            self._sync_engine.dispose()

    async def _collect(self) -> list[_Item]:
        items = [await self._queue.get()]
        deadline = asyncio.get_running_loop().time() + self.max_wait
        while len(items) < self.max_batch:
            try:
                items.append(self._queue.get_nowait())
                continue
            except asyncio.QueueEmpty:
                pass
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            try:
                items.append(await asyncio.wait_for(self._queue.get(), remaining))
            except TimeoutError:
                break
        return items

    async def _loop(self) -> None:
        while True:
            items = await self._collect()
            try:
                results = await self._commit_together(items)
            except Exception:
                log.warning("group commit failed; committing items one by one", size=len(items))
                for item in items:
                    await self._commit_alone(item)
            else:
                for item, result in zip(items, results, strict=True):
                    if not item.future.done():
                        item.future.set_result(result)
            self.batches += 1
            self.items += len(items)
            GROUP_COMMIT.observe(len(items))

    def _run_batch_sync(self, works: list[Work]) -> tuple[list[Any], Tx]:
        assert self._sync_engine is not None
        with self._sync_engine.begin() as conn:
            tx = Tx(SyncConnection(conn, self._raw), identity_key=self.identity_key,  # type: ignore[arg-type]
                    settings=self.settings, buffer=WriteBuffer())
            results = [run_sync(work(tx)) for work in works]
            run_sync(flush(tx))
        return results, tx

    async def _commit(self, works: list[Work]) -> list[Any]:
        if self._executor is None:
            async with self._transaction() as tx:
                tx.buffer = WriteBuffer()
                results = [await work(tx) for work in works]
                await flush(tx)
                return results
        loop = asyncio.get_running_loop()
        results, tx = await loop.run_in_executor(self._executor, self._run_batch_sync, works)
        # Committed on the writer thread: announce it from here, as rt.write() would.
        if tx.last_event_id:
            await self.bus.publish("events", str(tx.last_event_id))
        if tx.jobs_enqueued:
            await self.bus.publish("jobs", "")
        return results

    async def _commit_together(self, items: list[_Item]) -> list[Any]:
        return await self._commit([item.work for item in items])

    async def _commit_alone(self, item: _Item) -> None:
        try:
            (result,) = await self._commit([item.work])
        except Exception as exc:
            if not item.future.done():
                item.future.set_exception(exc)
        else:
            if not item.future.done():
                item.future.set_result(result)
