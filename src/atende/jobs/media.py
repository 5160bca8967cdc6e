"""Jobs that move media: a customer's file into our store, our file to the provider for a send.

The bytes move through `atende.media.transfer`; what is recorded goes through `atende.actions.media`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import select

from atende.actions import media as media_actions
from atende.channels.base import MediaRef, ProviderError, media_fetcher, media_uploader
from atende.db.tables import connectors, media, messages
from atende.jobs.common import loaded_connector
from atende.media import transfer

if TYPE_CHECKING:
    from atende.runtime import LoadedConnector, Runtime

log = structlog.get_logger(__name__)
_REF_FIELDS = frozenset({"provider_media_id", "url", "mime_type", "filename", "sha256", "caption", "voice"})


def media_ref_of(payload: Mapping[str, Any] | None, raw: Mapping[str, Any] | None, kind: str) -> MediaRef:
    """The MediaRef ingest saw (kept in the job's payload). Jobs queued before it was kept: the
    media id from the WhatsApp payload stored on the message."""
    if payload:
        return MediaRef(**{k: v for k, v in payload.items() if k in _REF_FIELDS})
    raw = raw or {}
    wa_type = raw.get("type") if isinstance(raw.get("type"), str) else kind
    obj = raw.get(wa_type) if isinstance(wa_type, str) else None
    obj = obj if isinstance(obj, dict) else {}
    media_id = obj.get("id")
    return MediaRef(provider_media_id=str(media_id) if isinstance(media_id, str | int) and media_id else None,
                    filename=obj.get("filename") if isinstance(obj.get("filename"), str) else None,
                    voice=obj.get("voice") is True)


async def fetch_media(rt: Runtime, job: Any) -> None:
    """Download an inbound message's file into the media store and link it (idempotent): transient
    errors raise (the worker retries), permanent ones are written on the message."""
    message_id = int(job.payload["message_id"])
    async with rt.read() as conn:
        row = (await conn.execute(select(messages.c.kind, messages.c.raw, messages.c.media_id)
                                  .where(messages.c.id == message_id))).first()
    if row is None or row.media_id is not None:
        return  # gone, or already fetched by an earlier run
    connector = await loaded_connector(rt, int(job.payload["connector_id"]))
    ref = media_ref_of(job.payload.get("media"), row.raw, row.kind)
    fetcher = media_fetcher(connector.provider)
    if fetcher is None or not (ref.provider_media_id or ref.url):
        async with rt.write() as tx:
            await media_actions.mark_media_failed(tx, message_id, "mídia sem identificador para download",
                                                  code="no_media_id")
        return
    try:
        got = await transfer.download(fetcher, ref, rt.media_store)
    except ProviderError as exc:
        if exc.transient:
            raise
        log.info("media refused", connector_id=connector.id, message_id=message_id, code=exc.code)
        async with rt.write() as tx:
            await media_actions.mark_media_failed(tx, message_id, exc.message, code=exc.code)
        return
    async with rt.write() as tx:
        await media_actions.attach_stored_media(tx, message_id, got.stored, mime_type=got.mime_type,
                                                filename=got.filename, voice=got.voice)


async def fetch_media_dead(rt: Runtime, job: Any, error: str) -> None:
    """The download kept failing: say so on the message instead of showing a file forever loading."""
    async with rt.write() as tx:
        await media_actions.mark_media_failed(tx, int(job.payload["message_id"]),
                                              f"não foi possível baixar a mídia: {error}",
                                              code="media_download_failed")


async def media_ref_for_send(rt: Runtime, connector: LoadedConnector, media_id: int) -> MediaRef:
    """Our stored file as the provider knows it: uploaded once, its id reused while it lives."""
    async with rt.read() as conn:
        row = (await conn.execute(select(media).where(media.c.id == media_id))).first()
        state = await conn.scalar(select(connectors.c.state).where(connectors.c.id == connector.id))
    if row is None:
        raise ProviderError("arquivo da mensagem não encontrado", transient=False, code="media_missing")
    ref = MediaRef(mime_type=row.mime_type, filename=row.filename, sha256=row.sha256)
    cached = media_actions.cached_provider_media(state, media_id)
    if cached is not None:
        return MediaRef(provider_media_id=cached, mime_type=ref.mime_type, filename=ref.filename, sha256=ref.sha256)
    uploader = media_uploader(connector.provider)
    if uploader is None:
        raise ProviderError("este canal não envia arquivos", transient=False, code="media_unsupported")
    try:
        provider_media_id = await transfer.upload(uploader, rt.media_store, storage_key=row.storage_key,
                                                  mime_type=row.mime_type, filename=row.filename)
    except (FileNotFoundError, ValueError):
        raise ProviderError("o arquivo não está mais no armazenamento de mídia", transient=False,
                            code="media_missing") from None
    async with rt.write() as tx:
        await media_actions.remember_provider_media(tx, connector.id, media_id, provider_media_id)
    return MediaRef(provider_media_id=provider_media_id, mime_type=ref.mime_type, filename=ref.filename,
                    sha256=ref.sha256)
