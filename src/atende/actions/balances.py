"""Provider balances, as the timer job last read them, and the low-balance alert.

The balance is polled on a timer (jobs.balances), never per page view. Crossing the connector's
threshold (`low_balance_threshold` in its config) appends `connector.balance_low`, and going back
above it `connector.balance_ok`; every reading appends `connector.balance`, so open dashboards
update. Events carry no conversation, so only supervisors and admins receive them.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from atende.db.tables import connector_balances
from atende.db.tx import Tx
from atende.db.types import utcnow
from atende.realtime import events


def is_low(balance: Decimal | None, threshold: Decimal | None) -> bool:
    return balance is not None and threshold is not None and balance < threshold


async def record(tx: Tx, connector_id: int, *, balance: Decimal | None, threshold: Decimal | None,
                 error: str | None = None) -> bool:
    """Store a reading (or the reason there is none: the last balance is kept); returns whether it is low."""
    before = (await tx.conn.execute(select(connector_balances).where(
        connector_balances.c.connector_id == connector_id).with_for_update())).first()
    known = balance if balance is not None else (before.balance if before is not None else None)
    low = is_low(known, threshold)
    values = {"balance": known, "low": low, "checked_at": utcnow(), "error": error}
    mod = postgresql if tx.dialect == "postgresql" else sqlite
    await tx.conn.execute(mod.insert(connector_balances).values(connector_id=connector_id, **values)
                          .on_conflict_do_update(index_elements=["connector_id"], set_=values))
    shown = {"connector_id": connector_id, "balance": None if known is None else str(known),
             "threshold": None if threshold is None else str(threshold), "low": low}
    await events.append(tx, "connector.balance", {**shown, "error": error})
    was_low = bool(before.low) if before is not None else False
    if low and not was_low:
        await events.append(tx, "connector.balance_low", shown)
    elif was_low and not low and known is not None:
        await events.append(tx, "connector.balance_ok", shown)
    return low
