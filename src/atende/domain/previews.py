"""The one-line preview of a message shown on cards and lists (pure)."""

from __future__ import annotations

PREVIEW_CHARS = 120
KIND_PREVIEW = {
    "image": "📷 Imagem", "audio": "🎤 Áudio", "video": "🎬 Vídeo", "document": "📄 Documento",
    "sticker": "Figurinha", "location": "📍 Localização", "contacts": "👤 Contato",
    "reaction": "Reação", "unsupported": "Mensagem não suportada", "template": "Modelo", "order": "🛒 Pedido",
    "share": "🔗 Compartilhamento", "story_mention": "📸 Menção no story",
}


def preview_of(kind: str, text: str | None) -> str:
    base = (text or "").strip().replace("\n", " ")
    if not base:
        base = KIND_PREVIEW.get(kind, kind)
    return base[:PREVIEW_CHARS]
