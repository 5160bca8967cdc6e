"""Events, jobs and counters of a group-commit batch, written together just before the commit.

One multi-row INSERT for a batch's events (and one executemany per kind of job insert, one UPDATE
per counter row) instead of statements per message. Nothing reads these rows inside the transaction
that writes them, and they are flushed in append order before the same commit, so readers see
exactly what they saw before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from atende.db.prepared import insert_returning_id
from atende.db.tables import events

if TYPE_CHECKING:
    from atende.db.tx import Tx


async def flush(tx: Tx) -> None:
    """Insert what `tx` buffered (a no-op without a buffer); sets `tx.last_event_id`."""
    buffer = tx.buffer
    if buffer is None:
        return
    if buffer.events:
        rows, buffer.events = buffer.events, []
        ids = (await tx.conn.execute(insert_returning_id(events), rows)).scalars().all()
        tx.last_event_id = max(tx.last_event_id, *(int(i) for i in ids))
    pending, buffer.inserts = buffer.inserts, []
    start = 0
    while start < len(pending):  # consecutive rows of the same statement go in one executemany
        stmt = pending[start][0]
        end = start
        while end < len(pending) and pending[end][0] is stmt:
            end += 1
        await tx.conn.execute(stmt, [row for _, row in pending[start:end]])
        start = end
    counters, buffer.counters = buffer.counters, {}
    for (stmt, row_id), n in counters.items():
        await tx.conn.execute(stmt, {"row_id": row_id, "n": n})
