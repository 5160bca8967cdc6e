"""Per-user send quotas: a stolen agent account cannot message thousands of numbers.

Counted per user per hour in `send_counters` (a day is at most 24 rows), inside the send's own
transaction, so a refused send leaves no trace and two processes cannot both slip past the limit.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from atende.actions.errors import TooMany
from atende.db.prepared import insert_ignore_stmt
from atende.db.tables import send_counters
from atende.db.tx import Tx
from atende.db.types import utcnow


async def charge_send(tx: Tx, user_id: int) -> None:
    """Count one message queued by `user_id`; TooMany (429) past the hourly or daily quota."""
    per_hour, per_day = tx.send_quota
    if per_hour <= 0 and per_day <= 0:
        return
    hour = utcnow().replace(minute=0, second=0, microsecond=0)
    await tx.conn.execute(insert_ignore_stmt(send_counters, tx.dialect), {"user_id": user_id, "hour": hour, "n": 0})
    await tx.conn.execute(update(send_counters).where(send_counters.c.user_id == user_id, send_counters.c.hour == hour)
                          .values(n=send_counters.c.n + 1))
    if per_hour > 0:
        now_n = await tx.conn.scalar(select(send_counters.c.n).where(
            send_counters.c.user_id == user_id, send_counters.c.hour == hour))
        if (now_n or 0) > per_hour:
            raise TooMany("limite de %(n)s mensagens por hora atingido; tente mais tarde ou fale com um "
                          "administrador", code="send_quota", params={"n": per_hour})
    if per_day > 0:
        day_n = await tx.conn.scalar(select(func.coalesce(func.sum(send_counters.c.n), 0)).where(
            send_counters.c.user_id == user_id, send_counters.c.hour > hour - timedelta(hours=24)))
        if int(day_n or 0) > per_day:
            raise TooMany("limite de %(n)s mensagens por dia atingido; fale com um administrador",
                          code="send_quota", params={"n": per_day})


async def prune(tx: Tx) -> None:
    await tx.conn.execute(send_counters.delete().where(send_counters.c.hour < utcnow() - timedelta(days=2)))
