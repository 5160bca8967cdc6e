"""Jobs about conversations and contacts: the periodic sweep, opt-out confirmations and the provider
blocklist, late statuses. (Routing and the conversation timers: jobs/routing.py.)"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from atende.actions import outbound
from atende.actions.contacts import phones_of
from atende.actions.optout import DEFAULT_CONFIRMATION
from atende.actions.quotas import prune as prune_send_counters
from atende.actions.routing import auto_away
from atende.actions.statuses import apply_status, load_status, prune_parked
from atende.channels.base import Blocklist
from atende.db.tx import Tx
from atende.db.types import utcnow
from atende.jobs.common import loaded_connector, sendable
from atende.jobs.worker import Reschedule

if TYPE_CHECKING:
    from atende.runtime import Runtime


async def apply_status_later(rt: Runtime, job: Any) -> None:
    """Jobs of this kind queued before parked statuses existed: applied, or parked, once."""
    async with rt.write() as tx:
        await apply_status(tx, int(job.payload["connector_id"]), load_status(job.payload["status"]))


async def optout_confirmation(rt: Runtime, job: Any) -> None:
    connector = await loaded_connector(rt, int(job.payload["connector_id"]))
    text = getattr(connector.config, "opt_out_confirmation", None) or DEFAULT_CONFIRMATION
    follow_up = {"kind": "blacklist_sync",
                 "payload": {"connector_id": connector.id, "contact_id": job.payload["contact_id"], "add": True}}
    async with rt.write() as tx:
        await outbound.queue_message(tx, sendable(connector), int(job.payload["conversation_id"]), text=text,
                                     author_id=None, take=False, bypass_opt_out=True, on_sent=follow_up)


async def blacklist_sync(rt: Runtime, job: Any) -> None:
    connector = await loaded_connector(rt, int(job.payload["connector_id"]))
    provider = connector.provider
    async with rt.read() as conn:
        phones = await phones_of(Tx(conn), int(job.payload["contact_id"]))
    if not phones or not isinstance(provider, Blocklist):
        return
    if job.payload["add"]:
        await provider.blacklist_add(phones)
    else:
        await provider.blacklist_remove(phones)


async def sweep(rt: Runtime, job: Any) -> Reschedule:
    """Periodic: agents with no live connection for a while become away. (Release and auto-close are
    per-conversation timers: see jobs/routing.conversation_timer.)"""
    s = rt.settings
    async with rt.write() as tx:
        if s.auto_away_after_s > 0:
            await auto_away(tx, timedelta(seconds=s.auto_away_after_s))
        await prune_parked(tx, timedelta(seconds=s.parked_status_ttl_s))
        await prune_send_counters(tx)
    return Reschedule(utcnow() + timedelta(seconds=s.sweep_interval_s))
