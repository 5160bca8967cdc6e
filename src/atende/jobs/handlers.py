"""What each job kind does. Handlers call providers and record outcomes through actions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import select

from atende.actions import outbound
from atende.actions.connectors import save_state
from atende.actions.contacts import phones_of
from atende.actions.ingest import ConnectorInfo, ingest_batch
from atende.actions.optout import DEFAULT_CONFIRMATION
from atende.actions.quotas import prune as prune_send_counters
from atende.actions.references import reference_of
from atende.actions.routing import route_conversation, route_waiting
from atende.actions.statuses import apply_status, load_status, prune_parked
from atende.channels.base import MediaRef, OutboundMessage, ProviderError, SendResult, StatusUpdate
from atende.db.tables import connectors, conversations, messages
from atende.db.types import utcnow
from atende.integrations.odoo import jobs as odoo_jobs
from atende.jobs import whatsapp as whatsapp_jobs
from atende.jobs.worker import DeadHook, Handler, PermanentJobError, Reschedule, Retry
from atende.metrics import SENDS

if TYPE_CHECKING:
    from atende.runtime import LoadedConnector, Runtime

log = structlog.get_logger(__name__)


def connector_info(c: LoadedConnector, *, auto_assign: bool = True) -> ConnectorInfo:
    return ConnectorInfo(
        id=c.id, channel=c.channel, provider=c.provider_name,
        opt_out_keywords=tuple(getattr(c.config, "opt_out_keywords", ()) or ()),
        opt_in_keywords=tuple(getattr(c.config, "opt_in_keywords", ()) or ()),
        auto_assign=auto_assign,
    )


async def _connector(rt: Runtime, connector_id: int) -> LoadedConnector:
    loaded = await rt.connector(connector_id)
    if loaded is None:
        raise PermanentJobError(f"connector {connector_id} not found")
    return loaded


async def send_message(rt: Runtime, job: Any) -> None:
    message_id = int(job.payload["message_id"])
    async with rt.write() as tx:
        row = await outbound.mark_sending(tx, message_id)
    if row.status not in ("queued", "sending"):
        return  # already sent or failed by an earlier run: sending again would duplicate it
    connector = await _connector(rt, row.connector_id)
    provider: Any = connector.provider
    if row.status == "sending" and hasattr(provider, "find_sent"):
        # An earlier attempt died mid-send: ask the provider before sending twice.
        found: SendResult | None = await provider.find_sent(reference_of(row))
        if found is not None:
            async with rt.write() as tx:
                await outbound.record_send_result(tx, message_id, found)
            return
    async with rt.read() as conn:
        conv = (await conn.execute(select(conversations.c.address).where(
            conversations.c.id == row.conversation_id))).one()
        reply_to = None
        if row.reply_to_id:
            reply_to = await conn.scalar(select(messages.c.provider_message_id).where(
                messages.c.id == row.reply_to_id))
    media = None
    link = (row.attributes or {}).get("media_url")
    if row.media_id and rt.media_ref_for_send is not None:
        media = await rt.media_ref_for_send(connector, row.media_id)
    elif isinstance(link, str):  # a public link instead of an uploaded file (WhatsApp `{"link": …}`)
        media = MediaRef(url=link)
    template = (row.attributes or {}).get("template")
    out = OutboundMessage(
        reference=reference_of(row), to=conv.address, kind=row.kind, text=row.text, template=template,
        media=media if isinstance(media, MediaRef) else None, reply_to_provider_id=reply_to,
        reaction=(row.attributes or {}).get("reaction"), webhook_url=rt.webhook_url(connector.webhook_token),
    )
    if rt.send_limiter is not None:
        await rt.send_limiter.acquire(connector, conv.address)
    try:
        result = await provider.send(out)  # ProviderError(transient) → the worker retries
    except ProviderError as exc:
        SENDS.labels(connector.provider_name, "retry" if exc.transient else "error").inc()
        raise
    SENDS.labels(connector.provider_name, result.status).inc()
    async with rt.write() as tx:
        await outbound.record_send_result(tx, message_id, result)


async def send_message_dead(rt: Runtime, job: Any, error: str) -> None:
    message_id = int(job.payload["message_id"])
    async with rt.write() as tx:
        row = await outbound.mark_sending(tx, message_id)
        if row.status in ("queued", "sending"):
            await outbound.record_send_result(tx, message_id, SendResult(
                reference=str(message_id), status="failed",
                error=f"não foi possível enviar após várias tentativas: {error}"))


async def apply_status_later(rt: Runtime, job: Any) -> None:
    """Jobs of this kind queued before parked statuses existed: applied, or parked, once."""
    async with rt.write() as tx:
        await apply_status(tx, int(job.payload["connector_id"]), load_status(job.payload["status"]))


async def route(rt: Runtime, job: Any) -> None:
    if not rt.settings.auto_assign:
        return
    async with rt.write() as tx:
        await route_conversation(tx, int(job.payload["conversation_id"]))


async def route_all(rt: Runtime, job: Any) -> None:
    if not rt.settings.auto_assign:
        return
    async with rt.write() as tx:
        await route_waiting(tx)


async def optout_confirmation(rt: Runtime, job: Any) -> None:
    connector = await _connector(rt, int(job.payload["connector_id"]))
    text = getattr(connector.config, "opt_out_confirmation", None) or DEFAULT_CONFIRMATION
    follow_up = {"kind": "blacklist_sync",
                 "payload": {"connector_id": connector.id, "contact_id": job.payload["contact_id"], "add": True}}
    async with rt.write() as tx:
        await outbound.queue_message(tx, _Sendable(connector), int(job.payload["conversation_id"]), text=text,
                                     author_id=None, take=False, bypass_opt_out=True, on_sent=follow_up)


async def blacklist_sync(rt: Runtime, job: Any) -> None:
    connector = await _connector(rt, int(job.payload["connector_id"]))
    provider: Any = connector.provider
    async with rt.read() as conn:
        from atende.db.tx import Tx

        phones = await phones_of(Tx(conn), int(job.payload["contact_id"]))
    if not phones or not hasattr(provider, "blacklist_add"):
        return
    if job.payload["add"]:
        await provider.blacklist_add(phones)
    else:
        await provider.blacklist_remove(phones)


POLL_STATUS_WINDOW = timedelta(hours=48)


async def poll_provider(rt: Runtime, job: Any) -> Reschedule | None:
    """Reply and status polling (Kolmeya webhooks are known to go missing); deduplicated by ingest."""
    connector = await _connector(rt, int(job.payload["connector_id"]))
    interval = int(getattr(connector.config, "poll_interval_s", 0) or 0)
    provider: Any = connector.provider
    if not connector.active or interval <= 0 or not hasattr(provider, "poll_replies"):
        return None  # polling switched off: the job ends; enabling it again re-creates it
    async with rt.read() as conn:
        state = (await conn.scalar(select(connectors.c.state).where(connectors.c.id == connector.id))) or {}
        pending = await conn.execute(
            select(messages.c.provider_request_id).distinct().where(
                messages.c.connector_id == connector.id, messages.c.direction == "out",
                messages.c.status.in_(("sent", "sending")), messages.c.provider_request_id.is_not(None),
                messages.c.created_at > utcnow() - POLL_STATUS_WINDOW,
            ).limit(500))
        request_ids = [r[0] for r in pending]
    last = state.get("last_reply_poll")
    # Ask for the hours since the last successful poll (at least 1, at most Kolmeya's 168).
    hours = 24 if last is None else (utcnow() - datetime.fromisoformat(last)).total_seconds() / 3600 + 1
    batch = await provider.poll_replies(max(1, min(168, int(hours) + 1)))
    if request_ids:
        batch.extend(await provider.poll_statuses(request_ids))
    async with rt.write() as tx:
        await ingest_batch(tx, connector_info(connector, auto_assign=rt.settings.auto_assign), batch)
        await save_state(tx, connector.id, {**state, "last_reply_poll": utcnow().isoformat()})
    return Reschedule(utcnow() + timedelta(seconds=interval))


async def provider_event(rt: Runtime, job: Any) -> None:
    connector = await _connector(rt, int(job.payload["connector_id"]))
    kind, data = job.payload["type"], job.payload["data"]
    if kind == "request_rejected" and data.get("request_id"):
        async with rt.read() as conn:
            rows = list(await conn.execute(select(messages.c.id, messages.c.reference).where(
                messages.c.connector_id == connector.id,
                messages.c.provider_request_id == str(data["request_id"]))))
        async with rt.write() as tx:
            for row in rows:
                await apply_status(tx, connector.id, StatusUpdate(
                    status="failed", timestamp=datetime.now(UTC), raw=data, reference=reference_of(row),
                    error=str(data.get("status_message") or "envio rejeitado pelo provedor")))
        return
    if rt.provider_event_hook is not None:
        await rt.provider_event_hook(connector, kind, data)
    else:
        log.info("provider event ignored", connector_id=connector.id, type=kind)


async def sweep(rt: Runtime, job: Any) -> Reschedule:
    """Periodic: auto-release unanswered chats and auto-close idle ones."""
    from atende.actions.routing import auto_close_idle, auto_release_unanswered

    s = rt.settings
    async with rt.write() as tx:
        if s.auto_release_after_s > 0:
            await auto_release_unanswered(tx, timedelta(seconds=s.auto_release_after_s))
        if s.auto_close_after_s > 0:
            await auto_close_idle(tx, timedelta(seconds=s.auto_close_after_s))
        await prune_parked(tx, timedelta(seconds=s.parked_status_ttl_s))
        await prune_send_counters(tx)
    return Reschedule(utcnow() + timedelta(seconds=s.sweep_interval_s))


class _Sendable:
    """Adapts a LoadedConnector to what outbound.queue_message expects."""

    def __init__(self, c: LoadedConnector) -> None:
        self.id, self.channel, self.config = c.id, c.channel, c.config
        self.capabilities = c.provider.capabilities


def sendable(c: LoadedConnector) -> _Sendable:
    return _Sendable(c)


async def fetch_media(rt: Runtime, job: Any) -> None:
    if rt.fetch_media_hook is None:
        raise Retry("media store not configured", delay=60)
    await rt.fetch_media_hook(int(job.payload["connector_id"]), int(job.payload["message_id"]))


async def media_purge(rt: Runtime, job: Any) -> None:
    """Files of erased or expired media, deleted once their rows are gone (idempotent)."""
    from atende.actions.erasure import purge_files

    await purge_files(rt, [str(k) for k in job.payload.get("keys") or []])


async def retention(rt: Runtime, job: Any) -> Reschedule:
    """Daily: the retention policy applied in batches (actions/retention.py)."""
    from atende.actions import retention as retention_actions

    report = await retention_actions.run(rt)
    log.info("retention applied", **report.counts())  # counts only: never what was removed
    return Reschedule(retention_actions.next_run(utcnow(), rt.settings.timezone))


HANDLERS: dict[str, Handler] = {
    "send_message": send_message,
    "apply_status_later": apply_status_later,
    "route": route,
    "route_all": route_all,
    "optout_confirmation": optout_confirmation,
    "blacklist_sync": blacklist_sync,
    "poll_provider": poll_provider,
    "provider_event": provider_event,
    "sweep": sweep,
    "fetch_media": fetch_media,
    "media_purge": media_purge,
    "retention": retention,
    **whatsapp_jobs.HANDLERS,  # ordered, paced send_message (wraps the one above) and mark_read
    **odoo_jobs.HANDLERS,  # partner lookups and chatter transcripts
}
DEAD_HOOKS: dict[str, DeadHook] = {"send_message": send_message_dead, **whatsapp_jobs.DEAD_HOOKS,
                                   **odoo_jobs.DEAD_HOOKS}


async def ensure_periodic(rt: Runtime) -> None:
    """Create the periodic jobs that should exist (idempotent: dedup keys)."""
    from atende.jobs.queue import enqueue

    async with rt.read() as conn:
        rows = list(await conn.execute(select(connectors.c.id).where(connectors.c.active.is_(True))))
    async with rt.write() as tx:
        await enqueue(tx, "sweep", {}, dedup_key="sweep")
        from atende.actions.retention import next_run

        await enqueue(tx, "retention", {}, dedup_key="retention", run_at=next_run(utcnow(), rt.settings.timezone))
        for row in rows:
            loaded = await rt.connector(row.id)
            if loaded is not None and hasattr(loaded.provider, "poll_replies") and \
                    int(getattr(loaded.config, "poll_interval_s", 0) or 0) > 0:
                await enqueue(tx, "poll_provider", {"connector_id": row.id}, dedup_key=f"poll:{row.id}")


__all__ = ["DEAD_HOOKS", "HANDLERS", "ensure_periodic", "sendable"]
