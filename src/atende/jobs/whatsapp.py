"""Job handlers for WhatsApp-style channels: ordered, paced sends and read receipts.

Registered in `atende.jobs.handlers` (HANDLERS.update(HANDLERS_HERE)):

- `send_message` wraps the generic handler. For connectors with pacing settings
  (`pair_interval_s`, `pair_burst`, `rate_per_second`) it first makes the job wait — rescheduled,
  not retried, so no attempt is spent — while an earlier message of the same conversation is still
  queued or being sent (the worker runs jobs concurrently; this keeps a conversation's messages in
  id order across processes; one being sent right now is waited for in-process, so a burst goes out
  back to back) or while the recipient's pair bucket, rebuilt from our recent sends, is empty
  (`pair_burst` at once, then one per `pair_interval_s`). Rate-limit answers (130429 / 131056) slow
  the limiter down before the worker retries. Permanent errors raised before the provider call
  (media missing, refused upload) fail the message with their exact reason. Media messages queued
  with a public link (`attributes.media_url`) are sent by link instead of an uploaded file.
- `mark_read` tells the provider the agent read the conversation (newest inbound message).
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import select

from atende.actions import outbound
from atende.channels.base import ProviderError, SendResult
from atende.channels.whatsapp_cloud.engine import pair_wait
from atende.db.tables import conversations, jobs, media, messages
from atende.db.types import utcnow
from atende.jobs.worker import Reschedule
from atende.media.policy import kind_for_mime

if TYPE_CHECKING:
    from atende.jobs.worker import DeadHook, Handler
    from atende.runtime import LoadedConnector, Runtime

log = structlog.get_logger(__name__)

#: Waits shorter than this happen in-process (the limiter sleeps); longer ones reschedule the job.
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


def _paced(connector: LoadedConnector) -> bool:
    config = connector.config
    return hasattr(config, "pair_interval_s") or hasattr(config, "rate_per_second")


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


async def _hold_back(rt: Runtime, row: Any, connector: LoadedConnector) -> float | None:
    """Seconds this send must wait (None: go now)."""
    wait = await _earlier_holds(rt, row)
    if wait is not None:
        return wait
    interval = float(getattr(connector.config, "pair_interval_s", 0) or 0)
    burst = max(1, int(getattr(connector.config, "pair_burst", 1) or 1))
    if interval > 0:
        # The recipient's bucket rebuilt from our recent sends: holds across worker processes.
        async with rt.read() as conn:
            recent = await conn.execute(select(messages.c.sent_at).where(
                messages.c.conversation_id == row.conversation_id, messages.c.direction == "out",
                messages.c.id < row.id, messages.c.sent_at.is_not(None),
            ).order_by(messages.c.id.desc()).limit(max(20, 2 * burst)))
            stamps = [r.sent_at.timestamp() for r in recent]
        wait = pair_wait(stamps, utcnow().timestamp(), interval, burst)
        if wait > SHORT_WAIT_S:
            return wait
    limiter = rt.send_limiter
    if limiter is not None and hasattr(limiter, "delay_for"):
        address = await _address(rt, row.conversation_id)
        wait = float(limiter.delay_for(connector, address))
        if wait > SHORT_WAIT_S:
            return wait
    return None


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


async def _generic_send(rt: Runtime, job: Any) -> None:
    from atende.jobs import handlers as generic  # handlers registers this module: import late

    await generic.send_message(rt, job)


async def send_message(rt: Runtime, job: Any) -> Reschedule | None:
    message_id = int(job.payload["message_id"])
    async with rt.read() as conn:
        row = (await conn.execute(select(messages.c.id, messages.c.conversation_id, messages.c.connector_id,
                                         messages.c.status, messages.c.kind, messages.c.media_id,
                                         messages.c.attributes)
                                  .where(messages.c.id == message_id))).first()
    connector = await rt.connector(int(row.connector_id)) if row is not None else None
    if row is None or connector is None or row.status not in _PENDING or not _paced(connector):
        await _generic_send(rt, job)
        return None
    problem = await _media_mismatch(rt, row)
    if problem is not None:
        await _fail(rt, message_id, problem, "media_kind")
        return None
    wait = await _hold_back(rt, row, connector)
    if wait is not None:
        return Reschedule(utcnow() + timedelta(seconds=min(wait, 600.0)))
    try:
        await _generic_send(rt, job)
    except ProviderError as exc:
        if not exc.transient:
            await _fail(rt, message_id, exc.message, exc.code)
            return None
        limiter = rt.send_limiter
        if limiter is not None and hasattr(limiter, "penalize"):
            limiter.penalize(connector, await _address(rt, row.conversation_id), exc.code, exc.retry_after)
        raise
    return None


async def mark_read(rt: Runtime, job: Any) -> None:
    """Send the read receipt for the newest inbound message of a conversation."""
    conversation_id = int(job.payload["conversation_id"])
    async with rt.read() as conn:
        row = (await conn.execute(select(messages.c.provider_message_id, messages.c.connector_id).where(
            messages.c.conversation_id == conversation_id, messages.c.direction == "in",
            messages.c.provider_message_id.is_not(None),
            ~messages.c.provider_message_id.startswith("chatroom:"),  # imported history: not the provider's id
        ).order_by(messages.c.id.desc()).limit(1))).first()
    if row is None:
        return
    connector = await rt.connector(int(row.connector_id))
    provider: Any = connector.provider if connector is not None else None
    if provider is None or not hasattr(provider, "mark_read"):
        return
    try:
        await provider.mark_read(row.provider_message_id)
    except ProviderError as exc:
        if exc.transient:
            raise
        # An old or unknown message: nothing an agent can do about a missing blue tick.
        log.info("read receipt refused", conversation_id=conversation_id, code=exc.code, error=exc.message)


async def fetch_media_dead(rt: Runtime, job: Any, error: str) -> None:
    """The download kept failing: say so on the message instead of showing a file forever loading."""
    from atende.actions.media import mark_media_failed

    async with rt.write() as tx:
        await mark_media_failed(tx, int(job.payload["message_id"]), f"não foi possível baixar a mídia: {error}",
                                code="media_download_failed")


HANDLERS: dict[str, Handler] = {"send_message": send_message, "mark_read": mark_read}
DEAD_HOOKS: dict[str, DeadHook] = {"fetch_media": fetch_media_dead}
