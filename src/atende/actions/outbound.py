"""Outbound messages: queued in the database with their send job, then sent by the worker."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import insert, select, update

from atende.actions import contacts as contact_actions
from atende.actions import conversations as conv_actions
from atende.actions.errors import Conflict, Invalid, NotFound
from atende.actions.quotas import charge_send
from atende.actions.references import new_reference
from atende.actions.statuses import match_parked
from atende.auth import policy
from atende.auth.policy import Viewer
from atende.channels.base import Capabilities, SendResult
from atende.db.tables import attendances, connectors, contact_identities, contacts, conversations, messages
from atende.db.tx import Tx
from atende.db.types import utcnow
from atende.domain.previews import preview_of
from atende.domain.sms import count_segments, sms_cost
from atende.domain.status import should_apply
from atende.domain.templates import render_template
from atende.domain.window import send_allowance
from atende.jobs.queue import enqueue
from atende.realtime import events

OPTED_OUT = "O contato pediu para não receber SMS (opt-out). Reative o contato antes de enviar."
OPTED_OUT_WHATSAPP = "O contato pediu para não receber mensagens no WhatsApp (opt-out)."
WINDOW_CLOSED = "janela de 24 h encerrada: envie um modelo"
WINDOW_CLOSED_NO_TEMPLATES = "janela de 24 h encerrada: o cliente precisa escrever primeiro"
HUMAN_AGENT_WINDOW_CLOSED = "janela de atendimento humano (7 dias) encerrada: o cliente precisa escrever primeiro"
MEDIA_KINDS = ("image", "video", "audio", "document", "sticker")


class ConnectorLike(Protocol):
    id: int
    channel: str
    config: Any

    @property
    def capabilities(self) -> Capabilities: ...


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
    by: Viewer | None = None,
) -> int:
    """Queue one message on a conversation. Raises Conflict when the channel's rules forbid it.

    `by`: the person sending (the policy decides whether they may answer this conversation); the
    system's own messages (bot, out-of-hours, closing) pass None.

    A template is stored with the text the customer reads, rendered from the synced template and
    the send's parameters (its spec stays in `attributes.template`). `media_url` (a public https link,
    validated by the caller) sends a media kind by link instead of an uploaded file; it is kept in
    `attributes.media_url`."""
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
    if media_url is not None:
        if kind not in MEDIA_KINDS:
            raise Invalid(f"link de mídia só vale para {', '.join(MEDIA_KINDS)}", code="media_url_kind")
        if media_id is not None:
            raise Invalid("envie o arquivo (media_id) ou o link (media_url), não os dois", code="media_url_kind")
        if not connector.capabilities.media:
            raise Invalid("este canal não envia mídia por link", code="media_unsupported")
    if connector.channel == "sms":
        if kind != "text":
            raise Invalid("SMS só envia texto")
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

    now = utcnow()
    values: dict[str, Any] = dict(
        conversation_id=conv.id, connector_id=connector.id, contact_id=conv.contact_id, direction="out",
        kind=kind, text=text, status="queued", author_id=author_id, reply_to_id=reply_to_id,
        media_id=media_id, created_at=now, reference=new_reference(),
        attributes={**({"template": template} if template else {}), **({"on_sent": on_sent} if on_sent else {}),
                    **({"media_url": media_url} if media_url is not None else {}),
                    **({"message_tag": message_tag} if message_tag else {})},
        updated_at=now,
    )
    if connector.channel == "sms" and text is not None:
        count = count_segments(text)
        values.update(segments=count.segments, encoding=count.encoding,
                      cost=sms_cost(count.segments, cost_per_segment(connector.config)))
    message_id = int((await tx.conn.execute(insert(messages).values(**values).returning(messages.c.id)))
                     .scalar_one())
    answered: dict[str, Any] = {"waiting_since": None} if author_id is not None and kind != "reaction" else {}
    await tx.conn.execute(update(conversations).where(conversations.c.id == conv.id).values(
        last_activity_at=now, last_outbound_at=now, last_message_preview=preview_of(kind, text),
        last_message_direction="out", **answered,
    ))
    if author_id is not None:
        await conv_actions.add_handler(tx, conv.id, author_id)
        if take and conv.status != "open":
            await conv_actions.assign(tx, conv.id, author_id, actor_id=author_id, by=by)
        if conv.current_attendance_id is not None:
            await tx.conn.execute(update(attendances).where(
                attendances.c.id == conv.current_attendance_id, attendances.c.first_response_at.is_(None),
            ).values(first_response_at=now))
    await events.append(tx, "message.created", {
        "id": message_id, "conversation_id": conv.id, "direction": "out", "kind": kind,
        "channel": connector.channel, "status": "queued", "preview": preview_of(kind, text),
    }, conv.id)
    await enqueue(tx, "send_message", {"message_id": message_id}, dedup_key=f"send:{message_id}")
    return message_id


async def start_conversation(
    tx: Tx, connector: ConnectorLike, address: str, *, text: str | None, author_id: int | None,
    template: dict[str, Any] | None = None, by: Viewer | None = None,
) -> tuple[int, int]:
    """Send to an address, reusing its conversation in any spelling (9th digit) or creating one,
    closed until the customer answers. On WhatsApp a template is the way to open one.

    `by` may send on connectors their teams serve; an address whose conversation is waiting or in
    service is answered there, under the same rule as a reply (no way around a colleague's chat)."""
    await policy.require_connector(tx.conn, by, connector.id)
    key = contact_actions.address_key(address, connector.channel)
    existing = (await tx.conn.execute(select(conversations).where(
        conversations.c.connector_id == connector.id,
        conversations.c.address_key.in_(contact_actions.address_variants(key))))).first()
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
                                     take=False, kind="template" if template else "text", template=template,
                                     by=by if checked else None)
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
