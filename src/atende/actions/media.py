"""Media rows and their link to messages (design.md rule 1: actions are the only writers).

Bytes go to the media store first (content-addressed, idempotent); then one of these actions
records the row and links it, in the caller's single transaction, with a `message.updated` event.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from atende.actions.errors import NotFound
from atende.db.prepared import insert_ignore_returning_id
from atende.db.tables import connectors, media, messages
from atende.db.tx import Tx
from atende.db.types import utcnow
from atende.media.store import StoredFile
from atende.realtime import events

#: Media ids handed out by a provider's upload (WhatsApp: 30 days); we stop reusing them earlier.
PROVIDER_MEDIA_TTL = timedelta(days=29)
PROVIDER_MEDIA_CACHE_MAX = 2000
_STATE_KEY = "provider_media"


def media_url(media_id: int) -> str:
    return f"/api/v1/media/{media_id}"


async def record_media(tx: Tx, stored: StoredFile, *, mime_type: str, filename: str | None) -> int:
    """The media row of a stored file: created, or the existing one for the same bytes."""
    now = utcnow()
    inserted = await tx.conn.execute(insert_ignore_returning_id(media, tx.dialect), {
        "storage_key": stored.key, "mime_type": mime_type, "size": stored.size, "sha256": stored.sha256,
        "filename": filename, "created_at": now,
    })
    media_id = inserted.scalar()
    if media_id is not None:
        return int(media_id)
    row = (await tx.conn.execute(select(media.c.id, media.c.filename)
                                 .where(media.c.storage_key == stored.key))).one()
    if row.filename is None and filename:
        await tx.conn.execute(update(media).where(media.c.id == row.id).values(filename=filename))
    return int(row.id)


def media_attributes(media_id: int, *, mime_type: str, size: int, filename: str | None,
                     voice: bool = False) -> dict[str, Any]:
    """What a message exposes about its file (the API's `attributes.media`)."""
    info: dict[str, Any] = {"id": media_id, "url": media_url(media_id), "mime_type": mime_type, "size": size}
    if filename:
        info["filename"] = filename
    if voice:
        info["voice"] = True
    return info


async def _locked_message(tx: Tx, message_id: int) -> Any:
    row = (await tx.conn.execute(select(messages.c.id, messages.c.conversation_id, messages.c.attributes,
                                        messages.c.media_id)
                                 .where(messages.c.id == message_id).with_for_update())).first()
    if row is None:
        raise NotFound("mensagem não encontrada")
    return row


async def attach_stored_media(
    tx: Tx, message_id: int, stored: StoredFile, *, mime_type: str, filename: str | None, voice: bool = False,
) -> int:
    """A message's media was downloaded into the store: record the row and link it to the message."""
    row = await _locked_message(tx, message_id)
    media_id = await record_media(tx, stored, mime_type=mime_type, filename=filename)
    attributes = dict(row.attributes or {})
    attributes.pop("media_error", None)
    attributes.pop("media_error_code", None)
    attributes["media"] = media_attributes(media_id, mime_type=mime_type, size=stored.size, filename=filename,
                                           voice=voice)
    await tx.conn.execute(update(messages).where(messages.c.id == message_id).values(
        media_id=media_id, attributes=attributes, updated_at=utcnow()))
    await events.append(tx, "message.updated", {
        "id": message_id, "conversation_id": row.conversation_id, "media_id": media_id,
        "media": attributes["media"],
    }, row.conversation_id)
    return media_id


async def mark_media_failed(tx: Tx, message_id: int, reason: str, code: str | None = None) -> None:
    """The file of an inbound message cannot be fetched (type refused, too large, gone): say why."""
    row = await _locked_message(tx, message_id)
    attributes = {**(row.attributes or {}), "media_error": reason}
    if code:
        attributes["media_error_code"] = code
    await tx.conn.execute(update(messages).where(messages.c.id == message_id)
                          .values(attributes=attributes, updated_at=utcnow()))
    await events.append(tx, "message.updated", {
        "id": message_id, "conversation_id": row.conversation_id, "media_error": reason,
    }, row.conversation_id)


async def upload_media(tx: Tx, stored: StoredFile, *, mime_type: str, filename: str | None,
                       uploaded_by: int | None) -> int:
    """An agent uploaded a file (to send it next): theirs to read until a conversation shows it."""
    media_id = await record_media(tx, stored, mime_type=mime_type, filename=filename)
    if uploaded_by is not None:
        await tx.conn.execute(update(media).where(media.c.id == media_id, media.c.uploaded_by.is_(None))
                              .values(uploaded_by=uploaded_by))
    await events.append(tx, "media.uploaded", {"id": media_id, "mime_type": mime_type, "size": stored.size,
                                               "uploaded_by": uploaded_by})
    return media_id


# -- provider media ids (e.g. WhatsApp uploads), cached per connector in connectors.state --------

def cached_provider_media(state: Any, media_id: int, now: datetime | None = None) -> str | None:
    """The provider's id for our media, when uploaded recently enough to be reused."""
    entry = ((state or {}).get(_STATE_KEY) or {}).get(str(media_id))
    if not isinstance(entry, dict) or not entry.get("id"):
        return None
    try:
        at = datetime.fromisoformat(str(entry.get("at")))
    except ValueError:
        return None
    return str(entry["id"]) if (now or utcnow()) - at < PROVIDER_MEDIA_TTL else None


async def remember_provider_media(tx: Tx, connector_id: int, media_id: int, provider_media_id: str) -> None:
    """Keep the provider's id of an upload (reused for 29 days); expired entries are pruned."""
    state = await tx.conn.scalar(select(connectors.c.state).where(connectors.c.id == connector_id)
                                 .with_for_update())
    if state is None:
        raise NotFound("conector não encontrado")
    now = utcnow()
    cache: dict[str, Any] = {}
    for key, entry in ((state or {}).get(_STATE_KEY) or {}).items():
        try:
            fresh = now - datetime.fromisoformat(str(entry.get("at"))) < PROVIDER_MEDIA_TTL
        except (ValueError, AttributeError):
            fresh = False
        if fresh:
            cache[key] = entry
    cache[str(media_id)] = {"id": provider_media_id, "at": now.isoformat()}
    if len(cache) > PROVIDER_MEDIA_CACHE_MAX:
        newest = sorted(cache.items(), key=lambda kv: str(kv[1].get("at")), reverse=True)
        cache = dict(newest[:PROVIDER_MEDIA_CACHE_MAX])
    await tx.conn.execute(update(connectors).where(connectors.c.id == connector_id)
                          .values(state={**(state or {}), _STATE_KEY: cache}))
