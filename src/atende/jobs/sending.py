"""Sending: the `send_message` job (any provider) and `mark_read` (read receipts).

A send claims the message (`queued` → `sending`), asks the provider whether an earlier attempt that
died mid-send already went (`SentFinder`), builds the normalized message (media uploaded once,
`MediaUploader`, or sent by link), waits for the pacer and records the outcome through
`atende.actions.outbound`.

Connectors with pacing settings (`atende.jobs.pacing.pacing_of`) also keep a conversation's messages
in order and each recipient within its pair limit: the job is rescheduled, not retried (no attempt is
spent), while an earlier message of the conversation is still queued or being sent (one being sent
right now is waited for in-process, so a burst goes out back to back) or while the recipient's
bucket, rebuilt from our recent sends, is empty. Rate-limit answers slow the pacer down before the
worker retries. Permanent errors raised before the provider call (media missing, refused upload)
fail the message with their exact reason.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import select

from atende.actions import outbound
from atende.actions.references import reference_of
from atende.channels.base import MediaRef, OutboundMessage, ProviderError, SendResult, read_marker, sent_finder
from atende.db.tables import conversations, jobs, media, messages
from atende.db.types import utcnow
from atende.jobs.common import loaded_connector
from atende.jobs.media import media_ref_for_send
from atende.jobs.pacing import Pacing, pacing_of, pair_wait
from atende.jobs.worker import Reschedule
from atende.media.policy import kind_for_mime
from atende.metrics import SENDS

if TYPE_CHECKING:
    from atende.runtime import LoadedConnector, Runtime

log = structlog.get_logger(__name__)

#: Waits shorter than this happen in-process (the pacer sleeps); longer ones reschedule the job.
SHORT_WAIT_S = 0.25
#: How often a job waiting for an earlier message looks again when that one's job is running.
POLL_EARLIER_S = 0.5
#: An earlier message being sent right now is waited for in-process (polling this often), up to
#: WAIT_RUNNING_S; then the job is rescheduled like any other wait.
POLL_RUNNING_S = 0.02
WAIT_RUNNING_S = 2.0
#: An earlier message stuck without a send job this long no longer holds the conversation back.
STUCK_AFTER = timedelta(minutes=2)
_PENDING = ("queued", "sending")


async def send_message(rt: Runtime, job: Any) -> Reschedule | None:
    message_id = int(job.payload["message_id"])
    async with rt.read() as conn:
        row = (await conn.execute(select(messages.c.id, messages.c.conversation_id, messages.c.connector_id,
                                         messages.c.status, messages.c.kind, messages.c.media_id)
                                  .where(messages.c.id == message_id))).first()
    if row is None or row.status not in _PENDING:
        return None  # gone, or already sent or failed by an earlier run
    connector = await loaded_connector(rt, int(row.connector_id))
    pacing = pacing_of(connector.config)
    if pacing is not None:
        problem = await _media_mismatch(rt, row)
        if problem is not None:
            await _fail(rt, message_id, problem, "media_kind")
            return None
        wait = await _hold_back(rt, row, connector, pacing)
        if wait is not None:
            return Reschedule(utcnow() + timedelta(seconds=min(wait, 600.0)))
    try:
        await _send(rt, message_id, connector)
    except ProviderError as exc:
        if not exc.transient:  # e.g. the file is gone or the channel refuses it: the agent reads why
            await _fail(rt, message_id, exc.message, exc.code)
            return None
        if pacing is not None:
            rt.pacer.penalize(connector, await _address(rt, row.conversation_id), exc.code, exc.retry_after)
        raise
    return None


async def _send(rt: Runtime, message_id: int, connector: LoadedConnector) -> None:
    async with rt.write() as tx:
        row = await outbound.mark_sending(tx, message_id)
    if row.status not in _PENDING:
        return  # already sent or failed by an earlier run: sending again would duplicate it
    provider = connector.provider
    finder = sent_finder(provider)
    if row.status == "sending" and finder is not None:
        # An earlier attempt died mid-send: ask the provider before sending twice.
        found = await finder.find_sent(reference_of(row))
        if found is not None:
            async with rt.write() as tx:
                await outbound.record_send_result(tx, message_id, found)
            return
    async with rt.read() as conn:
        address = str(await conn.scalar(select(conversations.c.address).where(
            conversations.c.id == row.conversation_id)))
        reply_to = None
        if row.reply_to_id:
            reply_to = await conn.scalar(select(messages.c.provider_message_id).where(
                messages.c.id == row.reply_to_id))
    attributes = row.attributes or {}
    media_ref: MediaRef | None = None
    link = attributes.get("media_url")
    if row.media_id:
        media_ref = await media_ref_for_send(rt, connector, int(row.media_id))
    elif isinstance(link, str):  # a public link instead of an uploaded file
        media_ref = MediaRef(url=link)
    out = OutboundMessage(
        reference=reference_of(row), to=address, kind=row.kind, text=row.text, template=attributes.get("template"),
        media=media_ref, reply_to_provider_id=reply_to, reaction=attributes.get("reaction"),
        webhook_url=rt.webhook_url(connector.webhook_token), message_tag=attributes.get("message_tag"),
    )
    await rt.pacer.acquire(connector, address)
    try:
        result = await provider.send(out)  # ProviderError(transient) → the worker retries
    except ProviderError as exc:
        SENDS.labels(connector.provider_name, "retry" if exc.transient else "error").inc()
        raise
    SENDS.labels(connector.provider_name, result.status).inc()
    async with rt.write() as tx:
        await outbound.record_send_result(tx, message_id, result)


async def _earlier_holds(rt: Runtime, row: Any) -> float | None:
    """Seconds to wait for an earlier message of the conversation still queued or being sent
    (None: there is none). One being sent right now is waited for in-process, briefly, so a
    burst of messages goes out back to back instead of one poll interval apart."""
    deadline = time.monotonic() + WAIT_RUNNING_S
    while True:
        now = utcnow()
        async with rt.read() as conn:
            earlier = (await conn.execute(
                select(messages.c.id, messages.c.updated_at).where(
                    messages.c.conversation_id == row.conversation_id, messages.c.direction == "out",
                    messages.c.id < row.id, messages.c.status.in_(_PENDING), messages.c.kind != "note",
                ).order_by(messages.c.id).limit(1))).first()
            if earlier is None:
                return None
            job = (await conn.execute(select(jobs.c.status, jobs.c.run_at, jobs.c.lease_until).where(
                jobs.c.dedup_key == f"send:{earlier.id}"))).first()
        if job is not None and job.status in ("pending", "running"):
            if job.status == "pending" and job.run_at > now:
                return max(POLL_EARLIER_S, (job.run_at - now).total_seconds() + 0.05)
            leased = job.lease_until is None or job.lease_until > now
            if job.status == "running" and leased and time.monotonic() < deadline:
                await asyncio.sleep(POLL_RUNNING_S)
                continue
            return POLL_EARLIER_S
        if earlier.updated_at is not None and now - earlier.updated_at < STUCK_AFTER:
            return POLL_EARLIER_S  # its job is being written or finishing
        return None


async def _hold_back(rt: Runtime, row: Any, connector: LoadedConnector, pacing: Pacing) -> float | None:
    """Seconds this send must wait (None: go now)."""
    wait = await _earlier_holds(rt, row)
    if wait is not None:
        return wait
    if pacing.interval > 0:
        # The recipient's bucket rebuilt from our recent sends: holds across worker processes.
        async with rt.read() as conn:
            recent = await conn.execute(select(messages.c.sent_at).where(
                messages.c.conversation_id == row.conversation_id, messages.c.direction == "out",
                messages.c.id < row.id, messages.c.sent_at.is_not(None),
            ).order_by(messages.c.id.desc()).limit(max(20, 2 * pacing.burst)))
            stamps = [r.sent_at.timestamp() for r in recent]
        wait = pair_wait(stamps, utcnow().timestamp(), pacing.interval, pacing.burst)
        if wait > SHORT_WAIT_S:
            return wait
    wait = rt.pacer.delay_for(connector, await _address(rt, row.conversation_id))
    return wait if wait > SHORT_WAIT_S else None


async def _address(rt: Runtime, conversation_id: int) -> str:
    async with rt.read() as conn:
        return str(await conn.scalar(select(conversations.c.address).where(conversations.c.id == conversation_id)))


async def _media_mismatch(rt: Runtime, row: Any) -> str | None:
    """A media message whose file cannot go as its kind (a PDF sent as "image", say)."""
    if row.media_id is None or row.kind not in ("image", "video", "audio", "sticker"):
        return None
    async with rt.read() as conn:
        mime = await conn.scalar(select(media.c.mime_type).where(media.c.id == row.media_id))
    if mime is None:
        return "arquivo da mensagem não encontrado"
    if kind_for_mime(mime) != row.kind:
        return f"o arquivo ({mime}) não pode ser enviado como {row.kind}; envie como documento"
    return None


async def _fail(rt: Runtime, message_id: int, reason: str, code: str | None) -> None:
    async with rt.write() as tx:
        row = await outbound.mark_sending(tx, message_id)
        if row.status in _PENDING:
            await outbound.record_send_result(tx, message_id, SendResult(
                reference=str(message_id), status="failed", error_code=code, error=reason))


async def send_message_dead(rt: Runtime, job: Any, error: str) -> None:
    message_id = int(job.payload["message_id"])
    async with rt.write() as tx:
        row = await outbound.mark_sending(tx, message_id)
        if row.status in _PENDING:
            await outbound.record_send_result(tx, message_id, SendResult(
                reference=str(message_id), status="failed",
                error=f"não foi possível enviar após várias tentativas: {error}"))


async def mark_read(rt: Runtime, job: Any) -> None:
    """Send the read receipt for the newest inbound message of a conversation."""
    conversation_id = int(job.payload["conversation_id"])
    async with rt.read() as conn:
        row = (await conn.execute(select(messages.c.provider_message_id, messages.c.connector_id,
                                         conversations.c.address)
                                  .select_from(messages.join(conversations,
                                                             conversations.c.id == messages.c.conversation_id))
                                  .where(messages.c.conversation_id == conversation_id, messages.c.direction == "in",
                                         messages.c.provider_message_id.is_not(None),
                                         # imported history: not the provider's id
                                         ~messages.c.provider_message_id.startswith("chatroom:"))
                                  .order_by(messages.c.id.desc()).limit(1))).first()
    if row is None:
        return
    connector = await rt.connector(int(row.connector_id))
    marker = read_marker(connector.provider) if connector is not None else None
    if marker is None:
        return
    try:
        await marker.mark_read(str(row.provider_message_id), str(row.address))
    except ProviderError as exc:
        if exc.transient:
            raise
        # An old or unknown message: nothing an agent can do about a missing blue tick.
        log.info("read receipt refused", conversation_id=conversation_id, code=exc.code, error=exc.message)
