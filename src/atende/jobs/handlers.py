"""Job kind → what runs it. Each kind lives in a module named for what it does; handlers call
providers and record outcomes through actions (providers translate, actions write, jobs run)."""

from __future__ import annotations

from atende.integrations.odoo import jobs as odoo_jobs
from atende.jobs import balances as balance_jobs
from atende.jobs import campaigns as campaign_jobs
from atende.jobs import csat as csat_jobs
from atende.jobs import db_statistics
from atende.jobs.common import connector_info, sendable
from atende.jobs.lifecycle import apply_status_later, blacklist_sync, optout_confirmation, sweep
from atende.jobs.media import fetch_media, fetch_media_dead
from atende.jobs.polling import ensure_periodic, poll_provider
from atende.jobs.privacy import media_purge, retention
from atende.jobs.profiles import fetch_profile
from atende.jobs.provider_events import provider_event
from atende.jobs.routing import conversation_timer, route, route_all, route_queue
from atende.jobs.sending import mark_read, send_message, send_message_dead
from atende.jobs.worker import DeadHook, Handler

HANDLERS: dict[str, Handler] = {
    "send_message": send_message,
    "mark_read": mark_read,
    "apply_status_later": apply_status_later,
    "route": route,
    "route_all": route_all,
    "route_queue": route_queue,
    "conversation_timer": conversation_timer,
    "optout_confirmation": optout_confirmation,
    "blacklist_sync": blacklist_sync,
    "poll_provider": poll_provider,
    "provider_event": provider_event,
    "sweep": sweep,
    "fetch_media": fetch_media,
    "fetch_profile": fetch_profile,
    "media_purge": media_purge,
    "retention": retention,
    **odoo_jobs.HANDLERS,  # partner lookups and chatter transcripts
    **balance_jobs.HANDLERS,  # provider balances for the dashboard
    **campaign_jobs.HANDLERS,  # the campaign pacer
    **csat_jobs.HANDLERS,  # the satisfaction survey after a close
    **db_statistics.HANDLERS,  # SQLite's planner statistics, daily
}
DEAD_HOOKS: dict[str, DeadHook] = {"send_message": send_message_dead, "fetch_media": fetch_media_dead,
                                   **odoo_jobs.DEAD_HOOKS}

__all__ = ["DEAD_HOOKS", "HANDLERS", "connector_info", "ensure_periodic", "sendable"]
