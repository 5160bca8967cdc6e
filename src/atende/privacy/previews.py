"""Masking previews on their way out (board, list, API lists, live events, notifications).

The stored preview keeps what was written; what leaves for a browser or an integration is masked
while the installation's `mask_previews` setting is on (the default). The chat itself shows the
message to whoever may read the conversation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from atende.domain.masking import mask_documents

PREVIEW_KEYS = ("preview", "last_message_preview")


def masked(text: str | None, on: bool = True) -> str:
    return mask_documents(text) if on and text else (text or "")


def mask_conversation(conv: dict[str, Any], on: bool) -> dict[str, Any]:
    """A conversation as the API and the pages show it, its preview masked."""
    if on and conv.get("last_message_preview"):
        conv["last_message_preview"] = mask_documents(conv["last_message_preview"])
    return conv


def mask_payload(payload: Mapping[str, Any], on: bool) -> Mapping[str, Any]:
    """An event's payload with its preview fields masked (the same object when nothing changes)."""
    if not on or not any(isinstance(payload.get(k), str) for k in PREVIEW_KEYS):
        return payload
    return {k: mask_documents(v) if k in PREVIEW_KEYS and isinstance(v, str) else v for k, v in payload.items()}
