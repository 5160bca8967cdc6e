"""What agents may upload and what we serve back: MIME allow-list and size limits per kind.

The list follows what WhatsApp accepts (shared/providers/whatsapp-meta.md §2.6), the strictest of
our media channels; anything else (HTML, SVG, executables…) is refused because it would be served
back to agents' browsers.
"""

from __future__ import annotations

import mimetypes

from atende.channels.whatsapp_cloud.provider import ALLOWED_MIME_TYPES, MEDIA_LIMITS

#: Largest file per media kind, and allowed MIME types (without parameters) → message kind:
#: WhatsApp's own rules, kept in its provider package.
SIZE_LIMITS: dict[str, int] = MEDIA_LIMITS
MAX_UPLOAD_BYTES = max(SIZE_LIMITS.values())
MIME_KINDS: dict[str, str] = ALLOWED_MIME_TYPES

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
