"""The balance timer: read each connector's provider balance (Kolmeya) every `balance_poll_s`."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import select

from atende.actions import balances
from atende.channels.base import ProviderError, provider_reason
from atende.db.tables import connectors
from atende.jobs.worker import Reschedule

if TYPE_CHECKING:
    from atende.jobs.worker import Handler
    from atende.runtime import Runtime

log = structlog.get_logger(__name__)
JOB = "poll_balances"


def threshold_of(config: Any) -> Decimal | None:
    value = getattr(config, "low_balance_threshold", None)
    return None if value is None else Decimal(str(value))


async def poll_balances(rt: Runtime, job: Any) -> Reschedule | None:
    interval = rt.settings.balance_poll_s
    if interval <= 0:
        return None
    async with rt.read() as conn:
        ids = [int(r.id) for r in await conn.execute(select(connectors.c.id).where(connectors.c.active.is_(True)))]
    for connector_id in ids:
        loaded = await rt.connector(connector_id)
        provider: Any = loaded.provider if loaded is not None else None
        if loaded is None or not hasattr(provider, "balance"):
            continue
        balance: Decimal | None = None
        error: str | None = None
        try:
            balance = await provider.balance()
        except ProviderError as exc:  # the reason in words; the last known balance stays shown
            error = provider_reason(exc)
            log.info("balance poll failed", connector_id=connector_id)
        async with rt.write() as tx:
            await balances.record(tx, connector_id, balance=balance, threshold=threshold_of(loaded.config),
                                  error=error)
    return Reschedule(rt.clock() + timedelta(seconds=interval))  # the worker's clock (tests travel in time)


HANDLERS: dict[str, Handler] = {JOB: poll_balances}
