"""How ChatRoom records become atende rows: pure functions, no I/O (property-tested).

| ChatRoom | atende |
|---|---|
| connector `waba_extern`, `apichat.io`, `gupshup` | whatsapp channel |
| connector `facebook` / `instagram` | messenger / instagram channel |
| status `new` / `current` / `done` | `new` / `open` / `done` (current keeps its agent) |
| `from_me` | direction out |
| `date_message` (naive UTC) | created_at |
| `ttype` text, image, audio, video, sticker, location | the same kind |
| `ttype` file, contact, url | document, contacts, text |
| `info`, `info_comment`, `info_hidden` | event (a system line) |
| `error_msg` | failed, with the reason |
| `read_date` | read_at |
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from atende.domain.phones import InvalidPhone, normalize_phone, phone_variants

CHANNELS = {"waba_extern": "whatsapp", "apichat.io": "whatsapp", "gupshup": "whatsapp", "chatapi": "whatsapp",
            "facebook": "messenger", "instagram": "instagram"}
STATUSES = {"new": "new", "current": "open", "done": "done"}
KINDS = {"text": "text", "image": "image", "audio": "audio", "video": "video", "file": "document",
         "sticker": "sticker", "location": "location", "contact": "contacts", "url": "text",
         "info": "event", "info_comment": "event", "info_hidden": "event"}
MEDIA_KINDS = frozenset({"image", "audio", "video", "document", "sticker"})
_WA_SUFFIX = re.compile(r"@(c|s|l)\.us$")


def channel_of(connector_type: Any) -> tuple[str, bool]:
    """(channel, known): unknown types (`not_set`, `wechat`) are kept as WhatsApp history."""
    channel = CHANNELS.get(str(connector_type or ""))
    return (channel, True) if channel else ("whatsapp", False)


def status_of(status: Any) -> str:
    return STATUSES.get(str(status or ""), "done")


def kind_of(ttype: Any) -> tuple[str, bool]:
    """(kind, known): an unknown ttype is stored as `unsupported`, its text kept."""
    kind = KINDS.get(str(ttype or ""))
    return (kind, True) if kind else ("unsupported", False)


def odoo_time(value: Any) -> datetime | None:
    """Odoo's naive-UTC `YYYY-MM-DD HH:MM:SS` (or `false`) → aware UTC datetime."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"data inválida do Odoo: {value!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def text_of(value: Any) -> str | None:
    """Odoo sends `false` for an empty char/text field."""
    if value is None or value is False:
        return None
    text = str(value)
    return text if text.strip() else None


def m2o_id(value: Any) -> int | None:
    """A many2one as read: `[id, "name"]` or `false`."""
    if isinstance(value, list | tuple) and value and isinstance(value[0], int) and not isinstance(value[0], bool):
        return int(value[0])
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def m2o_name(value: Any) -> str | None:
    if isinstance(value, list | tuple) and len(value) > 1 and isinstance(value[1], str):
        return value[1].strip() or None
    return None


@dataclass(frozen=True, slots=True)
class Address:
    address: str  # what to reply to (the number as ChatRoom last knew it)
    problem: str | None = None  # a warning worth counting: old 12-digit number, not a phone…


def address_of(number: Any, channel: str) -> Address:
    """A conversation's `number` → the address atende keeps for it on that channel.

    WhatsApp numbers are digits without "+" (apichat may add `@c.us`); 12-digit Brazilian mobiles
    are pre-9th-digit numbers: kept as they are (replies go there), matched with the 9 too.
    Messenger and Instagram numbers are page-scoped ids, kept as they are.
    """
    raw = str(number or "").strip()
    if channel not in ("whatsapp", "sms"):
        return Address(raw or "?", None if raw else "conversa sem identificador")
    digits = _WA_SUFFIX.sub("", raw).lstrip("+")
    if not digits.isdigit():
        return Address(raw or "?", "número que não é um telefone (grupo ou lista?)")
    try:
        canonical = normalize_phone("+" + digits, strict=False)
    except InvalidPhone:
        return Address(raw, "número de telefone inválido")
    exact = "+" + digits
    if exact not in phone_variants(canonical):
        exact = canonical  # trunk prefixes and the like: reply to the canonical form
    if digits.startswith("55") and len(digits) == 12 and exact != canonical:
        return Address(exact, "número antigo de 12 dígitos (sem o 9)")
    return Address(exact)


def contact_name(record: dict[str, Any]) -> str | None:
    """The partner's name when ChatRoom linked one, else the conversation's (unless it is the number)."""
    partner = m2o_name(record.get("res_partner_id"))
    if partner:
        return partner
    name = text_of(record.get("name"))
    if name is None:
        return None
    digits = re.sub(r"\D", "", name)
    number = re.sub(r"\D", "", str(record.get("number") or ""))
    return None if digits and digits == number else name
