"""/api/v1/media: agents upload files to send, and download what customers sent (authenticated)."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, Response
from starlette.datastructures import UploadFile

from atende.actions import media as media_actions
from atende.auth import policy
from atende.db import queries
from atende.domain.ids import parse_int
from atende.media.policy import (
    INLINE_KINDS,
    MAX_UPLOAD_BYTES,
    MediaRejected,
    check_upload,
    kind_for_mime,
    normalize_mime,
    safe_filename,
)
from atende.media.store import LocalMediaStore, MediaStore
from atende.runtime import Runtime
from atende.web.auth import Rt, User, Who
from atende.web.params import RowId

router = APIRouter(prefix="/media", tags=["media"])

# Room for the multipart envelope around the file.
_FORM_OVERHEAD = 64 * 1024
_CHUNK = 1024 * 1024

_UPLOAD_DOC = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary"}},
        }}},
    },
}


def media_store(rt: Runtime) -> MediaStore:
    return rt.media_store


def media_view(row: Any) -> dict[str, Any]:
    return {
        "id": row.id, "mime_type": row.mime_type, "size": row.size, "sha256": row.sha256,
        "filename": row.filename, "kind": kind_for_mime(row.mime_type), "url": media_actions.media_url(row.id),
        "created_at": queries.iso(row.created_at),
    }


async def _read_limited(upload: UploadFile, limit: int) -> bytes:
    data = bytearray()
    while chunk := await upload.read(_CHUNK):
        data += chunk
        if len(data) > limit:
            raise MediaRejected(f"arquivo maior que {limit} bytes", 413)
    return bytes(data)


@router.post("", status_code=201, openapi_extra=_UPLOAD_DOC)
async def upload(request: Request, rt: Rt, user: User) -> dict[str, Any]:
    """Upload a file (multipart field `file`) to send in a message: `{"kind", "media_id"}` next."""
    declared = request.headers.get("content-length")
    if declared is None or parse_int(declared, low=0) is None:
        raise HTTPException(411, "informe o Content-Length do envio")
    if int(declared) > MAX_UPLOAD_BYTES + _FORM_OVERHEAD:
        raise HTTPException(413, f"arquivo maior que {MAX_UPLOAD_BYTES} bytes")
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise HTTPException(415, "envie o arquivo como multipart/form-data (campo file)")
    try:
        async with request.form(max_files=1, max_fields=4) as form:
            upload_file = form.get("file")
            if not isinstance(upload_file, UploadFile):
                raise HTTPException(422, "campo file ausente")
            filename = safe_filename(upload_file.filename)
            mime_type = normalize_mime(upload_file.content_type, filename)
            data = await _read_limited(upload_file, MAX_UPLOAD_BYTES)
        check_upload(mime_type, len(data))
    except MediaRejected as exc:
        raise HTTPException(exc.status_code, exc.detail) from None
    stored = await media_store(rt).put(data)
    async with rt.write() as tx:
        media_id = await media_actions.upload_media(tx, stored, mime_type=mime_type, filename=filename,
                                                    uploaded_by=user.id)
    async with rt.read() as conn:
        row = await queries.media_row(conn, media_id)
    return media_view(row)


def _disposition(kind: str | None, filename: str | None, media_id: RowId) -> str:
    mode = "inline" if kind in INLINE_KINDS else "attachment"
    name = filename or f"midia-{media_id}"
    ascii_name = "".join(ch if ch.isascii() and ch.isprintable() and ch not in '"\\;' else "_" for ch in name)
    return f"{mode}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


@router.get("/{media_id}/info")
async def info(media_id: RowId, rt: Rt, user: Who) -> dict[str, Any]:
    async with rt.read() as conn:
        row = await queries.media_row(conn, media_id)
        if row is None:
            raise HTTPException(404, "mídia não encontrada")
        await policy.require_media(conn, user, media_id)
    return media_view(row)


@router.get("/{media_id}", response_class=Response,
            responses={200: {"content": {"application/octet-stream": {}}, "description": "the file"}})
async def download(media_id: RowId, request: Request, rt: Rt, user: Who) -> Response:
    """The file itself, with its type; images, audio and video inline, anything else as a download.
    Only for its uploader and whoever may read a conversation that shows it."""
    async with rt.read() as conn:
        row = await queries.media_row(conn, media_id)
        if row is None:
            raise HTTPException(404, "mídia não encontrada")
        await policy.require_media(conn, user, media_id)
    etag = f'"{row.sha256}"'
    headers = {
        "ETag": etag,
        "Cache-Control": "private, max-age=86400",
        "X-Content-Type-Options": "nosniff",
        # Never let a stored file run as a page of ours, whatever it claims to be.
        "Content-Security-Policy": "default-src 'none'; media-src 'self'; img-src 'self'; sandbox",
        "Content-Disposition": _disposition(kind_for_mime(row.mime_type), row.filename, row.id),
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    store = media_store(rt)
    if isinstance(store, LocalMediaStore):
        # Streamed from disk, with Range support (audio and video players seek).
        path = store.path(row.storage_key)
        if not await asyncio.to_thread(path.is_file):
            raise HTTPException(410, "o arquivo não está mais no armazenamento")
        return FileResponse(path, media_type=row.mime_type, headers=headers)
    try:
        data = await store.get(row.storage_key)
    except FileNotFoundError:
        raise HTTPException(410, "o arquivo não está mais no armazenamento") from None
    return Response(data, media_type=row.mime_type, headers=headers)
