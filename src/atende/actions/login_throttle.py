"""Login throttling shared by every process (the `login_throttle` table): per account and per address.

Each key may fail `limit` times a minute; then it is blocked for a minute, and every block that
follows within the back-off horizon doubles, up to `max_block`. A successful login clears the
account's key (never the address's: one good password must not unlock a sprayed IP).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from atende.db.prepared import insert_ignore_stmt
from atende.db.tables import login_throttle
from atende.db.tx import Tx
from atende.db.types import utcnow

WINDOW = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class ThrottleKey:
    key: str
    limit: int


def account_key(email: str, limit: int) -> ThrottleKey:
    # Hashed: the table holds no e-mail addresses, even of people who are not users.
    return ThrottleKey("acct:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:40], limit)


def ip_key(ip: str, limit: int) -> ThrottleKey:
    return ThrottleKey("ip:" + ip[:64], limit)


async def blocked_for(tx: Tx, keys: list[ThrottleKey], now: datetime | None = None) -> float:
    """Seconds until every key may try again; 0 when none is blocked."""
    now = now or utcnow()
    rows = await tx.conn.execute(select(login_throttle.c.blocked_until).where(
        login_throttle.c.key.in_([k.key for k in keys]), login_throttle.c.blocked_until > now))
    waits = [(r.blocked_until - now).total_seconds() for r in rows]
    return max(waits, default=0.0)


async def record_failure(tx: Tx, keys: list[ThrottleKey], *, max_block_s: int,
                         now: datetime | None = None) -> None:
    now = now or utcnow()
    horizon = timedelta(seconds=max_block_s) + WINDOW
    for k in keys:
        await tx.conn.execute(insert_ignore_stmt(login_throttle, tx.dialect),
                              {"key": k.key, "failures": 0, "window_start": now, "strikes": 0})
        row = (await tx.conn.execute(select(login_throttle).where(login_throttle.c.key == k.key)
                                     .with_for_update())).one()
        failures, strikes, start = row.failures, row.strikes, row.window_start
        if now - start > WINDOW:
            if now - start > horizon:  # quiet long enough: the back-off starts over
                strikes = 0
            failures, start = 0, now
        failures += 1
        values: dict[str, object] = {"failures": failures, "window_start": start, "strikes": strikes}
        if failures >= k.limit:
            block = min(max_block_s, int(WINDOW.total_seconds()) * 2**min(strikes, 20))
            values.update(failures=0, window_start=now, strikes=strikes + 1,
                          blocked_until=now + timedelta(seconds=block))
        await tx.conn.execute(update(login_throttle).where(login_throttle.c.key == k.key).values(**values))


async def clear(tx: Tx, key: ThrottleKey) -> None:
    await tx.conn.execute(delete(login_throttle).where(login_throttle.c.key == key.key))
