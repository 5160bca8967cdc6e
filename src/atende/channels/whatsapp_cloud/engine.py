"""What the engine does for WhatsApp beyond translation: media in and out, template status, pacing.

`install(rt)` (called by `atende.web.hooks.install_hooks`) sets the Runtime's optional hooks:

- `media_store`: a `LocalMediaStore` under `settings.media_dir` (unless one is set already);
- `fetch_media_hook(connector_id, message_id)`: downloads an inbound message's file into the store
  and links it to the message (transient errors raise, so the job retries; permanent ones are
  written on the message as `attributes.media_error`);
- `media_ref_for_send(connector, media_id)`: uploads our stored file to the provider once and reuses
  its media id (WhatsApp keeps them 30 days);
- `provider_event_hook(connector, type, data)`: template status / category webhooks keep the
  `templates` table true on every connector of the template's WhatsApp Business Account (its
  `waba_id`, read from the decrypted configs here, never in an action); anything else is logged;
- `send_limiter`: a token bucket per phone number (`rate_per_second`) and one per recipient
  (`pair_burst` sends at once, refilled one per `pair_interval_s`: Meta's pair limit lets short
  bursts borrow from the future), with back-off after 130429 / 131056. Ordering of a conversation's
  messages is kept by the `send_message` job wrapper in `atende.jobs.whatsapp`.

The hooks work for any provider that offers `fetch_media` / `upload_media`; the limiter applies to
connectors whose config has `rate_per_second` / `pair_interval_s`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import select

from atende.actions import media as media_actions
from atende.actions import templates as template_actions
from atende.channels.base import MediaRef, ProviderError
from atende.db.tables import connectors, media, messages
from atende.media.policy import normalize_mime, safe_filename
from atende.media.store import LocalMediaStore

if TYPE_CHECKING:
    from atende.runtime import LoadedConnector, Runtime

log = structlog.get_logger(__name__)

MEDIA_KINDS = ("image", "video", "audio", "document", "sticker")
_DEFAULT_NAMES = {"image": "imagem", "video": "video", "audio": "audio", "document": "documento",
                  "sticker": "figurinha"}


def install(rt: Runtime) -> None:
    """Attach the WhatsApp hooks to a runtime (idempotent; keeps a media store set by the caller)."""
    if rt.media_store is None:
        rt.media_store = LocalMediaStore(rt.settings.media_dir)
    if rt.send_limiter is None:
        from atende.jobs.shared_pacing import make_limiter

        # Shared by every worker process through Redis when it is configured.
        rt.send_limiter = make_limiter(SendLimiter(), rt.settings.redis_url)

    async def fetch_media_hook(connector_id: int, message_id: int) -> None:
        await fetch_media(rt, connector_id, message_id)

    async def media_ref_hook(connector: LoadedConnector, media_id: int) -> MediaRef:
        return await media_ref_for_send(rt, connector, media_id)

    async def provider_event_hook(connector: LoadedConnector, kind: str, data: Mapping[str, Any]) -> None:
        await provider_event(rt, connector, kind, data)

    rt.fetch_media_hook = fetch_media_hook
    rt.media_ref_for_send = media_ref_hook
    rt.provider_event_hook = provider_event_hook


# ------------------------------------------------------------------------------------ inbound media

def provider_media_of(raw: Mapping[str, Any] | None, kind: str) -> tuple[str | None, dict[str, Any]]:
    """(provider media id, media object) of a stored inbound message's raw payload."""
    raw = raw or {}
    wa_type = raw.get("type") if isinstance(raw.get("type"), str) else kind
    found = raw.get(wa_type) if isinstance(wa_type, str) else None
    if not isinstance(found, dict):
        found = raw.get(kind)
    obj: dict[str, Any] = found if isinstance(found, dict) else {}
    media_id = obj.get("id")
    if isinstance(media_id, int) and not isinstance(media_id, bool):
        media_id = str(media_id)
    return (media_id if isinstance(media_id, str) and media_id else None), obj


async def fetch_media(rt: Runtime, connector_id: int, message_id: int) -> None:
    """Download an inbound message's file into the media store and link it (idempotent)."""
    async with rt.read() as conn:
        row = (await conn.execute(select(messages.c.id, messages.c.kind, messages.c.raw, messages.c.media_id,
                                         messages.c.connector_id).where(messages.c.id == message_id))).first()
    if row is None or row.media_id is not None:
        return  # gone, or already fetched by an earlier run
    connector = await rt.connector(connector_id)
    if connector is None:
        return
    provider: Any = connector.provider
    provider_media_id, obj = provider_media_of(row.raw, row.kind)
    if provider_media_id is None or not hasattr(provider, "fetch_media"):
        async with rt.write() as tx:
            await media_actions.mark_media_failed(tx, message_id, "mídia sem identificador para download",
                                                  code="no_media_id")
        return
    try:
        content, mime_type = await provider.fetch_media(provider_media_id)
    except ProviderError as exc:
        if exc.transient:
            raise  # the fetch_media job retries with backoff
        log.info("media refused", connector_id=connector_id, message_id=message_id, code=exc.code)
        async with rt.write() as tx:
            await media_actions.mark_media_failed(tx, message_id, exc.message, code=exc.code)
        return
    stored = await rt.media_store.put(content)
    filename = safe_filename(obj.get("filename") if isinstance(obj.get("filename"), str) else None)
    async with rt.write() as tx:
        await media_actions.attach_stored_media(
            tx, message_id, stored, mime_type=normalize_mime(mime_type) or "application/octet-stream",
            filename=filename, voice=obj.get("voice") is True)


# ----------------------------------------------------------------------------------- outbound media

async def media_ref_for_send(rt: Runtime, connector: LoadedConnector, media_id: int) -> MediaRef:
    """Our stored file as the provider knows it: uploaded once, its id reused while it lives."""
    async with rt.read() as conn:
        row = (await conn.execute(select(media).where(media.c.id == media_id))).first()
        state = await conn.scalar(select(connectors.c.state).where(connectors.c.id == connector.id))
    if row is None:
        raise ProviderError("arquivo da mensagem não encontrado", transient=False, code="media_missing")
    cached = media_actions.cached_provider_media(state, media_id)
    if cached is not None:
        return MediaRef(provider_media_id=cached, mime_type=row.mime_type, filename=row.filename, sha256=row.sha256)
    provider: Any = connector.provider
    if not hasattr(provider, "upload_media"):
        raise ProviderError("este canal não envia arquivos", transient=False, code="media_unsupported")
    try:
        data = await rt.media_store.get(row.storage_key)
    except (FileNotFoundError, ValueError):
        raise ProviderError("o arquivo não está mais no armazenamento de mídia", transient=False,
                            code="media_missing") from None
    kind = _kind_for(row.mime_type)
    filename = row.filename or _DEFAULT_NAMES.get(kind, "arquivo")
    provider_media_id = await provider.upload_media(data, row.mime_type, filename)
    async with rt.write() as tx:
        await media_actions.remember_provider_media(tx, connector.id, media_id, provider_media_id)
    return MediaRef(provider_media_id=provider_media_id, mime_type=row.mime_type, filename=row.filename,
                    sha256=row.sha256)


def _kind_for(mime_type: str) -> str:
    from atende.media.policy import kind_for_mime

    return kind_for_mime(mime_type) or "document"


# ---------------------------------------------------------------------------------- provider events

async def provider_event(rt: Runtime, connector: LoadedConnector, kind: str, data: Mapping[str, Any]) -> None:
    if kind == "template_status":
        targets = await template_connectors(rt, connector, data)
        if not targets:
            log.warning("template event for a WABA no connector has", connector_id=connector.id,
                        waba_id=data.get("waba_id"), template=data.get("name"))
            return
        async with rt.write() as tx:
            changed = await template_actions.apply_template_event(tx, targets, data)
        log.info("template event", connector_id=connector.id, connectors=targets, template=data.get("name"),
                 language=data.get("language"), template_event=data.get("event") or data.get("new_category"),
                 changed=changed)
        return
    if kind == "account_error":
        log.warning("whatsapp account error", connector_id=connector.id, errors=data.get("errors"))
        return
    log.info("provider event", connector_id=connector.id, type=kind)


async def template_connectors(rt: Runtime, connector: LoadedConnector, data: Mapping[str, Any]) -> list[int]:
    """Connectors a template event is about: templates belong to the WhatsApp Business Account, so
    every connector of this provider whose `waba_id` is the event's (`entry.id`). The connector that
    received it counts too when its `waba_id` is not configured; one configured for another WABA
    does not. Configs are encrypted: they are read through the runtime's loader."""
    own_waba = getattr(connector.config, "waba_id", None)
    event_waba = data.get("waba_id")
    waba = event_waba if isinstance(event_waba, str) and event_waba else own_waba
    if not waba:
        return [connector.id]
    async with rt.read() as conn:
        ids = [int(r.id) for r in await conn.execute(
            select(connectors.c.id).where(connectors.c.provider == connector.provider_name))]
    targets: set[int] = {connector.id} if own_waba is None or own_waba == waba else set()
    for connector_id in ids:
        if connector_id == connector.id:
            continue
        try:
            loaded = await rt.connector(connector_id)
        except Exception:  # one unreadable config must not keep the others' templates stale
            log.warning("connector config unreadable", connector_id=connector_id, exc_info=True)
            continue
        if loaded is not None and getattr(loaded.config, "waba_id", None) == waba:
            targets.add(connector_id)
    return sorted(targets)


# ------------------------------------------------------------------------------------ send pacing

_EPSILON = 1e-9


def pair_tokens(stamps: Iterable[float], now: float, interval: float, burst: int) -> float:
    """Tokens left at `now` in a recipient's bucket (capacity `burst`, one token back every
    `interval` seconds) after sends at `stamps` (seconds, any order), starting full. Sends made
    faster than the bucket allows (another process, a clock step) leave it in debt (< 0)."""
    capacity = float(max(1, burst))
    tokens, at = capacity, None
    for stamp in sorted(stamps):
        if at is not None:
            tokens = min(capacity, tokens + max(0.0, stamp - at) / interval)
        tokens -= 1.0
        at = stamp
    if at is not None:
        tokens = min(capacity, tokens + max(0.0, now - at) / interval)
    return tokens


def pair_wait(stamps: Iterable[float], now: float, interval: float, burst: int) -> float:
    """Seconds before one more send to a recipient fits Meta's pair limit (≈ one per `interval`,
    short bursts of `burst` borrowing from the future; whatsapp-meta.md §3.4). 0 when it may go."""
    if interval <= 0:
        return 0.0
    tokens = pair_tokens(stamps, now, interval, burst)
    return 0.0 if tokens >= 1.0 - _EPSILON else (1.0 - tokens) * interval


@dataclass(slots=True)
class _Bucket:
    rate: float
    capacity: float
    tokens: float
    at: float

    def reserve(self, now: float) -> float:
        """Take one token (possibly borrowing); seconds to wait before using it."""
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        self.tokens -= 1.0
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


@dataclass(slots=True)
class _PairBucket:
    """One recipient's pair-rate bucket: `tokens` at time `at`, refilled one per interval."""

    tokens: float
    at: float

    def level(self, now: float, interval: float, burst: int) -> float:
        return min(float(burst), self.tokens + max(0.0, now - self.at) / interval)

    def wait(self, now: float, interval: float, burst: int) -> float:
        level = self.level(now, interval, burst)
        return 0.0 if level >= 1.0 - _EPSILON else (1.0 - level) * interval

    def take(self, now: float, interval: float, burst: int) -> None:
        self.tokens = self.level(now, interval, burst) - 1.0
        self.at = now


class SendLimiter:
    """Per-process pacing of sends: a token bucket per connector (phone number, `rate_per_second`)
    and one per recipient (`pair_burst` sends at once, then one per `pair_interval_s`), plus pauses
    after rate-limit errors.

    With several worker processes each one paces its own sends; the per-recipient bucket is also
    checked against the database by the send job (`atende.jobs.whatsapp`), which holds for all.
    """

    PRUNE_AT = 10_000

    def __init__(self, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        self._clock = clock
        self._sleep = sleep
        self._buckets: dict[int, _Bucket] = {}
        self._pairs: dict[tuple[int, str], _PairBucket] = {}
        self._paused: dict[int, float] = {}
        self._pair_paused: dict[tuple[int, str], float] = {}
        self._locks: dict[tuple[int, str], asyncio.Lock] = {}
        self._pruned_at = float("-inf")

    @staticmethod
    def _settings(connector: Any) -> tuple[float, float, int]:
        config = getattr(connector, "config", None)
        rate = float(getattr(config, "rate_per_second", 0) or 0)
        interval = float(getattr(config, "pair_interval_s", 0) or 0)
        burst = max(1, int(getattr(config, "pair_burst", 1) or 1))
        return rate, interval, burst

    def delay_for(self, connector: Any, address: str) -> float:
        """Seconds before a send to `address` may start, without reserving anything."""
        now = self._clock()
        _, interval, burst = self._settings(connector)
        key = (int(connector.id), address)
        ready = max(self._paused.get(key[0], 0.0), self._pair_paused.get(key, 0.0))
        pair = self._pairs.get(key)
        pair_wait_s = pair.wait(now, interval, burst) if pair is not None and interval > 0 else 0.0
        return max(0.0, ready - now, pair_wait_s)

    async def acquire(self, connector: Any, address: str) -> None:
        """Wait until a send to `address` on `connector` respects the pacing, and reserve it."""
        rate, interval, burst = self._settings(connector)
        key = (int(connector.id), address)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            while True:
                wait = self.delay_for(connector, address)
                if wait <= 0:
                    break
                await self._sleep(wait)
            if rate > 0:
                bucket = self._buckets.get(key[0])
                now = self._clock()
                if bucket is None or bucket.rate != rate:
                    bucket = self._buckets[key[0]] = _Bucket(rate=rate, capacity=max(1.0, rate), tokens=max(1.0, rate),
                                                             at=now)
                wait = bucket.reserve(now)
                if wait > 0:
                    await self._sleep(wait)
            if interval > 0:
                now = self._clock()
                pair = self._pairs.get(key)
                if pair is None:
                    pair = self._pairs[key] = _PairBucket(tokens=float(burst), at=now)
                pair.take(now, interval, burst)
            else:
                self._pairs.pop(key, None)
        if len(self._locks) > self.PRUNE_AT:
            self._prune()

    def penalize(self, connector: Any, address: str, code: str | None, retry_after: float | None) -> None:
        """Slow down after a rate-limit answer: the whole number (130429, 4, 80007) or one pair (131056).

        131056 also empties that recipient's bucket: after the pause, one send per interval, no burst."""
        now = self._clock()
        key = (int(connector.id), address)
        if code == "131056":
            _, interval, _ = self._settings(connector)
            self._pair_paused[key] = now + max(retry_after or 0.0, interval, 1.0)
            if interval > 0:
                self._pairs[key] = _PairBucket(tokens=0.0, at=now)
        elif code in ("130429", "4", "80007"):
            self._paused[key[0]] = max(self._paused.get(key[0], 0.0), now + max(retry_after or 0.0, 1.0))

    def _prune(self) -> None:
        now = self._clock()
        if now - self._pruned_at < 60:
            return
        self._pruned_at = now
        for key, pair in list(self._pairs.items()):
            if now - pair.at > 3600:
                del self._pairs[key]
        for key, until in list(self._pair_paused.items()):
            if until < now:
                del self._pair_paused[key]
        for key, lock in list(self._locks.items()):
            if not lock.locked() and key not in self._pairs and key not in self._pair_paused:
                del self._locks[key]


__all__ = ["SendLimiter", "fetch_media", "install", "media_ref_for_send", "pair_tokens", "pair_wait", "provider_event",
           "provider_media_of", "template_connectors"]
