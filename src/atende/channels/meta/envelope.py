"""The envelope every Meta webhook shares: a JSON object naming its `object` with a list `entry[]`.

Used by the WhatsApp and the Messenger / Instagram parsers, after the signature check. Bad input
becomes `WebhookRejected(400)` and nothing else: the walkers check types themselves, and a defensive
net turns anything they missed into a 400 too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from atende.channels.base import WebhookBatch, WebhookRejected

_MISSED = (TypeError, ValueError, KeyError, AttributeError, IndexError, OverflowError, RecursionError)


def parse_body(raw: bytes, parse: Callable[[Any], WebhookBatch], product: str) -> WebhookBatch:
    """Decode `raw` and hand the payload to `parse`; only WebhookRejected(400) escapes."""
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise WebhookRejected(400, "corpo do webhook não é JSON válido") from exc
    try:
        return parse(payload)
    except WebhookRejected:
        raise
    except _MISSED as exc:
        raise WebhookRejected(400, f"webhook {product} malformado ({type(exc).__name__})") from exc


def entries(payload: Any, expected_object: str) -> list[Any]:
    """The `entry[]` of a webhook of `expected_object` ("whatsapp_business_account", "page",
    "instagram"); WebhookRejected(400) for any other envelope."""
    if not isinstance(payload, dict):
        raise WebhookRejected(400, "webhook deve ser um objeto JSON")
    if payload.get("object") != expected_object:
        raise WebhookRejected(400, f"objeto inesperado: {str(payload.get('object'))[:80]!r}")
    found = payload.get("entry")
    if not isinstance(found, list):
        raise WebhookRejected(400, "webhook sem lista entry[]")
    return found


def as_obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_text(value: Any) -> str | None:
    """Non-empty string (ids may arrive as JSON numbers: they become strings)."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None
