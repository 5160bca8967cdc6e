"""Messenger Platform webhooks (Facebook Messenger `object: "page"`, Instagram `object: "instagram"`)
→ normalized inbound events. Shared by the `messenger` and `instagram` providers.

Shapes: shared/providers/whatsapp-meta.md §4 and Meta's webhook references. Events sit in
`entry[].messaging[]` (or `standby[]` when another app owns the thread: kept too, never lost);
timestamps are integer milliseconds; ids are page-scoped (PSID) or Instagram-scoped (IGSID).

- `message`: text, attachments (one message per attachment; the text goes with the first), replies,
  quick replies, story replies and mentions, shares, referrals, `is_unsupported`;
  `is_echo` = sent by the page: ours (its `metadata` is our reference) becomes a "sent" report,
  anything else (typed in the page's inbox) an outbound message;
  `is_deleted` deletes the message with that `mid`;
- `message_edit` (Messenger): a new text for `mid`;
- `reaction`: react / unreact on `mid`;
- `postback`: a button tap; `referral`: the customer arrived from an ad or link;
- `delivery` / `read` (Messenger) and `read.mid` (Instagram `messaging_seen`): watermarks.

Arbitrary JSON never raises anything but `WebhookRejected(400)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from atende.channels.base import (
    DeliveryStatus,
    Direction,
    InboundMessage,
    MediaRef,
    ProviderEvent,
    StatusUpdate,
    WebhookBatch,
)
from atende.channels.meta.envelope import as_obj as _obj
from atende.channels.meta.envelope import as_text as _text
from atende.channels.meta.envelope import entries, parse_body

MetaObject = Literal["page", "instagram"]
REFERENCE_PREFIX = "atende:"  # what we put in `message.metadata`: echoes of our own sends carry it back
_MEDIA_KINDS = {"image": "image", "video": "video", "audio": "audio", "file": "document", "sticker": "sticker"}
_SHARE_TYPES = frozenset({"share", "ig_reel", "reel", "ig_post", "post", "fallback", "template", "product"})


def parse_messaging_body(raw: bytes, expected: MetaObject) -> WebhookBatch:
    """A signature-checked webhook body of a page (Messenger) or an Instagram account."""
    return parse_body(raw, lambda payload: parse_messaging_payload(payload, expected), "da Meta")


def parse_messaging_payload(payload: Any, expected: MetaObject) -> WebhookBatch:
    batch = WebhookBatch()
    for entry in entries(payload, expected):
        if not isinstance(entry, dict):
            batch.events.append(_malformed("entry não é um objeto", entry))
            continue
        account = _text(entry.get("id"))
        found = False
        for key in ("messaging", "standby"):
            events = entry.get(key)
            if not isinstance(events, list):
                continue
            found = True
            for event in events:
                if isinstance(event, dict):
                    _parse_event(event, account, expected, batch, standby=key == "standby")
                else:
                    batch.events.append(_malformed("evento não é um objeto", event))
        if not found:
            changes = entry.get("changes")
            batch.events.append(ProviderEvent("unhandled", {"account_id": account, "changes": changes
                                                            if isinstance(changes, list) else None}))
    return batch


# --------------------------------------------------------------------------------------- events


def _parse_event(event: dict[str, Any], account: str | None, expected: MetaObject, batch: WebhookBatch,
                 *, standby: bool) -> None:
    sender = _text(_obj(event.get("sender")).get("id"))
    recipient = _text(_obj(event.get("recipient")).get("id"))
    when = _millis(event.get("timestamp"))
    message = event.get("message")
    common: dict[str, Any] = {"standby": True} if standby else {}
    if isinstance(message, dict):
        echo = message.get("is_echo") is True
        customer = recipient if echo else sender
        if not customer:
            batch.events.append(_malformed("mensagem sem remetente/destinatário", event))
            return
        _message(event, message, customer, "out" if echo else "in", when, account, batch, common)
        return
    if not sender:
        batch.events.append(_malformed("evento sem remetente", event))
        return
    if isinstance(event.get("message_edit"), dict):
        _edit(event, event["message_edit"], sender, when, account, batch)
    elif isinstance(event.get("reaction"), dict):
        _reaction(event, event["reaction"], sender, when, account, batch)
    elif isinstance(event.get("postback"), dict):
        _postback(event, event["postback"], sender, when, account, batch, common)
    elif isinstance(event.get("referral"), dict):
        _referral(event, event["referral"], sender, when, account, batch)
    elif isinstance(event.get("delivery"), dict):
        delivery = event["delivery"]
        mids = [m for m in delivery.get("mids") or [] if isinstance(m, str) and m]
        for mid in mids:
            batch.statuses.append(_status("delivered", when, event, sender, account, provider_message_id=mid))
        watermark = _millis(delivery.get("watermark"), default=None)
        if watermark is not None:
            batch.statuses.append(_status("delivered", watermark, event, sender, account, up_to=watermark))
    elif isinstance(event.get("read"), dict):
        read = event["read"]
        seen = _text(read.get("mid"))
        watermark = _millis(read.get("watermark"), default=None)
        if seen:  # Instagram `messaging_seen`: the customer saw the thread up to this message
            batch.statuses.append(_status("read", when, event, sender, account, provider_message_id=seen,
                                          up_to=when))
        elif watermark is not None:
            batch.statuses.append(_status("read", watermark, event, sender, account, up_to=watermark))
        else:
            batch.events.append(_malformed("leitura sem mid nem watermark", event))
    else:
        kinds = sorted(k for k in event if k not in ("sender", "recipient", "timestamp"))
        batch.events.append(ProviderEvent("unhandled", {"account_id": account, "kinds": kinds[:10],
                                                        "object": expected, "raw": event}))


def _message(event: dict[str, Any], message: dict[str, Any], customer: str, direction: Direction, when: datetime,
             account: str | None, batch: WebhookBatch, common: dict[str, Any]) -> None:
    mid = _text(message.get("mid"))
    if not mid:
        batch.events.append(_malformed("mensagem sem mid", event))
        return
    metadata = _text(message.get("metadata"))
    if direction == "out" and metadata and metadata.startswith(REFERENCE_PREFIX):
        # The echo of a message we sent through the API: a delivery report, not a new message.
        batch.statuses.append(StatusUpdate(
            status="sent", timestamp=when, raw=event, provider_message_id=mid,
            reference=metadata.removeprefix(REFERENCE_PREFIX), recipient=customer, account_id=account))
        return
    if message.get("is_deleted") is True:
        batch.messages.append(InboundMessage(
            provider_message_id=f"{mid}#deleted", address=customer, kind="unsupported", text=None,
            timestamp=when, raw=event, direction=direction, account_id=account, revision="delete", revises=mid,
            attributes={**common, "type": "deleted"}))
        return
    attributes: dict[str, Any] = dict(common)
    if direction == "out" and _text(message.get("app_id")):
        attributes["app_id"] = _text(message.get("app_id"))
    reply_to = _obj(message.get("reply_to"))
    reply_mid = _text(reply_to.get("mid"))
    story = _obj(reply_to.get("story"))
    if story:
        attributes["story_reply"] = {k: v for k, v in (("id", _text(story.get("id"))), ("url", _text(story.get("url"))))
                                     if v}
    quick = _obj(message.get("quick_reply"))
    if _text(quick.get("payload")):
        attributes["payload"] = _text(quick.get("payload"))
        attributes["interactive_type"] = "quick_reply"
    if isinstance(message.get("referral"), dict):
        attributes["referral"] = message["referral"]
    text = message.get("text") if isinstance(message.get("text"), str) else None
    base_kind = "interactive" if quick else "text"
    if message.get("is_unsupported") is True:
        batch.messages.append(_inbound(mid, customer, "unsupported", text, when, event, direction, account,
                                       reply_mid, None, {**attributes, "type": "unsupported"}))
        return
    attachments = [a for a in message.get("attachments") or [] if isinstance(a, dict)]
    if not attachments:
        if text is None:
            attributes["type"] = "unknown"
            batch.messages.append(_inbound(mid, customer, "unsupported", None, when, event, direction, account,
                                           reply_mid, None, attributes))
            return
        attributes["type"] = "text"
        batch.messages.append(_inbound(mid, customer, base_kind, text, when, event, direction, account, reply_mid,
                                       None, attributes))
        return
    for index, attachment in enumerate(attachments):
        kind, media, extra, caption = _attachment(attachment)
        item_id = mid if index == 0 else f"{mid}#{index}"
        body = text if index == 0 and text else caption
        batch.messages.append(_inbound(item_id, customer, kind, body, when, event, direction, account,
                                       reply_mid if index == 0 else None, media, {**attributes, **extra}))


def _attachment(attachment: Mapping[str, Any]) -> tuple[str, MediaRef | None, dict[str, Any], str | None]:
    """(kind, media, attributes, text) of one attachment."""
    atype = _text(attachment.get("type")) or "unknown"
    payload = _obj(attachment.get("payload"))
    url = _text(payload.get("url"))
    attrs: dict[str, Any] = {"type": atype}
    if atype in _MEDIA_KINDS:
        kind = "sticker" if atype == "image" and payload.get("sticker_id") is not None else _MEDIA_KINDS[atype]
        if payload.get("sticker_id") is not None:
            attrs["sticker_id"] = _text(payload.get("sticker_id"))
        title = _text(payload.get("title")) or _text(attachment.get("title"))
        name = _text(payload.get("name"))
        return kind, MediaRef(url=url, filename=name) if url else None, attrs, title if kind == "document" else None
    if atype == "story_mention":
        attrs["story"] = {"url": url} if url else {}
        return "story_mention", MediaRef(url=url) if url else None, attrs, None
    if atype == "location":
        coords = _obj(payload.get("coordinates"))
        lat, lng = coords.get("lat"), coords.get("long")
        if isinstance(lat, int | float) and isinstance(lng, int | float):
            attrs.update(latitude=float(lat), longitude=float(lng))
        title = _text(payload.get("title")) or _text(attachment.get("title"))
        return "location", None, attrs, "📍 " + (title or f"{lat}, {lng}")
    if atype in _SHARE_TYPES:
        title = _text(payload.get("title")) or _text(attachment.get("title"))
        share = {k: v for k, v in (("url", url), ("title", title),
                                   ("id", _text(payload.get("reel_video_id")) or _text(payload.get("id"))))
                 if v}
        attrs["share"] = share
        return "share", None, attrs, title or url
    attrs["payload"] = payload
    return "unsupported", None, attrs, None


def _edit(event: dict[str, Any], edit: Mapping[str, Any], sender: str, when: datetime, account: str | None,
          batch: WebhookBatch) -> None:
    mid = _text(edit.get("mid"))
    if not mid:
        batch.events.append(_malformed("edição sem mid", event))
        return
    number = _text(edit.get("num_edit")) or str(int(when.timestamp() * 1000))
    text = edit.get("text") if isinstance(edit.get("text"), str) else None
    batch.messages.append(InboundMessage(
        provider_message_id=f"{mid}#edit:{number}", address=sender, kind="text", text=text, timestamp=when,
        raw=event, account_id=account, revision="edit", revises=mid, attributes={"type": "edit"}))


def _reaction(event: dict[str, Any], reaction: Mapping[str, Any], sender: str, when: datetime,
              account: str | None, batch: WebhookBatch) -> None:
    target = _text(reaction.get("mid"))
    if not target:
        batch.events.append(_malformed("reação sem mid", event))
        return
    removed = _text(reaction.get("action")) == "unreact"
    emoji = None if removed else (_text(reaction.get("emoji")) or _text(reaction.get("reaction")))
    stamp = int(when.timestamp() * 1000)
    batch.messages.append(InboundMessage(
        provider_message_id=f"{target}#reaction:{sender}:{stamp}", address=sender, kind="reaction", text=emoji,
        timestamp=when, raw=event, reply_to_provider_id=target, account_id=account,
        attributes={"type": "reaction", "target": target, "emoji": emoji or "", "removed": removed,
                    "reaction": _text(reaction.get("reaction"))}))


def _postback(event: dict[str, Any], postback: Mapping[str, Any], sender: str, when: datetime,
              account: str | None, batch: WebhookBatch, common: dict[str, Any]) -> None:
    title = _text(postback.get("title"))
    mid = _text(postback.get("mid")) or f"postback:{sender}:{int(when.timestamp() * 1000)}"
    attributes: dict[str, Any] = {**common, "type": "postback", "interactive_type": "postback"}
    if _text(postback.get("payload")):
        attributes["payload"] = _text(postback.get("payload"))
    if isinstance(postback.get("referral"), dict):
        attributes["referral"] = postback["referral"]
    batch.messages.append(InboundMessage(
        provider_message_id=mid, address=sender, kind="interactive", text=title, timestamp=when, raw=event,
        account_id=account, attributes=attributes))


def _referral(event: dict[str, Any], referral: Mapping[str, Any], sender: str, when: datetime,
              account: str | None, batch: WebhookBatch) -> None:
    """The customer opened the thread from an ad, a link (m.me / ig.me) or a QR code."""
    source = _text(referral.get("source")) or "?"
    ref = _text(referral.get("ref"))
    batch.messages.append(InboundMessage(
        provider_message_id=f"referral:{sender}:{int(when.timestamp() * 1000)}", address=sender, kind="event",
        text=f"O cliente chegou por {source}" + (f" ({ref})" if ref else ""), timestamp=when, raw=event,
        account_id=account, attributes={"type": "referral", "system_type": "referral", "referral": dict(referral)}))


# -------------------------------------------------------------------------------------- helpers


def _inbound(mid: str, customer: str, kind: str, text: str | None, when: datetime, event: dict[str, Any],
             direction: Direction, account: str | None, reply_to: str | None, media: MediaRef | None,
             attributes: dict[str, Any]) -> InboundMessage:
    return InboundMessage(
        provider_message_id=mid, address=customer, kind=kind, text=text, timestamp=when, raw=event,
        direction=direction, reply_to_provider_id=reply_to, media=media, attributes=attributes, account_id=account)


def _status(status: DeliveryStatus, when: datetime, event: dict[str, Any], customer: str, account: str | None,
            *, provider_message_id: str | None = None, up_to: datetime | None = None) -> StatusUpdate:
    return StatusUpdate(status=status, timestamp=when, raw=event, provider_message_id=provider_message_id,
                        recipient=customer, account_id=account, up_to=up_to)


def _malformed(reason: str, item: Any) -> ProviderEvent:
    return ProviderEvent("malformed", {"reason": reason, "item": item})


def _millis(value: Any, default: Any = "now") -> Any:
    """Integer milliseconds (seconds accepted too) → aware UTC; missing or absurd → now (or `default`)."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        seconds = value / 1000 if value > 10_000_000_000 else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            pass
    return datetime.now(UTC) if default == "now" else default
