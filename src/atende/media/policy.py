"""What we store and serve back, and what agents may upload: MIME allow-list and size limits per kind.

One table for every channel: the types WhatsApp, Messenger and Instagram carry (images, video,
audio, office documents). Anything else (HTML, SVG, executables…) is refused because it would be
served back to agents' browsers. Agents' uploads are held to WhatsApp's sizes, the strictest of the
media channels; each provider checks its own limits again when it uploads.
"""

from __future__ import annotations

import mimetypes

KB = 1024
MB = 1024 * 1024

#: Largest upload per media kind (WhatsApp's table, shared/providers/whatsapp-meta.md §2.6).
SIZE_LIMITS: dict[str, int] = {"image": 5 * MB, "video": 16 * MB, "audio": 16 * MB, "document": 100 * MB,
                               "sticker": 500 * KB}
MAX_UPLOAD_BYTES = max(SIZE_LIMITS.values())
#: Allowed MIME types (without parameters) → message kind.
MIME_KINDS: dict[str, str] = {
    "image/jpeg": "image", "image/png": "image", "image/gif": "image", "image/webp": "sticker",
    "video/mp4": "video", "video/3gpp": "video", "video/quicktime": "video", "video/webm": "video",
    "audio/aac": "audio", "audio/amr": "audio", "audio/mpeg": "audio", "audio/mp4": "audio", "audio/ogg": "audio",
    "audio/wav": "audio", "audio/x-wav": "audio", "audio/x-m4a": "audio",
    "text/plain": "document", "text/csv": "document", "application/pdf": "document",
    "application/msword": "document", "application/vnd.ms-excel": "document",
    "application/vnd.ms-powerpoint": "document",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "document",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "document",
    "application/vnd.oasis.opendocument.text": "document",
    "application/vnd.oasis.opendocument.spreadsheet": "document",
    "application/vnd.oasis.opendocument.presentation": "document",
}
#: Default file names by kind, for files sent without one.
DEFAULT_NAMES = {"image": "imagem", "video": "video", "audio": "audio", "document": "documento",
                 "sticker": "figurinha"}

#: Types a browser may show inline (everything else is served as an attachment).
INLINE_KINDS = frozenset({"image", "sticker", "audio", "video"})
_GENERIC = {"", "application/octet-stream", "binary/octet-stream"}


class MediaRejected(ValueError):
    """An upload that breaks the rules; `status_code` is 413 (too large) or 415/422."""

    def __init__(self, detail: str, status_code: int = 422) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status_code = status_code


def normalize_mime(mime_type: str | None, filename: str | None = None) -> str:
    """`"Audio/OGG; codecs=opus"` → `"audio/ogg"`; a generic type is guessed from the file name."""
    base = (mime_type or "").split(";", 1)[0].strip().lower()
    if base in _GENERIC and filename:
        guessed, _ = mimetypes.guess_type(filename, strict=False)
        base = (guessed or base).lower()
    return base


def kind_for_mime(mime_type: str | None) -> str | None:
    return MIME_KINDS.get(normalize_mime(mime_type))


def check_upload(mime_type: str, size: int) -> str:
    """The message kind of an upload; MediaRejected when its type or size is not allowed."""
    kind = kind_for_mime(mime_type)
    if kind is None:
        raise MediaRejected(f"tipo de arquivo não permitido: {normalize_mime(mime_type) or 'desconhecido'}", 415)
    if size <= 0:
        raise MediaRejected("arquivo vazio")
    if size > SIZE_LIMITS[kind]:
        raise MediaRejected(
            f"arquivo grande demais para {kind}: {size} bytes (limite {SIZE_LIMITS[kind]} bytes)", 413)
    return kind


def safe_filename(name: str | None) -> str | None:
    """A file name fit for a header and the database: no path, no control characters, ≤ 200 chars."""
    if not name:
        return None
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in base if ch.isprintable() and ch not in '"\r\n').strip()
    return cleaned[:200] or None
