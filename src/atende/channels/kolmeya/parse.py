"""Pure translation of Kolmeya JSON into the normalized types of `atende.channels.base`.

Shapes (kolmeya.md §2.3, §2.6, §3.2): the nested status and reply webhooks, the "request rejected"
webhook, the flat shapes other integrations expected, the `/sms/replys` and `/sms/replys-web`
paginator items and the `/sms/status/*` responses. Bad webhook input raises `WebhookRejected(400)`
and nothing else; a bad item inside a polled page becomes a `ProviderEvent("unparsed_item")`.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from atende.channels.base import (
    DeliveryStatus,
    InboundMessage,
    ProviderEvent,
    StatusUpdate,
    WebhookBatch,
    WebhookRejected,
)
from atende.domain.phones import normalize_phone

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
REPLY_ID_PREFIX = "reply:"  # reply ids live in their own space: they must not collide with message uuids
WEB_REPLY_ID_PREFIX = "replyweb:"  # replies to web-panel campaigns (/sms/replys-web) have integer ids

# Kolmeya message status codes (kolmeya.md §3.3). Codes 1 and 2 both mean Kolmeya holds the message:
# in our vocabulary that is "sent" (the provider accepted it); "queued" is our own outbox state.
STATUS_CODES: dict[int, tuple[DeliveryStatus, str | None]] = {
    1: ("sent", None),
    2: ("sent", None),
    3: ("delivered", None),
    4: ("failed", "SMS não entregue"),
    5: ("failed", "SMS rejeitado pela operadora"),
    6: ("failed", "SMS expirado: não entregue no prazo"),
}
# Status texts, lower-case without accents, to the equivalent code. Portuguese ones are Kolmeya's;
# English ones come from integrations that translated them (JK's flat webhook).
_STATUS_TEXTS: dict[str, int] = {
    "trying": 1,
    "tentando enviar": 1,
    "tentando": 1,
    "enviando": 1,
    "queued": 1,
    "pending": 1,
    "accepted": 1,
    "aguardando": 1,
    "enviado": 2,
    "enviada": 2,
    "sent": 2,
    "entregue": 3,
    "delivered": 3,
    "nao entregue": 4,
    "undelivered": 4,
    "not delivered": 4,
    "failed": 4,
    "falha": 4,
    "erro": 4,
    "error": 4,
    "rejeitado": 5,
    "rejeitada": 5,
    "rejeitado no broker": 5,
    "rejeitado pela operadora": 5,
    "rejected": 5,
    "expirada": 6,
    "expirado": 6,
    "expired": 6,
}
_REJECTED_REQUEST_TEXTS = frozenset({"rejected", "rejeitado", "rejeitada", "reprovado", "reprovada"})
_MAX_FORM_DEPTH = 16
_BR_DATETIME = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*$")


class _Malformed(ValueError):
    """An item lacks what we need; the message says what, in plain words."""


@dataclass(slots=True)
class ReplysPage:
    """One page of `/sms/replys` or `/sms/replys-web` (a Laravel paginator)."""

    batch: WebhookBatch
    current_page: int = 1
    last_page: int | None = None
    next_page_url: str | None = None
    total: int | None = None
    items: int = 0

    @property
    def has_more(self) -> bool:
        if self.items == 0:
            return False
        if self.last_page is not None:
            return self.current_page < self.last_page
        return bool(self.next_page_url)


@dataclass(slots=True)
class _Context:
    now: datetime
    events: list[ProviderEvent] = field(default_factory=list)


# -- small value helpers -------------------------------------------------------------------------


def _now(now: datetime | None) -> datetime:
    return now.astimezone(UTC) if now is not None else datetime.now(UTC)


def _ident(value: Any) -> str | None:
    """An id or reference as a string: Kolmeya sends uuids as strings and job/reply ids as integers."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return None


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    return None


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return " ".join("".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower().split())


def phone_to_e164(value: Any) -> str | None:
    """E.164 of a Kolmeya phone (national int 48991910234, "5511999999999", ...), or None."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    raw = str(value).strip()
    if not raw or len(raw) > 32:
        return None
    return _e164(raw)


@lru_cache(maxsize=8192)
def _e164(raw: str) -> str | None:
    # phonenumbers costs more than the rest of parsing a reply; customers write again and again.
    try:
        # strict=False: Kolmeya already delivered to/from this number; stale metadata must not drop it.
        return normalize_phone(raw, strict=False)
    except Exception:  # InvalidPhone, or anything phonenumbers dislikes: the caller decides
        return None


def _address(value: Any) -> tuple[str, bool]:
    """(address, normalized). A phone we cannot normalize is kept as its digits so nothing is lost."""
    e164 = phone_to_e164(value)
    if e164 is not None:
        return e164, True
    digits = "".join(ch for ch in str(value) if ch.isascii() and ch.isdigit()) if value is not None else ""
    if isinstance(value, bool) or not isinstance(value, int | str) or not digits:
        raise _Malformed("telefone ausente ou inválido")
    return digits, False


# -- dates -----------------------------------------------------------------------------------------


def parse_br_datetime(value: str) -> datetime:
    """`dd/mm/YYYY HH:MM[:SS]` in São Paulo local time (how Kolmeya writes dates) → aware UTC.
    Raises ValueError on anything else."""
    match = _BR_DATETIME.match(value)
    if match is None:
        raise ValueError(f"not a dd/mm/YYYY HH:MM:SS date: {value[:40]!r}")
    day, month, year, hour, minute, second = (int(part) if part else 0 for part in match.groups())
    try:
        local = datetime(year, month, day, hour, minute, second, tzinfo=SAO_PAULO)
        return local.astimezone(UTC)
    except OverflowError as exc:  # year 9999 pushed past datetime.max by the offset
        raise ValueError(f"date out of range: {value[:40]!r}") from exc


def parse_timestamp(value: Any) -> datetime | None:
    """A Kolmeya date (`dd/mm/YYYY HH:MM:SS`, São Paulo) or an ISO 8601 one (naive = São Paulo) or
    epoch seconds, as aware UTC; None when absent or unreadable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC) if 0 < value < 32503680000 else None
        except (ValueError, OverflowError, OSError):
            return None
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        return None
    text = value.strip()
    try:
        return parse_br_datetime(text)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=SAO_PAULO)
    try:
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


# -- statuses --------------------------------------------------------------------------------------


def map_status(code: Any, text: Any = None) -> tuple[DeliveryStatus, str | None, str | None] | None:
    """(status, error_code, agent-facing error) for a Kolmeya status code and/or text; None if unknown.
    The numeric code wins over the text."""
    number = _int(code)
    if number is None or number not in STATUS_CODES:
        number = _STATUS_TEXTS.get(_fold(text)) if isinstance(text, str) else None
    if number is None:
        return None
    status, error = STATUS_CODES[number]
    if status != "failed":
        return status, None, None
    return status, str(number), error


def _status_update(
    item: Mapping[str, Any],
    ctx: _Context,
    *,
    raw: Mapping[str, Any],
    recipient: Any = None,
) -> StatusUpdate | None:
    message_id = _ident(item.get("id"))
    reference = _ident(item.get("reference"))
    if message_id is None and reference is None:
        raise _Malformed("status sem id nem reference da mensagem")
    mapped = map_status(item.get("status_code"), item.get("status"))
    if mapped is None:
        ctx.events.append(
            ProviderEvent(
                "unknown_status",
                {
                    "message_id": message_id,
                    "reference": reference,
                    "status": item.get("status"),
                    "status_code": item.get("status_code"),
                    "raw": dict(raw),
                },
            )
        )
        return None
    status, error_code, error = mapped
    when = None
    for key in ("delivered_at", "updated_at", "status_at", "data", "date"):
        when = parse_timestamp(item.get(key))
        if when is not None:
            break
    address = phone_to_e164(recipient if recipient is not None else item.get("phone"))
    return StatusUpdate(
        status=status,
        timestamp=when or ctx.now,
        raw=raw,
        provider_message_id=message_id,
        reference=reference,
        error_code=error_code,
        error=error,
        recipient=address,
    )


def _request_statuses(doc: Mapping[str, Any], ctx: _Context, batch: WebhookBatch) -> None:
    """Nested status webhook and `/sms/status/request` response: a request with its messages."""
    items = doc.get("messages")
    if not isinstance(items, list):
        raise _Malformed("'messages' deve ser uma lista")
    request = {"id": _ident(doc.get("id")), "reference": _ident(doc.get("reference"))}
    for item in items:
        if not isinstance(item, dict):
            raise _Malformed("item de 'messages' não é um objeto")
        update = _status_update(item, ctx, raw={**item, "request": request})
        if update is not None:
            batch.statuses.append(update)
    request_status = doc.get("status")
    if isinstance(request_status, str) and _fold(request_status) in _REJECTED_REQUEST_TEXTS:
        batch.events.append(_rejected_event(doc))


def _is_request_rejected(doc: Mapping[str, Any]) -> bool:
    if "messages" in doc or "phone" in doc or _ident(doc.get("id")) is None:
        return False
    status = doc.get("status")
    rejected_text = isinstance(status, str) and _fold(status) in _REJECTED_REQUEST_TEXTS
    return "status_message" in doc or (rejected_text and "status_code" not in doc)


def _rejected_event(doc: Mapping[str, Any]) -> ProviderEvent:
    reason = doc.get("status_message")
    reason_text = reason.strip() if isinstance(reason, str) and reason.strip() else None
    error = "Envio rejeitado pela Kolmeya na homologação"
    if reason_text:
        error = f"{error}: {reason_text}"
    return ProviderEvent(
        "request_rejected",
        {
            "request_id": _ident(doc.get("id")),
            "reference": _ident(doc.get("reference")),
            "status": doc.get("status"),
            "reason": reason_text,
            "status_message": reason_text,  # Kolmeya's own key, for readers that expect it
            "error": error,
            "raw": dict(doc),
        },
    )


# -- replies ---------------------------------------------------------------------------------------


def _derived_id(phone: Any, text: str, when: Any) -> str:
    """A stable id for a reply Kolmeya sent without one: the same payload twice gives the same id."""
    digits = "".join(ch for ch in str(phone) if ch.isascii() and ch.isdigit())[-11:]
    key = json.dumps([digits, text, str(when) if when is not None else ""], ensure_ascii=False)
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def _reply(
    item: Mapping[str, Any],
    ctx: _Context,
    *,
    raw: Mapping[str, Any],
    text_key: str,
    prefix: str = REPLY_ID_PREFIX,
) -> InboundMessage:
    text = _text(item.get(text_key))
    if text is None:
        raise _Malformed(f"resposta sem texto ('{text_key}')")
    original = item.get("message")
    original = original if isinstance(original, dict) else {}
    phone = original.get("phone") if original.get("phone") is not None else item.get("phone")
    address, normalized = _address(phone)
    received_raw = item.get("received_at", item.get("data"))
    when = parse_timestamp(received_raw)
    reply_id = _ident(item.get("id")) or _derived_id(phone, text, received_raw)
    attributes: dict[str, Any] = {}
    if not normalized:
        attributes["address_not_normalized"] = True
    if when is None and received_raw is not None:
        attributes["received_at_raw"] = str(received_raw)[:64]
    original_text = _text(original.get("content"))
    if original_text is None and text_key == "reply":
        original_text = _text(item.get("message"))
    if original_text is not None:
        attributes["original_text"] = original_text
    request = item.get("request")
    if isinstance(request, dict):
        attributes["request_id"] = _ident(request.get("id"))
        attributes["request_reference"] = _ident(request.get("reference"))
    job = _ident(item.get("job"))
    if job is not None:
        attributes["job"] = job
    # The flat shape (kolmeya.md §2.6, SR-15) names the original by `original_message_id` and its
    # request ("Job ID": the request uuid) by `job_id`.
    flat_job = _ident(item.get("job_id"))
    if flat_job is not None:
        attributes.setdefault("request_id", flat_job)
    parameters = item.get("parameters")
    if isinstance(parameters, dict):
        attributes["parameters"] = parameters
    reference = _ident(original.get("reference"))
    if reference is None and text_key == "message":  # the flat reply carries our reference on top
        reference = _ident(item.get("reference"))
    return InboundMessage(
        provider_message_id=prefix + reply_id,
        address=address,
        kind="text",
        text=text,
        timestamp=when or ctx.now,
        raw=raw,
        reply_to_provider_id=_ident(original.get("id")) or _ident(item.get("original_message_id")),
        reply_to_reference=reference,
        attributes=attributes,
    )


# -- documents -------------------------------------------------------------------------------------


def _document(doc: Mapping[str, Any], ctx: _Context, batch: WebhookBatch) -> None:
    """One webhook object of any known shape into `batch`; raises _Malformed for unknown shapes."""
    reply = doc.get("reply")
    if isinstance(reply, dict):  # nested reply webhook
        batch.messages.append(_reply(reply, ctx, raw=doc, text_key="reply"))
    elif _text(reply) is not None and isinstance(doc.get("message"), dict):  # a /sms/replys item
        batch.messages.append(_reply(doc, ctx, raw=doc, text_key="reply"))
    elif _text(reply) is not None and "phone" in doc:  # a /sms/replys-web item
        batch.messages.append(_reply(doc, ctx, raw=doc, text_key="reply", prefix=WEB_REPLY_ID_PREFIX))
    elif "messages" in doc:  # nested status webhook, /sms/status/request
        _request_statuses(doc, ctx, batch)
    elif _is_request_rejected(doc):
        batch.events.append(_rejected_event(doc))
    elif "status" in doc or "status_code" in doc:  # flat status, /sms/status/message
        update = _status_update(doc, ctx, raw=doc)
        if update is not None:
            batch.statuses.append(update)
    elif "phone" in doc and "message" in doc:  # flat reply {phone, message, reference, data}
        batch.messages.append(_reply(doc, ctx, raw=doc, text_key="message"))
    else:
        keys = ", ".join(sorted(str(key) for key in doc)[:10]) or "nenhuma"
        raise _Malformed(f"formato desconhecido (chaves: {keys})")


def parse_webhook_document(doc: Any, *, now: datetime | None = None) -> WebhookBatch:
    """A decoded webhook (one object, or a list of objects) → WebhookBatch, or WebhookRejected(400)."""
    ctx = _Context(now=_now(now))
    batch = WebhookBatch()
    documents = doc if isinstance(doc, list) else [doc]
    if not documents:
        raise WebhookRejected(400, "Webhook Kolmeya vazio")
    for index, item in enumerate(documents):
        if not isinstance(item, dict):
            raise WebhookRejected(400, "Webhook Kolmeya inválido: esperava um objeto JSON")
        try:
            _document(item, ctx, batch)
        except _Malformed as exc:
            where = f" (item {index})" if isinstance(doc, list) else ""
            raise WebhookRejected(400, f"Webhook Kolmeya inválido{where}: {exc}") from None
    batch.events.extend(ctx.events)
    return batch


def parse_form_body(body: bytes) -> dict[str, Any]:
    """`application/x-www-form-urlencoded` with PHP brackets (`reply[message][id]=…`) → nested dict.
    Objects whose keys are all 0..n-1 become lists, as PHP arrays would in JSON."""
    result: dict[str, Any] = {}
    for key, value in parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True):
        head, _, rest = key.partition("[")
        parts = [head] + (re.findall(r"([^\[\]]*)\]", "[" + rest) if rest else [])
        if len(parts) > _MAX_FORM_DEPTH:
            raise ValueError(f"form key nested deeper than {_MAX_FORM_DEPTH} levels")
        node: dict[str, Any] = result
        for depth, part in enumerate(parts):
            if part == "":
                part = str(sum(1 for k in node if k.isdigit()))
            if depth == len(parts) - 1:
                node[part] = value
            else:
                child = node.get(part)
                if not isinstance(child, dict):
                    child = {}
                    node[part] = child
                node = child
    return _listify(result)


def _listify(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    converted = {key: _listify(item) for key, item in value.items()}
    if converted and all(key.isdigit() for key in converted):
        indexes = sorted(int(key) for key in converted)
        if indexes == list(range(len(indexes))):
            return [converted[str(index)] for index in indexes]
    return converted


def parse_webhook_body(body: bytes, *, content_type: str | None = None, now: datetime | None = None) -> WebhookBatch:
    """The raw body of a Kolmeya webhook POST → WebhookBatch. Raises WebhookRejected(400) and only
    that on bad input (not JSON, unknown shape, missing fields)."""
    if not body.strip():
        raise WebhookRejected(400, "Webhook Kolmeya sem corpo")
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        if content_type and "x-www-form-urlencoded" in content_type.lower():
            try:
                doc = parse_form_body(body)
            except ValueError as exc:
                raise WebhookRejected(400, f"Webhook Kolmeya inválido: {exc}") from None
        else:
            raise WebhookRejected(400, "Webhook Kolmeya inválido: o corpo não é JSON") from None
    try:
        return parse_webhook_document(doc, now=now)
    except RecursionError:
        raise WebhookRejected(400, "Webhook Kolmeya inválido: JSON aninhado demais") from None


# -- polling ---------------------------------------------------------------------------------------


def _unparsed(source: str, item: Any, reason: str) -> ProviderEvent:
    return ProviderEvent("unparsed_item", {"source": source, "reason": reason, "item": item})


def _page(doc: Any, source: str, *, now: datetime | None, web: bool) -> ReplysPage:
    ctx = _Context(now=_now(now))
    batch = WebhookBatch()
    if not isinstance(doc, dict):
        batch.events.append(_unparsed(source, doc, "a página não é um objeto JSON"))
        return ReplysPage(batch=batch)
    items = doc.get("data")
    if not isinstance(items, list):
        items = []
    for item in items:
        if not isinstance(item, dict):
            batch.events.append(_unparsed(source, item, "item não é um objeto"))
            continue
        try:
            if web:
                batch.messages.append(_reply(item, ctx, raw=item, text_key="reply", prefix=WEB_REPLY_ID_PREFIX))
            elif "reply" not in item and "phone" in item and _text(item.get("message")) is not None:
                # A flat item ({phone, message, original_message_id, job_id}) in a /sms/replys page.
                batch.messages.append(_reply(item, ctx, raw=item, text_key="message"))
            else:
                batch.messages.append(_reply(item, ctx, raw=item, text_key="reply"))
        except _Malformed as exc:
            batch.events.append(_unparsed(source, item, str(exc)))
    batch.events.extend(ctx.events)
    next_url = doc.get("next_page_url")
    return ReplysPage(
        batch=batch,
        current_page=_int(doc.get("current_page")) or 1,
        last_page=_int(doc.get("last_page")),
        next_page_url=next_url if isinstance(next_url, str) and next_url else None,
        total=_int(doc.get("total")),
        items=len(items),
    )


def parse_replys_page(doc: Any, *, now: datetime | None = None) -> ReplysPage:
    """One `/sms/replys` page: `{"current_page", "data": [{"id", "reply", "received_at",
    "message": {"id", "reference", "phone"}, "request": {...}}], "last_page", ...}`."""
    return _page(doc, "replys", now=now, web=False)


def parse_replys_web_page(doc: Any, *, now: datetime | None = None) -> ReplysPage:
    """One `/sms/replys-web` page: items `{"id", "job", "phone", "message", "reply", "received_at", ...}`."""
    return _page(doc, "replys-web", now=now, web=True)


def parse_status_request(doc: Any, *, now: datetime | None = None) -> WebhookBatch:
    """A `/sms/status/request` response: one StatusUpdate per message of the request."""
    ctx = _Context(now=_now(now))
    batch = WebhookBatch()
    if not isinstance(doc, dict) or not isinstance(doc.get("messages"), list):
        batch.events.append(_unparsed("status/request", doc, "resposta sem 'messages'"))
        return batch
    for item in doc["messages"]:
        try:
            if not isinstance(item, dict):
                raise _Malformed("item de 'messages' não é um objeto")
            request = {"id": _ident(doc.get("id")), "reference": _ident(doc.get("reference"))}
            update = _status_update(item, ctx, raw={**item, "request": request})
        except _Malformed as exc:
            batch.events.append(_unparsed("status/request", item, str(exc)))
            continue
        if update is not None:
            batch.statuses.append(update)
    request_status = doc.get("status")
    if isinstance(request_status, str) and _fold(request_status) in _REJECTED_REQUEST_TEXTS:
        batch.events.append(_rejected_event(doc))
    batch.events.extend(ctx.events)
    return batch


def parse_status_message(doc: Any, *, now: datetime | None = None) -> WebhookBatch:
    """A `/sms/status/message` response `{"id", "reference", "status", "status_code"}`."""
    ctx = _Context(now=_now(now))
    batch = WebhookBatch()
    try:
        if not isinstance(doc, dict):
            raise _Malformed("resposta não é um objeto")
        update = _status_update(doc, ctx, raw=doc)
    except _Malformed as exc:
        batch.events.append(_unparsed("status/message", doc, str(exc)))
        return batch
    if update is not None:
        batch.statuses.append(update)
    batch.events.extend(ctx.events)
    return batch
