"""WhatsApp Cloud API webhook body → normalized inbound events (`WebhookBatch`).

Called by `WhatsAppCloudProvider.parse_webhook` AFTER the signature check. Shapes follow
shared/providers/whatsapp-meta.md §1. Rules:

- every `entry[] × changes[] × messages[] / statuses[]` is walked (Meta batches up to 1000);
- no message is ever dropped: unknown types become kind "unsupported" with their raw payload, and an
  item we cannot even identify (no id) becomes a `ProviderEvent("malformed", ...)`;
- the envelope must be a WhatsApp Business Account webhook, anything else is `WebhookRejected(400)`;
- arbitrary JSON never raises anything but `WebhookRejected`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from atende.channels.base import (
    AddressChange,
    DeliveryStatus,
    InboundMessage,
    MediaRef,
    ProviderEvent,
    Revision,
    StatusUpdate,
    WebhookBatch,
)
from atende.channels.meta.envelope import as_list as _list
from atende.channels.meta.envelope import as_obj as _obj
from atende.channels.meta.envelope import as_text as _text
from atende.channels.meta.envelope import entries, parse_body
from atende.channels.whatsapp_cloud.alerts import ALERT_FIELDS, alert_event
from atende.channels.whatsapp_cloud.errors import classify
from atende.channels.whatsapp_cloud.orders import order_summary
from atende.domain.phones import is_bsuid

WABA_OBJECT = "whatsapp_business_account"
MEDIA_TYPES = ("image", "video", "audio", "document", "sticker")
GROUP_PREFIX = "group:"  # a WhatsApp group's own conversation address: "group:<group_id>"
GROUP_NAME = "Grupo do WhatsApp"
TEMPLATE_FIELDS = frozenset(
    {
        "message_template_status_update",
        "template_category_update",
        "message_template_quality_update",
        "message_template_components_update",
    }
)
_STATUS_MAP: dict[str, DeliveryStatus] = {
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "played": "read",  # voice message played: the strongest receipt we have
    "failed": "failed",
}


def parse_webhook_body(raw: bytes) -> WebhookBatch:
    """Parse a (signature-checked) webhook body. Raises only WebhookRejected(400)."""
    return parse_body(raw, parse_payload, "do WhatsApp")


def parse_payload(payload: Any) -> WebhookBatch:
    """Parse an already-decoded webhook payload."""
    batch = WebhookBatch()
    for entry in entries(payload, WABA_OBJECT):
        if not isinstance(entry, dict):
            batch.events.append(_malformed("entry", "entry não é um objeto", entry))
            continue
        waba_id = _text(entry.get("id"))
        changes = entry.get("changes")
        if not isinstance(changes, list):
            batch.events.append(_malformed("entry", "entry sem lista changes[]", entry))
            continue
        for change in changes:
            batch.extend(_parse_change(change, waba_id, entry.get("time")))
    return batch


# --------------------------------------------------------------------------------------- changes


def _parse_change(change: Any, waba_id: str | None, entry_time: Any = None) -> WebhookBatch:
    batch = WebhookBatch()
    if not isinstance(change, dict):
        batch.events.append(_malformed("change", "change não é um objeto", change))
        return batch
    field = _text(change.get("field")) or ""
    value = change.get("value")
    if not isinstance(value, dict):
        batch.events.append(_malformed(field or "change", "change sem objeto value", change))
        return batch
    if field in TEMPLATE_FIELDS:
        batch.events.append(_template_event(field, value, waba_id))
    elif field in ALERT_FIELDS:
        batch.events.append(alert_event(field, value, waba_id, entry_time))
    elif field == "smb_message_echoes":
        _parse_messages_value(value, waba_id, batch, field=field, key="message_echoes", direction="out")
    elif field == "messages" or any(k in value for k in ("messages", "statuses")):
        _parse_messages_value(value, waba_id, batch, field=field or "messages", key="messages", direction="in")
    else:
        batch.events.append(ProviderEvent("unhandled", {"field": field, "waba_id": waba_id, "value": value}))
    return batch


def _parse_messages_value(
    value: dict[str, Any],
    waba_id: str | None,
    batch: WebhookBatch,
    *,
    field: str,
    key: str,
    direction: str,
) -> None:
    metadata = _obj(value.get("metadata"))
    account_id = _text(metadata.get("phone_number_id"))
    contacts = [c for c in _list(value.get("contacts")) if isinstance(c, dict)]
    value_errors = [e for e in _list(value.get("errors")) if isinstance(e, dict)]
    messages = _list(value.get(key))
    for item in messages:
        if not isinstance(item, dict):
            batch.events.append(_malformed(field, "mensagem não é um objeto", item))
            continue
        parsed = _parse_message(
            item,
            contacts=contacts,
            account_id=account_id,
            extra_errors=value_errors,
            direction="out" if direction == "out" else "in",
        )
        if isinstance(parsed, InboundMessage):
            batch.messages.append(parsed)
        else:
            batch.events.append(parsed)
    for item in _list(value.get("statuses")):
        status = _parse_status(item, account_id)
        if isinstance(status, StatusUpdate):
            batch.statuses.append(status)
        else:
            batch.events.append(status)
    if value_errors and not messages:
        batch.events.append(
            ProviderEvent(
                "account_error",
                {
                    "field": field,
                    "waba_id": waba_id,
                    "phone_number_id": account_id,
                    "errors": [_error_dict(e) for e in value_errors],
                },
            )
        )


# -------------------------------------------------------------------------------------- messages


def _parse_message(
    msg: dict[str, Any],
    *,
    contacts: Sequence[dict[str, Any]],
    account_id: str | None,
    extra_errors: Sequence[dict[str, Any]],
    direction: str,
) -> InboundMessage | ProviderEvent:
    message_id = _text(msg.get("id"))
    if not message_id:
        return _malformed("messages", "mensagem sem id", msg)
    wa_type = _text(msg.get("type")) or "unknown"
    system = _obj(msg.get("system")) if wa_type == "system" else {}
    if direction == "out":
        # smb_message_echoes: sent from the WhatsApp Business app; the customer is `to`.
        party = _text(msg.get("to"))
        party_user_id = _text(msg.get("to_user_id"))
        party_parent = _text(msg.get("to_parent_user_id"))
    else:
        party = _text(msg.get("from"))
        party_user_id = _text(msg.get("from_user_id")) or _text(system.get("previous_user_id"))
        party_parent = _text(msg.get("from_parent_user_id"))
    if party and party.startswith("+") and _is_wa_digits(party[1:]):
        party = party[1:]
    contact = _find_contact(contacts, {x for x in (party, party_user_id) if x})
    contact_wa_id = _text(contact.get("wa_id"))
    contact_user_id = _text(contact.get("user_id"))

    wa_id = next((x for x in (party, contact_wa_id) if x and _is_wa_digits(x)), None)
    bsuid = next((x for x in (party_user_id, contact_user_id) if x and _is_user_id(x)), None)
    if bsuid is None and party and _is_user_id(party):
        bsuid = party
    if party and _is_user_id(party):
        address = party  # username user: the phone is withheld, the BSUID is the address
    elif party and _is_wa_digits(party):
        address = "+" + party
    elif wa_id:
        address = "+" + wa_id
    elif bsuid:
        address = bsuid
    else:
        return _malformed("messages", "mensagem sem remetente/destinatário", msg)

    profile = _obj(contact.get("profile"))
    identity: dict[str, str] = {}
    if wa_id:
        identity["wa_id"] = wa_id
    if bsuid:
        identity["bsuid"] = bsuid
    parent = party_parent or _text(contact.get("parent_user_id"))
    if parent:
        identity["parent_bsuid"] = parent
    username = _text(profile.get("username"))
    if username:
        identity["username"] = username

    kind, text, media, attributes = _content(wa_type, msg)
    attributes["type"] = wa_type
    revision: Revision | None = None
    revises: str | None = None
    if wa_type in ("edit", "revoke"):
        revises = _text(_obj(msg.get(wa_type)).get("original_message_id"))
        if revises:
            revision = "edit" if wa_type == "edit" else "delete"
            attributes["revises"] = revises

    context = _obj(msg.get("context"))
    reply_to = _text(context.get("id"))
    if context.get("forwarded") is True:
        attributes["forwarded"] = True
    if context.get("frequently_forwarded") is True:
        attributes["forwarded"] = True
        attributes["frequently_forwarded"] = True
    if isinstance(context.get("referred_product"), dict):
        attributes["referred_product"] = context["referred_product"]
    if reply_to and _text(context.get("from")):
        attributes["reply_to_from"] = _text(context.get("from"))
    if kind == "reaction" and reply_to is None:
        reply_to = _text(attributes.get("target"))
    if isinstance(msg.get("referral"), dict):
        attributes["referral"] = msg["referral"]
    errors = [e for e in _list(msg.get("errors")) if isinstance(e, dict)] + list(extra_errors)
    if errors:
        # Errors about a message we received: nothing of ours retries them.
        attributes["errors"] = [_error_dict(e, inbound=True) for e in errors]
    if parent:
        attributes["parent_bsuid"] = parent
    if username:
        attributes["username"] = username
    if direction == "out" and _text(msg.get("from")):
        attributes["business_number"] = _text(msg.get("from"))

    contact_name = _text(profile.get("name"))
    address_change = _address_change(system) if direction == "in" else None
    group_id = _text(msg.get("group_id"))
    if group_id:
        # A group has its own conversation (never the participant's one-to-one thread); who wrote
        # is kept on the message.
        participant = {k: v for k, v in (("address", address), ("name", contact_name), *identity.items()) if v}
        attributes["group_id"] = group_id
        attributes["group_participant"] = participant
        address, identity, address_change = GROUP_PREFIX + group_id, {}, None
        contact_name = GROUP_NAME  # the group's contact, renamed by agents at will
    return InboundMessage(
        provider_message_id=message_id,
        address=address,
        kind=kind,
        text=text,
        timestamp=_timestamp(msg.get("timestamp")),
        raw=msg,
        direction="out" if direction == "out" else "in",
        contact_name=contact_name,
        reply_to_provider_id=reply_to if revision is None else None,
        media=media,
        attributes=attributes,
        identity=identity,
        account_id=account_id,
        revision=revision,
        revises=revises,
        address_change=address_change,
    )


def _address_change(system: Mapping[str, Any]) -> AddressChange | None:
    """`user_changed_number` (new phone in `wa_id`, or `new_wa_id` in older payloads) and
    `user_changed_user_id` (new BSUID in `user_id`)."""
    stype = _text(system.get("type"))
    if stype == "user_changed_number":
        new = _text(system.get("wa_id")) or _text(system.get("new_wa_id"))
        if new and _is_wa_digits(new.lstrip("+")):
            digits = new.lstrip("+")
            return AddressChange("+" + digits, {"wa_id": digits})
    if stype == "user_changed_user_id":
        new = _text(system.get("user_id"))
        if new and _is_user_id(new):
            return AddressChange(new, {"bsuid": new})
    return None


def _content(wa_type: str, msg: dict[str, Any]) -> tuple[str, str | None, MediaRef | None, dict[str, Any]]:
    """(kind, text, media, attributes) of one message by its WhatsApp type."""
    body = msg.get(wa_type) if wa_type in msg else None
    attrs: dict[str, Any] = {}
    if wa_type == "text" and isinstance(body, dict) and isinstance(body.get("body"), str):
        return "text", body["body"], None, attrs
    if wa_type == "voice" and isinstance(body, dict):
        # The legacy `voice` type: a voice note, stored as audio like `audio` with voice=true.
        kind, text, media, attrs = _content("audio", {"type": "audio", "audio": {**body, "voice": True}})
        return kind, text, media, attrs
    if wa_type in MEDIA_TYPES and isinstance(body, dict):
        caption = _text(body.get("caption"))
        media = MediaRef(
            provider_media_id=_text(body.get("id")),
            url=_text(body.get("url")),
            mime_type=_text(body.get("mime_type")),
            filename=_text(body.get("filename")) if wa_type == "document" else None,
            sha256=_text(body.get("sha256")),
            caption=caption,
            voice=wa_type == "audio" and body.get("voice") is True,
        )
        if wa_type == "sticker" and isinstance(body.get("animated"), bool):
            attrs["animated"] = body["animated"]
        return wa_type, caption, media, attrs
    if wa_type == "location" and isinstance(body, dict):
        return "location", _location_text(body), None, _location_attrs(body)
    if wa_type == "contacts" and isinstance(body, list):
        cards = [c for c in body if isinstance(c, dict)]
        attrs["contacts"] = cards
        return "contacts", _contacts_text(cards), None, attrs
    if wa_type == "interactive" and isinstance(body, dict):
        return _interactive(body)
    if wa_type == "button" and isinstance(body, dict):
        attrs["interactive_type"] = "button"
        payload = _text(body.get("payload"))
        if payload is not None:
            attrs["payload"] = payload
        return "interactive", _text(body.get("text")), None, attrs
    if wa_type == "reaction" and isinstance(body, dict):
        emoji = body.get("emoji") if isinstance(body.get("emoji"), str) else ""
        attrs["target"] = _text(body.get("message_id"))
        attrs["emoji"] = emoji
        attrs["removed"] = not emoji
        return "reaction", emoji or None, None, attrs
    if wa_type == "order" and isinstance(body, dict):
        text, order = order_summary(body)
        attrs["order"] = order
        return "order", text, None, attrs
    if wa_type == "edit" and isinstance(body, dict):
        # The new version of an edited message: a text, or a media whose caption changed.
        inner = _obj(body.get("message"))
        inner_type = _text(inner.get("type")) or "unknown"
        kind, text, media, attrs = _content(inner_type, inner)
        attrs["edited_type"] = inner_type
        return kind, text, media, attrs
    if wa_type == "revoke":
        return "unsupported", None, None, attrs
    if wa_type == "system" and isinstance(body, dict):
        # e.g. "user changed number": kept as a system line of the conversation.
        for key in ("type", "wa_id", "new_wa_id", "user_id", "previous_user_id", "customer", "identity"):
            if _text(body.get(key)):
                attrs[f"system_{key}"] = _text(body.get(key))
        identity = msg.get("identity")
        if isinstance(identity, dict):
            attrs["identity"] = {k: v for k, v in identity.items() if isinstance(v, str | bool | int)}
        return "event", _text(body.get("body")), None, attrs
    if wa_type == "unsupported":
        subtype = _text(_obj(msg.get("unsupported")).get("type"))
        if subtype:
            attrs["unsupported_type"] = subtype  # what the customer sent: poll, edit, video_note…
    return "unsupported", None, None, attrs


def _interactive(body: dict[str, Any]) -> tuple[str, str | None, MediaRef | None, dict[str, Any]]:
    itype = _text(body.get("type")) or "unknown"
    attrs: dict[str, Any] = {"interactive_type": itype}
    reply = _obj(body.get(itype))
    if itype in ("button_reply", "list_reply"):
        if _text(reply.get("id")) is not None:
            attrs["id"] = _text(reply.get("id"))
        if _text(reply.get("description")) is not None:
            attrs["description"] = _text(reply.get("description"))
        return "interactive", _text(reply.get("title")), None, attrs
    if itype == "call_permission_reply":  # the customer answered our request to call them
        response = _text(reply.get("response"))
        if response is not None:
            attrs["response"] = response
        for key in ("expiration_timestamp", "response_source", "is_permanent"):
            if isinstance(reply.get(key), str | int | bool):
                attrs[key] = reply[key]
        label = {"accept": "aceitou", "reject": "recusou"}.get(response or "", response or "respondeu")
        return "interactive", f"📞 Permissão para ligar: o cliente {label}", None, attrs
    if itype == "nfm_reply":  # WhatsApp Flow completed
        for key in ("name", "response_json"):
            if _text(reply.get(key)) is not None:
                attrs[key] = _text(reply.get(key))
        return "interactive", _text(reply.get("body")), None, attrs
    return "interactive", None, None, attrs


def _location_text(body: Mapping[str, Any]) -> str:
    parts = [p for p in (_text(body.get("name")), _text(body.get("address"))) if p]
    if not parts:
        parts = [f"{body.get('latitude')}, {body.get('longitude')}"]
    return "📍 " + ", ".join(parts)


def _location_attrs(body: Mapping[str, Any]) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    for key in ("latitude", "longitude"):
        value = body.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            attrs[key] = float(value)
    for key in ("name", "address", "url"):
        if _text(body.get(key)):
            attrs[key] = _text(body.get(key))
    return attrs


def _contacts_text(cards: Sequence[Mapping[str, Any]]) -> str | None:
    lines = []
    for card in cards:
        name = _obj(card.get("name"))
        display = _text(name.get("formatted_name")) or " ".join(
            p for p in (_text(name.get("first_name")), _text(name.get("last_name"))) if p
        )
        phones = [
            _text(p.get("phone")) or (("+" + str(p["wa_id"])) if _text(p.get("wa_id")) else None)
            for p in _list(card.get("phones"))
            if isinstance(p, dict)
        ]
        phone_text = ", ".join(p for p in phones if p)
        label = display or "contato"
        lines.append(f"👤 {label} ({phone_text})" if phone_text else f"👤 {label}")
    return "\n".join(lines) if lines else None


# -------------------------------------------------------------------------------------- statuses


def _parse_status(item: Any, account_id: str | None) -> StatusUpdate | ProviderEvent:
    if not isinstance(item, dict):
        return _malformed("statuses", "status não é um objeto", item)
    message_id = _text(item.get("id"))
    raw_status = _text(item.get("status"))
    if not message_id or raw_status is None:
        return _malformed("statuses", "status sem id ou sem status", item)
    status = _STATUS_MAP.get(raw_status.lower())
    if status is None:
        return ProviderEvent(
            "status_unknown",
            {"provider_message_id": message_id, "status": raw_status, "account_id": account_id, "raw": item},
        )
    error_code: str | None = None
    error: str | None = None
    errors = [e for e in _list(item.get("errors")) if isinstance(e, dict)]
    if errors:
        info = _error_dict(errors[0])
        error_code = info["code"]
        error = info["reason"]
    recipient_id = _text(item.get("recipient_id"))
    recipient: str | None
    if recipient_id and _text(item.get("recipient_type")) == "group":
        recipient = GROUP_PREFIX + recipient_id
    elif recipient_id and _is_wa_digits(recipient_id):
        recipient = "+" + recipient_id
    else:
        recipient = recipient_id or _text(item.get("recipient_user_id"))
    return StatusUpdate(
        status=status,
        timestamp=_timestamp(item.get("timestamp")),
        raw=item,
        provider_message_id=message_id,
        reference=_text(item.get("biz_opaque_callback_data")),
        error_code=error_code,
        error=error,
        recipient=recipient,
        account_id=account_id,
    )


# --------------------------------------------------------------------------------------- events


def _template_event(field: str, value: dict[str, Any], waba_id: str | None) -> ProviderEvent:
    data: dict[str, Any] = {
        "field": field,
        "waba_id": waba_id,
        "template_id": _text(value.get("message_template_id")),
        "name": _text(value.get("message_template_name")),
        "language": _text(value.get("message_template_language")),
        "raw": value,
    }
    optional = {
        "event": "event",  # APPROVED, REJECTED, PAUSED, DISABLED, PENDING_DELETION, ...
        "reason": "reason",
        "category": "message_template_category",
        "new_category": "new_category",
        "previous_category": "previous_category",
        "previous_quality_score": "previous_quality_score",
        "new_quality_score": "new_quality_score",
    }
    for name, key in optional.items():
        if _text(value.get(key)) is not None:
            data[name] = _text(value.get(key))
    rejection = _obj(value.get("rejection_info"))
    other = _obj(value.get("other_info"))
    explained = [t for t in (_text(rejection.get("reason")), _text(rejection.get("recommendation")),
                             _text(other.get("title")), _text(other.get("description"))) if t]
    if explained:
        data["reason_detail"] = " — ".join(explained)
    if rejection:
        data["rejection_info"] = {k: v for k, v in rejection.items() if isinstance(v, str)}
    return ProviderEvent("template_status", data)


def _malformed(field: str, reason: str, item: Any) -> ProviderEvent:
    return ProviderEvent("malformed", {"field": field, "reason": reason, "item": item})


def _error_dict(error: Mapping[str, Any], *, inbound: bool = False) -> dict[str, Any]:
    """One Graph `errors[]` item. `details` sits in `error_data` (dict or string) or, in some
    payloads, at the top level. `inbound`: an error about a message we received, which nothing of
    ours retries, so its reason never promises a new attempt."""
    error_data = error.get("error_data")
    details: str | None = None
    if isinstance(error_data, dict):
        details = _text(error_data.get("details"))
    elif isinstance(error_data, str):
        details = error_data or None
    if details is None:
        details = _text(error.get("details"))
    code = error.get("code")
    title = _text(error.get("title")) or _text(error.get("message"))
    info = classify(code if isinstance(code, int | str) and not isinstance(code, bool) else None, details,
                    title=title)
    reason, retry = info.reason, info.retry
    if inbound:
        reason, retry = inbound_reason(info.code, title, details), False
    return {
        "code": info.error_code if info.code is not None else _text(code),
        "title": _text(error.get("title")),
        "message": _text(error.get("message")),
        "details": details,
        "reason": reason,
        "retry": retry,
        "kind": info.kind,
    }


def inbound_reason(code: int | None, title: str | None, details: str | None) -> str:
    """What went wrong with a message the customer sent, as the agent reads it (no "we will retry":
    nothing retries an inbound message)."""
    if code == 131051:
        return "tipo de mensagem não suportado pelo WhatsApp"
    if code == 131052:
        return "não foi possível baixar a mídia do cliente"
    base = "o WhatsApp não entregou o conteúdo desta mensagem" + (f" (código {code})" if code is not None else "")
    extra = details or title
    return f"{base}: {extra}" if extra else base


# -------------------------------------------------------------------------------------- helpers


def _is_wa_digits(value: str) -> bool:
    return value.isascii() and value.isdigit()


def _is_user_id(value: str) -> bool:
    return is_bsuid(value) or ("." in value and not _is_wa_digits(value))


def _find_contact(contacts: Sequence[dict[str, Any]], ids: set[str]) -> dict[str, Any]:
    for contact in contacts:
        if _text(contact.get("wa_id")) in ids or _text(contact.get("user_id")) in ids:
            return contact
    return contacts[0] if len(contacts) == 1 else {}


def _timestamp(value: Any) -> datetime:
    """Unix seconds (WhatsApp sends a string) → aware UTC; missing or absurd → now."""
    try:
        if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
            return datetime.fromtimestamp(int(value.strip()), tz=UTC)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        pass
    return datetime.now(UTC)
