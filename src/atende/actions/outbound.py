"""Outbound messages: queued in the database with their send job, then sent by the worker."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import insert, select, update

from atende.actions import contacts as contact_actions
from atende.actions import conversations as conv_actions
from atende.actions import rollups
from atende.actions.errors import Conflict, Invalid, NotFound
from atende.actions.quotas import charge_send
from atende.actions.references import new_reference
from atende.actions.statuses import match_parked
from atende.auth import policy
from atende.auth.policy import Viewer
from atende.channels.base import Capabilities, SendResult
from atende.db.tables import connectors, contact_identities, contacts, conversations, messages
from atende.db.tx import Tx
from atende.db.types import utcnow
from atende.domain.phones import InvalidPhone, is_bsuid, normalize_phone
from atende.domain.previews import preview_of
from atende.domain.sms import count_segments, sms_cost
from atende.domain.sms_economy import cheaper
from atende.domain.status import should_apply
from atende.domain.templates import render_template
from atende.domain.text_limits import max_text
from atende.domain.window import send_allowance
from atende.jobs.queue import enqueue
from atende.realtime import events

OPTED_OUT = "O contato pediu para não receber SMS (opt-out). Reative o contato antes de enviar."
OPTED_OUT_WHATSAPP = "O contato pediu para não receber mensagens no WhatsApp (opt-out)."
WINDOW_CLOSED = "janela de 24 h encerrada: envie um modelo"
TEXT_TOO_LONG = "texto longo demais para este canal: %(n)s caracteres (máximo %(max)s)"
WINDOW_CLOSED_NO_TEMPLATES = "janela de 24 h encerrada: o cliente precisa escrever primeiro"
HUMAN_AGENT_WINDOW_CLOSED = "janela de atendimento humano (7 dias) encerrada: o cliente precisa escrever primeiro"
MEDIA_KINDS = ("image", "video", "audio", "document", "sticker")


class ConnectorLike(Protocol):
    id: int
    channel: str
    config: Any

    @property
    def capabilities(self) -> Capabilities: ...


def economize_by_default(config: Any) -> bool:
    """The connector's "Economizar SMS" setting."""
    return bool(getattr(config, "sms_economize", False))


def cost_per_segment(config: Any) -> Decimal:
    return Decimal(str(getattr(config, "cost_per_segment", "0") or "0"))


async def queue_message(
    tx: Tx,
    connector: ConnectorLike,
    conversation_id: int,
    *,
    text: str | None,
    kind: str = "text",
    author_id: int | None,
    template: dict[str, Any] | None = None,
    media_id: int | None = None,
    reply_to_id: int | None = None,
    take: bool = True,
    bypass_opt_out: bool = False,
    on_sent: dict[str, Any] | None = None,
    media_url: str | None = None,
    economize: bool | None = None,
    by: Viewer | None = None,
    send_at: datetime | None = None,
) -> int:
    """Queue one message on a conversation. Raises Conflict when the channel's rules forbid it.

    `by`: the person sending (the policy decides whether they may answer this conversation); the
    system's own messages (bot, out-of-hours, closing) pass None.

    With `send_at` the message waits as `scheduled` (its send job runs then, see
    `atende.actions.scheduled.release`); the conversation only shows it as its last message once sent.

    A template is stored with the text the customer reads, rendered from the synced template and
    the send's parameters (its spec stays in `attributes.template`). `media_url` (a public https link,
    validated by the caller) sends a media kind by link instead of an uploaded file; it is kept in
    `attributes.media_url`. On SMS, `economize` ("Economizar SMS"; None: the connector's setting) spells
    the text in GSM-7 when that takes fewer segments; what the agent typed stays in
    `attributes.original_text`."""
    conv = await conv_actions.load(tx, conversation_id)
    await policy.require_act(tx.conn, by, conv)
    if by is not None:
        author_id = by.id
    if author_id is not None:  # people have quotas; the system's own messages (opt-out replies) do not
        await charge_send(tx, author_id)
    if conv.connector_id != connector.id:
        raise Invalid("a conversa não pertence a este conector")
    if kind == "text" and not (text or "").strip():
        raise Invalid("mensagem vazia")
    if kind != "template" and text and len(text) > (limit := max_text(connector.channel)):
        raise Invalid(TEXT_TOO_LONG, code="text_too_long", params={"n": len(text), "max": limit})
    if media_url is not None:
        if kind not in MEDIA_KINDS:
            raise Invalid(f"link de mídia só vale para {', '.join(MEDIA_KINDS)}", code="media_url_kind")
        if media_id is not None:
            raise Invalid("envie o arquivo (media_id) ou o link (media_url), não os dois", code="media_url_kind")
        if not connector.capabilities.media:
            raise Invalid("este canal não envia mídia por link", code="media_unsupported")
    original_text = None
    if connector.channel == "sms":
        if kind != "text":
            raise Invalid("SMS só envia texto")
        if text and (economize if economize is not None else economize_by_default(connector.config)):
            spelled = cheaper(text)
            if spelled != text:
                original_text, text = text, spelled
        opted_out = await tx.conn.scalar(select(contacts.c.sms_opted_out).where(contacts.c.id == conv.contact_id))
        if opted_out and not bypass_opt_out:
            raise Conflict(OPTED_OUT, code="opted_out")
    elif connector.channel == "whatsapp" and not bypass_opt_out and await tx.conn.scalar(
            select(contacts.c.whatsapp_opted_out).where(contacts.c.id == conv.contact_id)):
        raise Conflict(OPTED_OUT_WHATSAPP, code="opted_out")
    caps = connector.capabilities
    message_tag: str | None = None
    if kind != "template":
        human_agent = author_id is not None and bool(getattr(connector.config, "human_agent_tag", False))
        allowed, message_tag = send_allowance(conv.last_inbound_at, utcnow(), hours=caps.service_window_hours,
                                              human_agent_hours=caps.human_agent_window_hours,
                                              human_agent=human_agent)
        if not allowed:
            reason = WINDOW_CLOSED if caps.templates else (
                HUMAN_AGENT_WINDOW_CLOSED if human_agent and caps.human_agent_window_hours
                else WINDOW_CLOSED_NO_TEMPLATES)
            raise Conflict(reason, code="window_closed")
    if kind == "template" and connector.capabilities.templates:
        from atende.actions.templates import require_approved

        definition = await require_approved(tx, connector.id, template or {})  # only approved ones go out
        text = render_template(definition, (template or {}).get("components")) or text

    if author_id is not None and take and conv.status != "open":
        # Taken before the message is written: the thread reads "Ana assumiu" and then Ana's answer.
        await conv_actions.assign(tx, conv.id, author_id, actor_id=author_id, by=by)
    now = utcnow()
    values: dict[str, Any] = dict(
        conversation_id=conv.id, connector_id=connector.id, contact_id=conv.contact_id, direction="out",
        kind=kind, text=text, status="queued" if send_at is None else "scheduled", author_id=author_id,
        reply_to_id=reply_to_id, media_id=media_id, created_at=now, reference=new_reference(),
        team_id=getattr(conv, "team_id", None),
        attributes={**({"template": template} if template else {}), **({"on_sent": on_sent} if on_sent else {}),
                    **({"media_url": media_url} if media_url is not None else {}),
                    **({"original_text": original_text} if original_text is not None else {}),
                    **({"message_tag": message_tag} if message_tag else {}),
                    **({"send_at": send_at.isoformat()} if send_at is not None else {})},
        updated_at=now,
    )
    if connector.channel == "sms" and text is not None:
        count = count_segments(text)
        values.update(segments=count.segments, encoding=count.encoding,
                      cost=sms_cost(count.segments, cost_per_segment(connector.config)))
    message_id = int((await tx.conn.execute(insert(messages).values(**values).returning(messages.c.id)))
                     .scalar_one())
    new_day = rollups.active_day(tx, conv, now) if send_at is None and rollups.counts_as_message(kind) else None
    answered: dict[str, Any] = {"waiting_since": None} if author_id is not None and kind != "reaction" else {}
    if send_at is None:  # a scheduled message shows as the last one (and answers) when it goes out
        await tx.conn.execute(update(conversations).where(conversations.c.id == conv.id).values(
            last_activity_at=now, last_outbound_at=now, last_message_preview=preview_of(kind, text),
            last_message_direction="out", **answered, **({"active_on": new_day} if new_day is not None else {}),
        ))
    if author_id is not None:
        await conv_actions.add_handler(tx, conv.id, author_id)
    if send_at is None:
        # Counts the message, and makes it the attendance's first response when a person answers the
        # customer (never the bot, auto-replies or campaigns: they have no author), in the attendance a
        # take just started too. A scheduled message counts when it is released
        # (atende.actions.scheduled.release).
        await rollups.message_written(tx, conv, at=now, direction="out", kind=kind, author_id=author_id,
                                      team_id=values["team_id"], new_day=new_day)
    await events.append(tx, "message.created", {
        "id": message_id, "conversation_id": conv.id, "direction": "out", "kind": kind,
        "channel": connector.channel, "status": values["status"], "preview": preview_of(kind, text),
    }, conv.id)
    await enqueue(tx, "send_message", {"message_id": message_id}, run_at=send_at, dedup_key=f"send:{message_id}")
    return message_id


PHONE_CHANNELS = ("sms", "whatsapp")


def recipient_address(channel: str, to: str) -> str:
    """The address to send to, from what a person typed: a phone in any Brazilian spelling becomes
    E.164 with the 9th digit (sms, whatsapp); a BSUID or another channel's id is kept."""
    value = to.strip()
    if channel not in PHONE_CHANNELS or is_bsuid(value):
        return value
    try:
        return normalize_phone(value)
    except InvalidPhone as exc:
        raise Invalid(f"telefone inválido: {exc}", code="invalid_phone") from None


async def existing_conversation(tx: Tx, connector_id: int, channel: str, address: str) -> int | None:
    """The conversation this connector already has with `address`, in any of its spellings."""
    key = contact_actions.address_key(address, channel)
    found = await tx.conn.scalar(select(conversations.c.id).where(
        conversations.c.connector_id == connector_id,
        conversations.c.address_key.in_(contact_actions.address_variants(key))))
    return int(found) if found is not None else None


async def start_conversation(
    tx: Tx, connector: ConnectorLike, address: str, *, text: str | None, author_id: int | None,
    template: dict[str, Any] | None = None, take: bool = False, economize: bool | None = None,
    by: Viewer | None = None,
) -> tuple[int, int]:
    """Send to an address, reusing its conversation in any spelling (9th digit) or creating one,
    closed until the customer answers (or, with `take`, held by the author: "Nova conversa" in the
    workspace). On WhatsApp a template is the way to open one.

    `by` may send on connectors their teams serve; an address whose conversation is waiting or in
    service is answered there, under the same rule as a reply (no way around a colleague's chat)."""
    await policy.require_connector(tx.conn, by, connector.id)
    key = contact_actions.address_key(address, connector.channel)
    existing_id = await existing_conversation(tx, connector.id, connector.channel, address)
    existing = None if existing_id is None else await conv_actions.load(tx, existing_id)
    conv_id = existing.id if existing is not None else None
    checked = existing is not None and existing.status != "done"
    if conv_id is None:
        contact_id = await contact_actions.resolve_contact(tx, address, connector.channel)
        conv_id = await conv_actions.create(
            tx, connector_id=connector.id, contact_id=contact_id, channel=connector.channel, address=address,
            address_key=key, at=utcnow(), status="done")
    if by is not None and not checked:
        # A concluded conversation (or a new one): the sender answers for it from now on.
        await conv_actions.add_handler(tx, int(conv_id), by.id)
    message_id = await queue_message(tx, connector, int(conv_id), text=text, author_id=by.id if by else author_id,
                                     take=take, kind="template" if template else "text", template=template,
                                     economize=economize, by=by if checked else None)
    return int(conv_id), message_id


async def mark_sending(tx: Tx, message_id: int) -> Any:
    """Claim a queued message for sending; None when it is no longer queued (already handled)."""
    row = (await tx.conn.execute(select(messages).where(messages.c.id == message_id).with_for_update())).first()
    if row is None:
        raise NotFound("mensagem não encontrada")
    if row.status == "queued":
        values: dict[str, Any] = {"status": "sending", "updated_at": utcnow()}
        if row.reference is None:  # queued by code that did not name one: it gets one before it leaves
            values["reference"] = new_reference()
            await tx.conn.execute(update(messages).where(messages.c.id == message_id).values(**values))
            return (await tx.conn.execute(select(messages).where(messages.c.id == message_id))).first()
        await tx.conn.execute(update(messages).where(messages.c.id == message_id).values(**values))
    return row


async def record_send_result(tx: Tx, message_id: int, result: SendResult) -> None:
    conversation_id = await tx.conn.scalar(select(messages.c.conversation_id).where(messages.c.id == message_id))
    if conversation_id is None:
        return
    # The conversation first, as closing, taking and inbound do: on PostgreSQL a send answered while its
    # conversation closes otherwise waits on the attendance the close holds, in a circle (deadlock).
    await conv_actions.load(tx, int(conversation_id))
    row = (await tx.conn.execute(select(messages).where(messages.c.id == message_id).with_for_update())).first()
    if row is None:
        return
    now = utcnow()
    values: dict[str, Any] = {"updated_at": now}
    if result.provider_message_id:
        values["provider_message_id"] = result.provider_message_id
    if result.provider_request_id:
        values["provider_request_id"] = result.provider_request_id
    accepted = result.status != "failed"
    if accepted:
        if should_apply(row.status, "sent") or row.status == "sending":
            values.update(status="sent", sent_at=now)
    else:
        values.update(status="failed", error=result.error or "falha no envio", error_code=result.error_code,
                      cost=Decimal(0) if row.cost is not None else None)
    await tx.conn.execute(update(messages).where(messages.c.id == message_id).values(**values))
    if row.status in ("queued", "sending"):
        if accepted:
            await rollups.sms_accepted(tx, row)
        else:
            await rollups.sms_status(tx, row, row.status, "failed")
    if not accepted and result.error_code == "blacklist":
        # The provider keeps this number on its blacklist: that is an opt-out, and the ledger says whence.
        from atende.actions import consents

        await consents.change(tx, int(row.contact_id), "sms", True, source="provider_blacklist",
                              detail={"message_id": message_id, "connector_id": int(row.connector_id)})
    if accepted and row.status in ("queued", "sending"):
        # Billing follows acceptance: only messages the provider took count as sent and cost money.
        segments, cost = row.segments or 0, row.cost or Decimal(0)
        await tx.conn.execute(update(connectors).where(connectors.c.id == row.connector_id).values(
            sent_count=connectors.c.sent_count + 1, segments_total=connectors.c.segments_total + segments,
            cost_total=connectors.c.cost_total + cost))
        await tx.conn.execute(update(conversations).where(conversations.c.id == row.conversation_id).values(
            segments_total=conversations.c.segments_total + segments,
            cost_total=conversations.c.cost_total + cost))
    if result.canonical_address:
        await learn_address(tx, row.conversation_id, result.canonical_address)
    if accepted:  # reports that beat this answer were parked: match them now
        await match_parked(tx, row.connector_id, message_id, result.provider_message_id or row.provider_message_id,
                           row.reference)
    follow_up = (row.attributes or {}).get("on_sent")
    if follow_up and row.status in ("queued", "sending"):
        # Work that must wait for this send, whatever its outcome (e.g. opt-out → blacklist).
        await enqueue(tx, follow_up["kind"], follow_up.get("payload") or {})
    await events.append(tx, "message.updated", {
        "id": message_id, "conversation_id": row.conversation_id, "status": values.get("status", row.status),
        "error": values.get("error"),
    }, row.conversation_id)


async def learn_address(tx: Tx, conversation_id: int, address: str) -> None:
    """The provider told us the exact id it knows this customer by (WhatsApp contacts[].wa_id)."""
    conv = (await tx.conn.execute(select(conversations.c.address, conversations.c.contact_id)
                                  .where(conversations.c.id == conversation_id))).first()
    if conv is None or conv.address == address:
        return
    await tx.conn.execute(update(conversations).where(conversations.c.id == conversation_id)
                          .values(address=address))
    await tx.conn.execute(update(contact_identities).where(
        contact_identities.c.contact_id == conv.contact_id, contact_identities.c.kind == "phone",
        contact_identities.c.value.in_(contact_actions.address_variants(address)),
    ).values(attributes={"wa_id": address.lstrip("+")}))


async def retry(tx: Tx, message_id: int, *, actor_id: int | None = None, by: Viewer | None = None) -> None:
    """An agent retries a failed message: the only way out of `failed`."""
    row = (await tx.conn.execute(select(messages).where(messages.c.id == message_id).with_for_update())).first()
    if row is None or row.direction != "out":
        raise NotFound("mensagem não encontrada")
    if by is not None:
        conv = await conv_actions.load(tx, int(row.conversation_id))
        try:
            await policy.require_act(tx.conn, by, conv)
        except NotFound:
            raise NotFound("mensagem não encontrada") from None
        actor_id = by.id
    if row.status != "failed":
        raise Conflict("só mensagens com falha podem ser reenviadas")
    if (row.attributes or {}).get("imported"):  # history from another system: it is never sent
        raise Conflict("mensagem importada do histórico: não pode ser reenviada")
    await tx.conn.execute(update(messages).where(messages.c.id == message_id).values(
        status="queued", error=None, error_code=None, updated_at=utcnow()))
    await events.append(tx, "message.updated", {"id": message_id, "conversation_id": row.conversation_id,
                                                "status": "queued", "actor_id": actor_id}, row.conversation_id)
    await enqueue(tx, "send_message", {"message_id": message_id}, dedup_key=f"send:{message_id}")
