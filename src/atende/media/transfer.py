"""Moving files between a provider and our media store, for any provider that can (`MediaFetcher`,
`MediaUploader` in `atende.channels.base`).

No database here: the fetch job reads the message and records the result through
`atende.actions.media` (actions write); this module only moves bytes and says what went wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

from atende.channels.base import MediaFetcher, MediaRef, MediaUploader
from atende.media.policy import DEFAULT_NAMES, kind_for_mime, normalize_mime, safe_filename
from atende.media.store import MediaStore, StoredFile


@dataclass(frozen=True, slots=True)
class Downloaded:
    stored: StoredFile
    mime_type: str
    filename: str | None
    voice: bool


async def download(fetcher: MediaFetcher, ref: MediaRef, store: MediaStore) -> Downloaded:
    """Fetch a customer's file from the provider into the store (content-addressed: idempotent).
    ProviderError passes through: transient ones are retried by the job, permanent ones recorded."""
    content, mime_type = await fetcher.fetch_media(ref)
    stored = await store.put(content)
    mime = normalize_mime(mime_type, ref.filename) or normalize_mime(ref.mime_type, ref.filename)
    return Downloaded(stored=stored, mime_type=mime or "application/octet-stream",
                      filename=safe_filename(ref.filename), voice=ref.voice)


async def upload(uploader: MediaUploader, store: MediaStore, *, storage_key: str, mime_type: str,
                 filename: str | None) -> str:
    """Upload one of our stored files to the provider; its id for the file. FileNotFoundError /
    ValueError when the bytes are gone from the store."""
    data = await store.get(storage_key)
    kind = kind_for_mime(mime_type) or "document"
    return await uploader.upload_media(data, mime_type, filename or DEFAULT_NAMES.get(kind, "arquivo"))
