"""The campaign pacer: one `campaign_tick` job per campaign that is not over, rescheduled after each
batch so that the campaign goes out at its `rate_per_minute` (and the connector's throughput).

A tick: wait for a scheduled start; settle batches whose answer was lost (a crash, a timeout: the
provider is asked by the batch's reference, nothing is re-sent blindly); stop outside the sending
window until it opens again; claim the next batch, send it, record the outcome. The time comes from
`rt.clock`, so tests move it instead of sleeping.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import select

from atende.actions import campaign_sends as sends
from atende.actions import campaigns as campaign_actions
from atende.channels.base import OutboundMessage, ProviderError, SendResult
from atende.db.tables import campaigns
from atende.db.tx import Tx
from atende.domain.campaign_estimate import MessageSpec
from atende.domain.campaign_pacing import effective_rate, plan
from atende.domain.campaign_refs import batch_reference, recipient_reference
from atende.domain.sending_window import SendingWindow
from atende.jobs.worker import Reschedule

if TYPE_CHECKING:
    from atende.jobs.worker import Handler
    from atende.runtime import LoadedConnector, Runtime

log = structlog.get_logger(__name__)

PAUSED_POLL = timedelta(seconds=30)  # a paused campaign's job looks again (resume also wakes it)
IN_FLIGHT_POLL = timedelta(seconds=30)
MAX_BATCH = 1000  # Kolmeya's /sms/store limit
ONE_BY_ONE_BATCH = 100  # providers without batch sends: messages per tick
CONCURRENT_SENDS = 8
#: Refusals that hold for every recipient (credentials, account, the template itself): the campaign
#: pauses with the reason instead of failing its whole list.
STOPPERS = frozenset({"unauthorized", "forbidden", "validation", "not_found", "bad_url", "190", "0", "3", "10",
                      "131031", "131042", "368", "133010", "132000", "132001", "132005", "132007", "132012",
                      "132015", "132016"})
LOST = ("o envio foi interrompido e não sabemos se a mensagem saiu; ela não foi reenviada para não duplicar")
REFUSED_LOST = "a Kolmeya não aceitou este número (a resposta do envio se perdeu)"


async def campaign_tick(rt: Runtime, job: Any) -> Reschedule | None:
    campaign_id = int(job.payload["campaign_id"])
    now = rt.clock()
    async with rt.read() as conn:
        c = (await conn.execute(select(campaigns).where(campaigns.c.id == campaign_id))).first()
    if c is None or c.status not in ("scheduled", "running", "paused"):
        return None
    if c.status == "paused":
        return Reschedule(now + PAUSED_POLL)
    if c.status == "scheduled":
        if c.schedule_at is not None and c.schedule_at > now:
            return Reschedule(c.schedule_at)
        async with rt.write() as tx:
            if not await sends.begin_scheduled(tx, campaign_id, now):
                return None
    connector = await rt.connector(int(c.connector_id))
    if connector is None:
        return None
    await _settle_lost_batches(rt, connector, c, now)
    window = SendingWindow.parse(c.send_window) if c.send_window else None
    if window is not None and not window.is_open(now):
        opening = window.next_opening(now)
        async with rt.write() as tx:
            await sends.set_waiting(tx, campaign_id, opening)
        return Reschedule(opening)
    if c.waiting_until is not None:
        async with rt.write() as tx:
            await sends.set_waiting(tx, campaign_id, None)
    return await _next_batch(rt, connector, c, now)


def _pace(connector: LoadedConnector, rate_per_minute: int) -> tuple[int, float]:
    per_second = getattr(connector.config, "rate_per_second", None)
    batched = hasattr(connector.provider, "send_many")
    return plan(effective_rate(rate_per_minute, per_second), MAX_BATCH if batched else ONE_BY_ONE_BATCH)


async def _next_batch(rt: Runtime, connector: LoadedConnector, c: Any, now: Any) -> Reschedule | None:
    size, interval = _pace(connector, c.rate_per_minute)
    async with rt.write() as tx:
        batch_no, rows = await sends.claim(tx, c, size, now)
        if not rows:
            if await sends.in_flight(tx, c.id):
                return Reschedule(now + IN_FLIGHT_POLL)
            await sends.finish_if_done(tx, c.id, now)
            return None
    outcomes, stop, retry_after = await _send(rt, connector, c, batch_no, rows)
    async with rt.write() as tx:
        await sends.record(tx, c.id, outcomes, now)
        if stop is not None:
            current = await campaign_actions.load(tx, c.id)
            if current.status == "running":
                await campaign_actions.pause(tx, c.id, now=now, actor_id=None, reason=stop)
            return Reschedule(now + PAUSED_POLL)
        if await sends.finish_if_done(tx, c.id, now):  # that was the last batch
            return None
    wait = max(interval, retry_after or 0.0)
    return Reschedule(now + timedelta(seconds=wait))


def _outbound(rt: Runtime, connector: LoadedConnector, c: Any, row: Any) -> OutboundMessage:
    webhook = rt.webhook_url(connector.webhook_token)
    reference = recipient_reference(row.id, c.ref_key)
    if c.template:
        spec = MessageSpec(params=c.template.get("params") or [])
        components, _ = spec.send_components(row.vars or {})
        template = {"name": c.template["name"], "language": c.template.get("language") or "pt_BR",
                    "components": components}
        return OutboundMessage(reference=reference, to=row.address_key, kind="template", text=row.text,
                               template=template, webhook_url=webhook)
    return OutboundMessage(reference=reference, to=row.address_key, kind="text", text=row.text, webhook_url=webhook)


async def _send(rt: Runtime, connector: LoadedConnector, c: Any, batch_no: int, rows: list[Any]) -> tuple[
        list[sends.Outcome], str | None, float | None]:
    """Hand a claimed batch to the provider: (outcomes, reason to pause the campaign, wait hint)."""
    provider: Any = connector.provider
    messages = [_outbound(rt, connector, c, row) for row in rows]
    ids = {recipient_reference(row.id, c.ref_key): int(row.id) for row in rows}
    if hasattr(provider, "send_many"):
        try:
            results = await provider.send_many(messages, reference=batch_reference(c.id, batch_no))
        except ProviderError as exc:
            if exc.transient:  # it may or may not have arrived: the next tick asks the provider
                async with rt.write() as tx:
                    await sends.mark_in_doubt(tx, list(ids.values()), exc.message)
                return [], None, exc.retry_after
            return [sends.Outcome(i, None) for i in ids.values()], exc.message, None
        return [sends.Outcome(ids[r.reference], None if r.status == "queued" else r)
                for r in results if r.reference in ids], None, None
    return await _send_one_by_one(rt, connector, provider, messages, ids)


async def _send_one_by_one(rt: Runtime, connector: LoadedConnector, provider: Any, messages: list[OutboundMessage],
                           ids: dict[str, int]) -> tuple[list[sends.Outcome], str | None, float | None]:
    gate = asyncio.Semaphore(CONCURRENT_SENDS)
    outcomes: list[sends.Outcome] = []
    doubtful: list[int] = []
    stop: list[str] = []
    waits: list[float] = []

    async def one(message: OutboundMessage) -> None:
        recipient_id = ids[message.reference]
        if stop:
            outcomes.append(sends.Outcome(recipient_id, None))
            return
        async with gate:
            await rt.pacer.acquire(connector, message.to)  # throughput and pair limits
            try:
                result: SendResult = await provider.send(message)
            except ProviderError as exc:
                if exc.transient and exc.code == "timeout":
                    doubtful.append(recipient_id)
                elif exc.transient:  # throughput / pair limits: back in the queue, and slow down
                    waits.append(exc.retry_after or 0.0)
                    outcomes.append(sends.Outcome(recipient_id, None))
                    rt.pacer.penalize(connector, message.to, exc.code, exc.retry_after)
                else:
                    stop.append(exc.message)
                    outcomes.append(sends.Outcome(recipient_id, None))
                return
        if result.status == "failed" and (result.error_code or "") in STOPPERS:
            stop.append(result.error or "o provedor recusou o envio")
            outcomes.append(sends.Outcome(recipient_id, None))
            return
        outcomes.append(sends.Outcome(recipient_id, result))

    await asyncio.gather(*(one(m) for m in messages))
    if doubtful:
        async with rt.write() as tx:
            await sends.mark_in_doubt(tx, doubtful, "tempo esgotado esperando o provedor")
    return outcomes, (stop[0] if stop else None), (max(waits) if waits else None)


async def _settle_lost_batches(rt: Runtime, connector: LoadedConnector, c: Any, now: Any) -> None:
    """Batches left `sending` by a dead worker or a timeout: ask the provider what it took."""
    campaign_id = int(c.id)
    async with rt.read() as conn:
        lost = await sends.in_doubt(Tx(conn), campaign_id, now)
    provider: Any = connector.provider
    for batch_no, recipient_ids in lost.items():
        refs = {i: recipient_reference(i, c.ref_key) for i in recipient_ids}
        if hasattr(provider, "find_batch"):
            found = await provider.find_batch(batch_reference(campaign_id, batch_no))  # transient: retried
            if found is None:  # the request never arrived: these go out with a later batch
                outcomes = [sends.Outcome(i, None) for i in recipient_ids]
            else:
                taken = {r.reference: r for r in found}
                outcomes = [sends.Outcome(i, taken.get(ref) or SendResult(ref, "failed", error_code="refused",
                                                                           error=REFUSED_LOST))
                            for i, ref in refs.items()]
        else:
            outcomes = [sends.Outcome(i, SendResult(ref, "failed", error_code="lost", error=LOST))
                        for i, ref in refs.items()]
        log.warning("campaign batch settled after losing its answer", campaign_id=campaign_id, batch=batch_no,
                    recipients=len(recipient_ids))
        async with rt.write() as tx:
            await sends.record(tx, campaign_id, outcomes, now)


async def campaign_progress(rt: Runtime, job: Any) -> None:
    """The campaign.progress event that a burst of statuses or replies held back."""
    async with rt.write() as tx:
        await campaign_actions.announce_progress(tx, int(job.payload["campaign_id"]), force=True)


HANDLERS: dict[str, Handler] = {campaign_actions.TICK: campaign_tick, campaign_actions.PROGRESS: campaign_progress}
