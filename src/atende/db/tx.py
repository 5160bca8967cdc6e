"""Write transactions that publish on commit (Zulip's rule: nothing leaves before the commit)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from atende.db.engine import write_tx

if TYPE_CHECKING:
    from atende.realtime.bus import EventBus


@dataclass(slots=True)
class WriteBuffer:
    """Events, jobs and counters of a group-commit batch, written by `write_buffer.flush` before its commit."""

    events: list[dict[str, Any]] = field(default_factory=list)
    inserts: list[tuple[Any, dict[str, Any]]] = field(default_factory=list)  # (prebuilt statement, row)
    # (prebuilt "SET c = c + :n WHERE id = :row_id" statement, id) -> n: one UPDATE per row and batch.
    counters: dict[tuple[Any, int], int] = field(default_factory=dict)

    def count(self, stmt: Any, row_id: int, n: int) -> None:
        self.counters[(stmt, row_id)] = self.counters.get((stmt, row_id), 0) + n


@dataclass(slots=True)
class Tx:
    """An open write transaction plus what to announce once it commits."""

    conn: AsyncConnection
    last_event_id: int = 0
    jobs_enqueued: bool = False
    after_commit: list[str] = field(default_factory=list)
    # (topic, payload) to publish on the bus once committed, e.g. ("sessions", '{"user_id": 3}').
    publish: list[tuple[str, str]] = field(default_factory=list)
    # Per-user send quotas (per hour, per day; 0 = none) the runtime's settings ask for.
    send_quota: tuple[int, int] = (0, 0)
    # Key of the identity hashes (privacy/identity_hash.py): erased numbers are looked up by it.
    identity_key: bytes = b""
    settings: Any = None  # the process's Settings, for actions that fall back to installation defaults
    memo: dict[Any, Any] = field(default_factory=dict)  # rows read once per transaction (e.g. teams)
    # Group commit only: events and jobs wait here and go in together before the commit (write_buffer).
    buffer: WriteBuffer | None = None

    @property
    def zone(self) -> str:
        """The installation's time zone: the report counters are per day there."""
        return str(getattr(self.settings, "timezone", None) or "America/Sao_Paulo")

    @property
    def dialect(self) -> str:
        return self.conn.dialect.name


@asynccontextmanager
async def transaction(engine: AsyncEngine, bus: EventBus | None,
                      send_quota: tuple[int, int] = (0, 0), identity_key: bytes = b"",
                      settings: Any = None) -> AsyncIterator[Tx]:
    async with write_tx(engine) as conn:
        tx = Tx(conn, send_quota=send_quota, identity_key=identity_key, settings=settings)
        yield tx
    # Committed: wake the SSE streams and the workers. A lost wake-up only costs latency.
    if bus is not None:
        if tx.last_event_id:
            await bus.publish("events", str(tx.last_event_id))
        if tx.jobs_enqueued:
            await bus.publish("jobs", "")
        for topic, payload in tx.publish:
            await bus.publish(topic, payload)
